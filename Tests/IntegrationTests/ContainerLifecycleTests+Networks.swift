import Foundation
import Testing

extension ContainerLifecycleTests {
    static func randomSubnet() -> String { "10.\(Int.random(in: 150...199)).\(Int.random(in: 0...255)).0/24" }

    /// `ip -o link` once no line names `link` any more, or after 10 s (libvirt ends a VM's TAP with the VM, in the background).
    static func linksOnceGone(_ link: String) throws -> String {
        var links = try Command.run(["ip", "-o", "link"]).stdout
        for _ in 0..<100 where links.contains(link) {
            usleep(100_000)
            links = try Command.run(["ip", "-o", "link"]).stdout
        }
        return links
    }

    /// Fetches a page from the host, as a user's browser would.
    static func fetchFromHost(_ url: String) throws -> Command.Result {
        try Command.run(["python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end='')", url])
    }

    /// `--network container:NAME`: the joining container sees the other's interfaces, loopback,
    /// hostname and /etc/hosts; what would give it network settings of its own is refused in dockerd's
    /// words, as is joining a container that does not run or a VM container.
    @Test func aContainerJoinsAnothersNetworkNamespace() async throws {
        try await Self.withImages { daemon in
            let started = try Self.docker(daemon, ["run", "-d", "--name", "holder", "--hostname", "shared", Self.image, "sh", "-c",
                                                   "while true; do echo hello-from-holder | nc -l -p 7777; done"])
            #expect(started.status == 0, "\(started)")
            let holderID = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let holderAddress = try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "holder"]).stdout
            let joined = try Self.docker(daemon, ["run", "--rm", "--network", "container:holder", Self.image, "sh", "-c",
                                                  "hostname; ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1; "
                                                  + "grep -c shared /etc/hosts; nc 127.0.0.1 7777 </dev/null"])
            #expect(joined.status == 0 && joined.stdout == "shared\n\(holderAddress)1\nhello-from-holder\n", "\(joined)")
            #expect(try Self.docker(daemon, ["create", "--name", "joiner", "--network", "container:holder", Self.image, "true"]).status == 0)
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.HostConfig.NetworkMode}}", "joiner"]).stdout == "container:\(holderID)\n")

            for (flags, message) in [(["-p", "8080:80"], "conflicting options: port publishing and the container type network mode"),
                                     (["--hostname", "mine"], "conflicting options: hostname and the network mode"),
                                     (["--add-host", "a:10.0.0.1"], "conflicting options: custom host-to-IP mapping and the network mode"),
                                     (["--isolation=vm"], "must be a container in a utility VM of its own")] {
                let refused = try Self.docker(daemon, ["run", "--rm", "--network", "container:holder"] + flags + [Self.image, "true"])
                #expect(refused.status != 0 && refused.stderr.contains(message), "\(flags): \(refused)")
            }
            let missing = try Self.docker(daemon, ["run", "--rm", "--network", "container:nobody", Self.image, "true"])
            #expect(missing.status != 0 && missing.stderr.contains("No such container: nobody"), "\(missing)")
            #expect(try Self.docker(daemon, ["stop", "-t", "1", "holder"]).status == 0)
            let orphan = try Self.docker(daemon, ["start", "joiner"])
            #expect(orphan.status != 0 && orphan.stderr.contains("cannot join network namespace of a non running container"), "\(orphan)")
            _ = try Self.docker(daemon, ["rm", "-f", "joiner", "holder"])
        }
    }

    /// Native containers on a user network reach each other by name and alias (TCP and ping), a
    /// published port answers on the host's 127.0.0.1, a container on another network is cut off,
    /// names and addresses survive a daemon restart, and removing the network leaves no bridge or rule.
    @Test func nativeContainersTalkOnUserNetworks() async throws {
        try await Self.withImages { daemon in
            let www = daemon.scratch + "/www"
            try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
            try "from web\n".write(toFile: www + "/index.html", atomically: true, encoding: .utf8)
            let subnet = Self.randomSubnet()
            let created = try Self.docker(daemon, ["network", "create", "--subnet", subnet, "--label", "purpose=test", "appnet"])
            #expect(created.status == 0, "\(created)")
            let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let overlapping = try Self.docker(daemon, ["network", "create", "--subnet", subnet.replacingOccurrences(of: "/24", with: "/25"), "other"])
            #expect(overlapping.status != 0 && overlapping.stderr.contains("overlaps"), "\(overlapping)")

            let web = try Self.docker(daemon, ["run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "site",
                                               "-v", www + ":/www:ro", "-p", "127.0.0.1::80", Self.image, "httpd", "-f", "-p", "80", "-h", "/www"])
            #expect(web.status == 0, "\(web)")
            let port = try Self.docker(daemon, ["port", "web", "80/tcp"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(port.hasPrefix("127.0.0.1:"), "\(port)")
            let page = try Self.fetchFromHost("http://\(port)/")
            #expect(page.stdout == "from web\n", "\(page)")

            let client = try Self.docker(daemon, ["run", "--rm", "--network", "appnet", Self.image, "sh", "-c",
                                                  "wget -q -O- http://web/ && wget -q -O- http://site/ && ping -c1 -W2 web >/dev/null && echo pinged"])
            #expect(client.status == 0 && client.stdout == "from web\nfrom web\npinged\n", "\(client)")
            let webAddress = try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "web"])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(webAddress.hasPrefix(String(subnet.prefix(while: { $0 != "/" }).dropLast(1))), "\(webAddress) in \(subnet)")
            let outsider = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c",
                                                    "nc -w 2 \(webAddress) 80 </dev/null && echo reached || echo cut off; nslookup web >/dev/null 2>&1 || echo no name"])
            #expect(outsider.stdout == "cut off\nno name\n", "\(outsider)")

            // A second start on the same host port is refused, and leaves no rule behind.
            let hostPort = String(port.split(separator: ":").last ?? "")
            let taken = try Self.docker(daemon, ["run", "-d", "--name", "clash", "-p", "127.0.0.1:\(hostPort):80", Self.image, "sleep", "9"])
            #expect(taken.status == 125 && taken.stderr.contains("port is already allocated"), "\(taken)")
            let dnat = try Command.run(["iptables-save", "-t", "nat"]).stdout.split(separator: "\n").filter { $0.contains("--dport \(hostPort) ") }
            #expect(dnat.count == 1, "\(dnat)")
            let clashID = try Self.docker(daemon, ["inspect", "-f", "{{.Id}}", "clash"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let cgroups = ["pids", "memory", "cpu", "freezer", "unified"].map { "/sys/fs/cgroup/\($0)/berth/\(clashID)" }
            #expect(!clashID.isEmpty && !cgroups.contains(where: FileManager.default.fileExists), "a failed start leaves no cgroup")
            let busy = try Self.docker(daemon, ["network", "rm", "appnet"])
            #expect(busy.status != 0 && busy.stderr.contains("active endpoints"), "\(busy)")

            // Addresses are kept in the state database: after a restart names still resolve and no address is given twice.
            daemon.stop()
            try daemon.start()
            let again = try Self.docker(daemon, ["run", "--rm", "--network", "appnet", Self.image, "sh", "-c",
                                                 "wget -q -O- http://site/ && ip -o -4 addr show eth0 | grep -v ' \(webAddress)/' >/dev/null && echo own address"])
            #expect(again.stdout == "from web\nown address\n", "\(again)")
            #expect(try Self.fetchFromHost("http://\(port)/").stdout == "from web\n")

            #expect(try Self.docker(daemon, ["rm", "-f", "web", "clash"]).status == 0)
            let ruleCount = try Command.run(["iptables-save"]).stdout.split(separator: "\n")
                .filter { $0.contains(webAddress + ":") && $0.contains("--dport \(hostPort) ") }.count
            #expect(ruleCount == 0)
            #expect(try Self.docker(daemon, ["network", "rm", "appnet"]).status == 0)
            let bridge = "berth-" + id.prefix(9)
            #expect(try Command.run(["ip", "link", "show", bridge]).status != 0, "bridge \(bridge) left behind")
            let left = try Command.run(["iptables-save"]).stdout.split(separator: "\n").filter { $0.contains(bridge) }
            #expect(left.isEmpty, "\(left)")
            let listed = try Self.docker(daemon, ["network", "ls", "--format", "{{.Name}}"])
            #expect(listed.stdout == "bridge\nhost\nnone\n", "\(listed)")
        }
    }

    /// Native and utility-VM containers of two architectures on one network: each reaches the
    /// others by name over TCP, a VM's published port answers on the host's 127.0.0.1, and the
    /// VMs' TAPs go with them.
    @Test func vmContainersShareNetworksWithNativeOnes() async throws {
        try await Self.withImages { daemon in
            let www = daemon.scratch + "/www"
            try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
            try "shared page\n".write(toFile: www + "/index.html", atomically: true, encoding: .utf8)
            #expect(try Self.docker(daemon, ["network", "create", "--subnet", Self.randomSubnet(), "mixnet"]).status == 0)
            let native = try Self.docker(daemon, ["run", "-d", "--name", "web", "--network", "mixnet", "-v", www + ":/www:ro",
                                                  Self.image, "httpd", "-f", "-p", "80", "-h", "/www"])
            #expect(native.status == 0, "\(native)")
            let arm = try Self.docker(daemon, ["run", "-d", "--name", "armweb", "--platform", "linux/arm64", "--network", "mixnet",
                                               "-v", www + ":/www:ro", "-p", "127.0.0.1::80", "berth-test/busybox:arm64",
                                               "httpd", "-f", "-p", "80", "-h", "/www"], timeout: 120)
            #expect(arm.status == 0, "\(arm)")
            let armID = arm.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let port = try Self.docker(daemon, ["port", "armweb", "80"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            var page = try Self.fetchFromHost("http://\(port)/")
            for _ in 0..<100 where page.stdout != "shared page\n" {
                usleep(100_000)
                page = try Self.fetchFromHost("http://\(port)/")
            }
            #expect(page.stdout == "shared page\n", "\(page)")

            let fromNative = try Self.docker(daemon, ["run", "--rm", "--network", "mixnet", Self.image, "wget", "-q", "-O-", "http://armweb/"])
            #expect(fromNative.stdout == "shared page\n", "\(fromNative)")
            let fromArm = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/arm64", "--network", "mixnet", "berth-test/busybox:arm64",
                                                   "sh", "-c", "uname -m; wget -q -O- http://web/"], timeout: 120)
            #expect(fromArm.stdout == "aarch64\nshared page\n", "\(fromArm)")
            let fromX86VM = try Self.docker(daemon, ["run", "--rm", "--isolation", "vm", "--network", "mixnet", Self.image,
                                                     "sh", "-c", "wget -q -O- http://armweb/ && ping -c1 -W5 armweb >/dev/null && echo pinged"],
                                            timeout: 120)
            #expect(fromX86VM.stdout == "shared page\npinged\n", "\(fromX86VM)")

            #expect(try Self.docker(daemon, ["rm", "-f", "web", "armweb"]).status == 0)
            let tap = "vb" + armID.prefix(9)
            #expect(!(try Self.linksOnceGone(tap)).contains(tap), "the VM's TAP \(tap) is left")
            #expect(try Self.docker(daemon, ["network", "rm", "mixnet"]).status == 0)
        }
    }
}

extension ContainerLifecycleTests {
    /// `network connect` of a running arm64 VM container plugs a card into its VM (through libvirt
    /// for a cold boot, through QEMU's monitor for a clone of a template) and its agent addresses
    /// it: the container is reached by name on the second network only while connected; `network
    /// disconnect` takes the card and its TAP away, and it connects again.
    @Test func runningVMContainersJoinAndLeaveNetworks() async throws {
        try Self.armGuests()
        try await Self.withImages { daemon in
            let created = try Self.docker(daemon, ["network", "create", "--subnet", Self.randomSubnet(), "second"])
            #expect(created.status == 0, "\(created)")
            let networkID = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for (name, start) in [("cold", "cold"), ("clone", "template")] {
                if start == "template" { #expect(VMTemplateTests.templates(daemon).count == 1, "the first VM's template is made") }
                let server = try Self.docker(daemon, ["run", "-d", "--name", name, "--platform", "linux/arm64", Self.multiArchImage,
                                                      "httpd", "-f", "-p", "8080", "-h", "/etc"], timeout: 120)
                #expect(server.status == 0, "\(server)")
                #expect(try VMTemplateTests.start(daemon, name) == start)
                let id = server.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let fetch = ["run", "--rm", "--network", "second", Self.image, "sh", "-c",
                             "wget -q -O- http://\(name):8080/hostname || echo unreachable"]
                #expect(try Self.docker(daemon, fetch).stdout == "unreachable\n")
                for round in 1...2 {
                    let connected = try Self.docker(daemon, ["network", "connect", "second", name], timeout: 60)
                    #expect(connected.status == 0, "\(name) round \(round): \(connected)")
                    let address = try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.Networks.second.IPAddress}}", name])
                        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    let inGuest = try Self.docker(daemon, ["exec", name, "ip", "-4", "-o", "addr"]).stdout
                    #expect(!address.isEmpty && inGuest.contains("inet \(address)/"), "\(name) round \(round): \(address) in \(inGuest)")
                    let fetched = try Self.docker(daemon, fetch)
                    #expect(fetched.stdout == id.prefix(12) + "\n", "\(name) round \(round): \(fetched)")
                    // The host's end of the second card: the default network's is index 0.
                    let tap = "vb\(id.prefix(9))1"
                    #expect(try Command.run(["ip", "-o", "link", "show", "master", "berth-" + networkID.prefix(9)]).stdout.contains(tap + ":"),
                            "\(name) round \(round): \(tap) is not on the second network's bridge")
                    let disconnected = try Self.docker(daemon, ["network", "disconnect", "second", name], timeout: 60)
                    #expect(disconnected.status == 0, "\(name) round \(round): \(disconnected)")
                    #expect(!(try Self.linksOnceGone(tap)).contains(tap), "\(name) round \(round): TAP \(tap) is left")
                    #expect(try Self.docker(daemon, ["exec", name, "ip", "-4", "-o", "addr"]).stdout.contains(address + "/") == false)
                    #expect(try Self.docker(daemon, fetch).stdout == "unreachable\n", "\(name) round \(round)")
                }
                // The default network was never touched.
                let own = try Self.docker(daemon, ["run", "--rm", Self.image, "wget", "-q", "-O-",
                                                   "http://" + (try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name])
                                                                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)) + ":8080/hostname"])
                #expect(own.stdout == id.prefix(12) + "\n", "\(own)")
                #expect(try Self.docker(daemon, ["rm", "-f", name]).status == 0)
            }
            #expect(try Self.docker(daemon, ["network", "rm", "second"]).status == 0)
        }
    }

    /// The berth CLI: `-P` publishes exposed ports, `port` lists them, UDP is forwarded too, a
    /// running container joins and leaves a second network (found there by its alias only meanwhile),
    /// and `network prune` removes what nothing uses.
    @Test func berthCLIConnectsAndPublishes() async throws {
        try await Self.withImages { daemon in
            let created = try daemon.berth(["network", "create", "--subnet", Self.randomSubnet(), "back"])
            #expect(created.status == 0 && created.stdout.count == 65, "\(created)")
            let server = try daemon.berth(["run", "-d", "--name", "svc", "--expose", "8080", "-P", Self.image,
                                           "httpd", "-f", "-p", "8080", "-h", "/etc"])
            #expect(server.status == 0, "\(server)")
            let hostname = String(server.stdout.prefix(12))
            let listed = try daemon.berth(["port", "svc"])
            #expect(listed.stdout.hasPrefix("8080/tcp -> 0.0.0.0:"), "\(listed)")
            let port = listed.stdout.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            #expect(try Self.fetchFromHost("http://127.0.0.1:\(port)/hostname").stdout == hostname + "\n")

            // busybox has no UDP server: the forwarding rule is what can be checked.
            let udp = try daemon.berth(["run", "-d", "--name", "listener", "-p", "127.0.0.1::9999/udp", Self.image, "sleep", "300"])
            #expect(udp.status == 0, "\(udp)")
            let udpPort = try daemon.berth(["port", "listener", "9999/udp"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(udpPort.hasPrefix("127.0.0.1:"), "\(udpPort)")
            let address = try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "listener"])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let rules = try Command.run(["iptables-save", "-t", "nat"]).stdout
            #expect(rules.contains("-d 127.0.0.1/32 -p udp -m udp --dport \(udpPort.dropFirst(10)) -j DNAT --to-destination \(address):9999"),
                    "\(rules)")

            let fetch = ["run", "--rm", "--network", "back", Self.image, "sh", "-c", "wget -q -O- http://other:8080/hostname || echo unreachable"]
            #expect(try daemon.berth(fetch).stdout == "unreachable\n")
            #expect(try daemon.berth(["network", "connect", "--alias", "other", "back", "svc"]).status == 0)
            #expect(try daemon.berth(fetch).stdout == hostname + "\n")
            let joined = try Self.docker(daemon, ["inspect", "-f", "{{len .NetworkSettings.Networks}}", "svc"])
            #expect(joined.stdout == "2\n", "\(joined)")
            #expect(try daemon.berth(["network", "disconnect", "back", "svc"]).status == 0)
            #expect(try daemon.berth(fetch).stdout == "unreachable\n")

            let pruned = try daemon.berth(["network", "prune"])
            #expect(pruned.stdout == "Deleted Networks:\nback\n", "\(pruned)")
            #expect(try daemon.berth(["rm", "-f", "svc", "listener"]).status == 0)
        }
    }
}

extension ContainerLifecycleTests {
    /// Traffic leaving the host is masqueraded: a server in a network namespace made here, reached
    /// over a veth of the host's, sees the host's address, not the container's; an internal network
    /// does not get out at all.
    @Test func outboundTrafficIsMasqueradedAndInternalNetworksStayIn() async throws {
        let tag = String(format: "%06x", UInt32.random(in: 0...0xffffff))
        let namespace = "berth-out-" + tag, hostEnd = "bo" + tag, outside = "bi" + tag
        let octet = Int.random(in: 0...255)
        let (hostAddress, serverAddress) = ("198.18.\(octet).1", "198.18.\(octet).2")
        defer {
            _ = try? Command.run(["ip", "link", "delete", hostEnd])
            _ = try? Command.run(["ip", "netns", "delete", namespace])
        }
        for step in [["ip", "netns", "add", namespace],
                     ["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", outside, "netns", namespace],
                     ["ip", "addr", "add", hostAddress + "/30", "dev", hostEnd], ["ip", "link", "set", hostEnd, "up"],
                     ["ip", "-n", namespace, "addr", "add", serverAddress + "/30", "dev", outside],
                     ["ip", "-n", namespace, "link", "set", outside, "up"], ["ip", "-n", namespace, "link", "set", "lo", "up"]] {
            try Command.succeed(step)
        }
        let scratch = try TestPaths.makeScratch("outside")
        defer { TestPaths.removeScratch(scratch) }
        let log = scratch + "/access.log"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/ip")
        server.arguments = ["netns", "exec", namespace, "python3", "-c", """
            import http.server, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    open(sys.argv[1], "a").write(self.client_address[0] + "\\n")
                    self.send_response(200); self.end_headers(); self.wfile.write(b"outside\\n")
            http.server.HTTPServer(("0.0.0.0", 80), Handler).serve_forever()
            """, log]
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }

        try await Self.withImages { daemon in
            let fetch = "for i in $(seq 20); do wget -q -O- http://\(serverAddress)/ && exit 0; sleep 0.2; done; echo unreachable"
            let out = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c", fetch])
            #expect(out.stdout == "outside\n", "\(out)")
            let seen = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(seen == hostAddress + "\n", "the server saw \(seen)")
            #expect(try Self.docker(daemon, ["network", "create", "--internal", "--subnet", Self.randomSubnet(), "closed"]).status == 0)
            let closed = try Self.docker(daemon, ["run", "--rm", "--network", "closed", Self.image, "sh", "-c",
                                                  "nc -w 2 \(serverAddress) 80 </dev/null && echo reached || echo stayed in"])
            #expect(closed.stdout == "stayed in\n", "\(closed)")
            #expect(try Self.docker(daemon, ["network", "rm", "closed"]).status == 0)
        }
    }

    @Test func dnsFlagsWriteTheContainersResolvConf() async throws {
        try await Self.withImages { daemon in
            let flags = ["--dns", "10.9.8.7", "--dns", "10.9.8.6", "--dns-search", "pods.example.test", "--dns-option", "ndots:5"]
            let expected = "nameserver 10.9.8.7\nnameserver 10.9.8.6\nsearch pods.example.test\noptions ndots:5\n"
            // On the default bridge (written at each start), and on no network at all (written once).
            for network in ["bridge", "none"] {
                let resolv = try Self.docker(daemon, ["run", "--rm", "--network", network] + flags + [Self.image, "cat", "/etc/resolv.conf"])
                #expect(resolv.stdout == expected, "\(network): \(resolv)")
            }
            let inspect = try Self.docker(daemon, ["create", "--name", "resolver"] + flags + [Self.image])
            #expect(inspect.status == 0, "\(inspect)")
            let settings = try Self.docker(daemon, ["inspect", "-f", "{{.HostConfig.Dns}} {{.HostConfig.DnsSearch}} {{.HostConfig.DnsOptions}}", "resolver"])
            #expect(settings.stdout == "[10.9.8.7 10.9.8.6] [pods.example.test] [ndots:5]\n", "\(settings)")
            // Without the flags the host's resolvers stay, as before.
            let plain = try Self.docker(daemon, ["run", "--rm", Self.image, "cat", "/etc/resolv.conf"])
            #expect(!plain.stdout.contains("10.9.8.7") && plain.stdout.contains("nameserver"), "\(plain)")
        }
    }
}
