import Foundation
import Testing

/// The escapes that hit runc and dockerd, each tried by a hostile container (Tests/Fixtures/
/// escape-probe.c, built statically here) against native containers. What each test checks is
/// what reached the host, not which error the attempt got.
@Suite(.serialized) struct KnownEscapeTests {
    static let image = ContainerLifecycleTests.image

    /// The probe, compiled once per run into `directory`.
    static func buildProbe(into directory: String) throws -> String {
        let probe = directory + "/escape-probe"
        try Command.succeed(["cc", "-D_GNU_SOURCE", "-O2", "-static", "-Wall", "-Wextra", "-Werror", "-o", probe,
                             TestPaths.repository + "/Tests/Fixtures/escape-probe.c"])
        return probe
    }

    /// A daemon with the busybox images, the probe, and a host directory that stands for the host's
    /// files: `hostside/secret` holds `host-secret`, and nothing in a container may read or change it.
    static func withHostileSetup(_ body: (DaemonFixture, _ probe: String, _ hostside: String) async throws -> Void) async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let probe = try buildProbe(into: daemon.scratch)
            let hostside = daemon.scratch + "/hostside"
            try FileManager.default.createDirectory(atPath: hostside, withIntermediateDirectories: true)
            try "host-secret\n".write(toFile: hostside + "/secret", atomically: true, encoding: .utf8)
            for index in 0..<20 { _ = FileManager.default.createFile(atPath: hostside + "/hostfile-\(index)", contents: nil) }
            try await body(daemon, probe, hostside)
        }
    }

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], timeout: TimeInterval = 60) throws -> Command.Result {
        try ContainerLifecycleTests.docker(daemon, arguments, timeout: timeout)
    }

    static func hostsideIsUntouched(_ hostside: String) throws -> Bool {
        let names = try FileManager.default.contentsOfDirectory(atPath: hostside).sorted()
        let secret = try String(contentsOfFile: hostside + "/secret", encoding: .utf8)
        let mounted = TestPaths.mountInfo().contains(hostside)
        return names == (["secret"] + (0..<20).map { "hostfile-\($0)" }).sorted() && secret == "host-secret\n" && !mounted
    }

    /// runc CVE-2024-21626: a working directory of /proc/self/fd/N was whatever runc had open as N,
    /// a host directory among them. No descriptor but stdio reaches a container's process, and such
    /// a working directory is refused for `run`, `exec` and a build's WORKDIR alike.
    @Test func noDescriptorOrWorkingDirectoryLeadsOutOfTheContainer() async throws {
        try await Self.withHostileSetup { daemon, probe, _ in
            let inherited = try Self.docker(daemon, ["run", "--rm", "-v", probe + ":/probe:ro", Self.image, "/probe", "fds"])
            #expect(inherited.status == 0 && inherited.stdout.isEmpty, "a container's init inherited: \(inherited)")
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "target", "-v", probe + ":/probe:ro", Self.image,
                                             "sleep", "600"]).status == 0)
            let execInherited = try Self.docker(daemon, ["exec", "target", "/probe", "fds"])
            #expect(execInherited.status == 0 && execInherited.stdout.isEmpty, "an exec'd process inherited: \(execInherited)")
            for descriptor in 3...8 {
                let directory = "/proc/self/fd/\(descriptor)"
                let run = try Self.docker(daemon, ["run", "--rm", "-w", directory, Self.image, "ls", "../../../.."])
                #expect(run.status == 125 && run.stderr.contains("working directory \(directory): leads through a /proc magic link"),
                        "\(run)")
                // As dockerd does, a failed exec start is reported in the exec's output stream.
                let exec = try Self.docker(daemon, ["exec", "-w", directory, "target", "ls", "../../../.."])
                #expect(exec.status == 126 && exec.stdout.hasPrefix("working directory \(directory): leads through a /proc magic link")
                            && exec.stdout.split(separator: "\n").count == 1, "\(exec)")
            }
            let viaInit = try Self.docker(daemon, ["exec", "-w", "/proc/1/cwd", "target", "pwd"])
            #expect(viaInit.status == 126 && viaInit.stdout.contains("leads through a /proc magic link"), "\(viaInit)")
            let context = daemon.scratch + "/workdir-context"
            try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
            try "FROM \(Self.image)\nWORKDIR /proc/self/fd/7\nRUN ls ../../../..\n"
                .write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
            let build = try Self.docker(daemon, ["build", "-q", context], timeout: 120)
            #expect(build.status != 0 && build.stderr.contains("working directory /proc/self/fd/7: leads through a /proc magic link"),
                    "\(build)")
            #expect(try Self.docker(daemon, ["rm", "-f", "target"]).status == 0)
        }
    }

    /// runc CVE-2019-5736: a container whose command is "#!/proc/self/exe" made the runtime run
    /// inside it, opened its /proc/PID/exe and wrote the host's binary through it. Berth's shim runs
    /// from a sealed in-memory copy, so what a container reaches is never the file on the host.
    @Test func theShimsBinaryIsOutOfAContainersReach() async throws {
        try await Self.withHostileSetup { daemon, probe, _ in
            let shim = TestPaths.binDirectory + "/berth-shim"
            var shimStatus = stat()
            #expect(lstat(shim, &shimStatus) == 0)
            let hostShim = "\(shimStatus.st_dev):\(shimStatus.st_ino)"
            let shimBefore = try Data(contentsOf: URL(fileURLWithPath: shim))
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "hostile", "-v", probe + ":/probe:ro", Self.image,
                                             "sleep", "600"]).status == 0)
            // A long script keeps the shim that runs it (reading it as its spec) alive for a while.
            let evil = try Self.docker(daemon, ["exec", "hostile", "sh", "-c",
                                                "printf '#!/proc/self/exe\\n' > /evil; head -c 20000000 /dev/zero | tr '\\0' x >> /evil; chmod +x /evil"])
            #expect(evil.status == 0, "\(evil)")
            let scan = try Self.docker(daemon, ["exec", "-d", "hostile", "sh", "-c", "/probe scan-exe 8 > /scan.out; touch /scan.done"])
            #expect(scan.status == 0, "\(scan)")
            usleep(500_000)
            for _ in 0..<5 {
                // The shim copy reports the spec it cannot read; the exec itself is what matters.
                _ = try Self.docker(daemon, ["exec", "hostile", "/evil"])
                _ = try Self.docker(daemon, ["exec", "hostile", "true"])
            }
            let scanned = try await poll(seconds: 30) { try Self.docker(daemon, ["exec", "hostile", "test", "-e", "/scan.done"]).status == 0 ? true : nil }
            #expect(scanned == true, "the scan did not finish")
            let found = try Self.docker(daemon, ["exec", "hostile", "cat", "/scan.out"]).stdout
            let busybox = try Self.docker(daemon, ["exec", "hostile", "stat", "-L", "-c", "%d:%i", "/bin/busybox"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let reached = found.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
                .filter { $0 != busybox }
            // The scan saw shim processes (the copies): the attempt was made, not missed.
            #expect(!reached.isEmpty, "the scan reached no shim process: \(found)")
            #expect(!reached.contains(hostShim), "a container reached the host's berth-shim \(hostShim): \(found)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: shim)) == shimBefore, "berth-shim on the host changed")
            #expect(try Self.docker(daemon, ["rm", "-f", "hostile"]).status == 0)
        }
    }

    /// dockerd CVE-2018-15664 and CVE-2019-14271, runc CVE-2021-30465: paths a container or an
    /// image controls (symlinks, absolute and relative, in cp, mount targets, volume copy-up,
    /// COPY and ADD) resolve inside the container's root, never on the host.
    @Test func symlinkedPathsResolveInsideTheRoot() async throws {
        try await Self.withHostileSetup { daemon, probe, hostside in
            let up = String(repeating: "../", count: 12)
            // /hs and /rel name the host directory, absent in the container; /in and /relin name it
            // too, but the container has one of its own there.
            let setup = "ln -s \(hostside) /hs && ln -s \(up)\(hostside.dropFirst()) /rel && mkdir -p /image\(hostside) "
                + "&& ln -s /image\(hostside) /in && ln -s \(up)image\(hostside) /relin && mkdir /data "
                + "&& ln -s \(hostside)/secret /data/secret-link && ln -s \(hostside) /data/dir-link"
            #expect(try Self.docker(daemon, ["run", "--name", "maker", Self.image, "sh", "-c", setup]).status == 0)
            #expect(try Self.docker(daemon, ["commit", "maker", "hostile:links"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "links", "hostile:links", "sleep", "600"]).status == 0)

            for link in ["/hs", "/rel"] {
                let out = try Command.run(["sh", "-c", "docker -H \(daemon.host) cp links:\(link)/secret - | tar -xO"])
                #expect(!out.stdout.contains("host-secret"), "cp out through \(link): \(out)")
                _ = try Self.docker(daemon, ["cp", probe, "links:\(link)/dropped"])
            }
            for link in ["/in", "/relin"] {
                #expect(try Self.docker(daemon, ["cp", probe, "links:\(link)/dropped-\(link.dropFirst())"]).status == 0)
                let landed = try Self.docker(daemon, ["exec", "links", "ls", "/image" + hostside])
                #expect(landed.stdout.contains("dropped-\(link.dropFirst())"), "cp in through \(link): \(landed)")
            }
            for (index, target) in ["/in/bound", "/relin/bound"].enumerated() {
                let bind = try Self.docker(daemon, ["run", "--rm", "-v", probe + ":" + target + ":ro", "hostile:links",
                                                    "sh", "-c", "test -x /image\(hostside)/bound && echo inside"])
                #expect(bind.stdout == "inside\n", "bind onto \(target): \(bind)")
                let tmpfs = try Self.docker(daemon, ["run", "--rm", "--tmpfs", target + "-tmpfs", "hostile:links",
                                                     "sh", "-c", "grep -c ' /image\(hostside)/bound-tmpfs ' /proc/self/mountinfo"])
                #expect(tmpfs.stdout == "1\n", "tmpfs onto \(target): \(tmpfs)")
                let volume = try Self.docker(daemon, ["run", "--rm", "-v", "escape-\(index):\(target)-volume", "hostile:links",
                                                      "sh", "-c", "grep -c ' /image\(hostside)/bound-volume ' /proc/self/mountinfo"])
                #expect(volume.stdout == "1\n", "volume onto \(target): \(volume)")
            }
            // Copy-up of an image directory that holds links to the host's paths copies the links.
            let copied = try Self.docker(daemon, ["run", "--rm", "-v", "copied-up:/data", "hostile:links", "sh", "-c",
                                                  "readlink /data/secret-link; readlink /data/dir-link; cat /data/secret-link; ls /data/dir-link/"])
            #expect(copied.stdout == "\(hostside)/secret\n\(hostside)\n", "copy-up: \(copied)")

            let context = daemon.scratch + "/links-context"
            try FileManager.default.createDirectory(atPath: context + "/tree", withIntermediateDirectories: true)
            try "payload\n".write(toFile: context + "/payload", atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: context + "/leak", withDestinationPath: hostside + "/secret")
            try FileManager.default.createSymbolicLink(atPath: context + "/relleak", withDestinationPath: up + hostside.dropFirst() + "/secret")
            try FileManager.default.createSymbolicLink(atPath: context + "/tree/out", withDestinationPath: hostside)
            try Command.succeed(["python3", "-c", """
                import io, sys, tarfile
                with tarfile.open(sys.argv[1], "w") as archive:
                    def add(name, data=b"", kind=tarfile.REGTYPE, link=""):
                        entry = tarfile.TarInfo(name); entry.type = kind; entry.linkname = link
                        entry.size = len(data) if kind == tarfile.REGTYPE else 0
                        archive.addfile(entry, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
                    add("hs", kind=tarfile.SYMTYPE, link=sys.argv[2])
                    add("hs/through-link", b"escaped")
                    add("../../../.." + sys.argv[2] + "/dotdot", b"escaped")
                """, context + "/evil.tar", hostside])
            for (index, (step, expectSuccess)) in [("COPY payload /in/copied\nCOPY payload /relin/copied-rel\nWORKDIR /in/workdir", true),
                                          ("COPY leak /leak-copy\nCOPY relleak /relleak-copy\nCOPY tree /tree-copy", true),
                                          ("ADD evil.tar /evil/", false)].enumerated() {
                try "FROM hostile:links\n\(step)\nRUN cat /leak-copy /relleak-copy /tree-copy/out/secret 2>/dev/null; ls /image\(hostside)\n"
                    .write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
                let build = try Self.docker(daemon, ["build", "--no-cache", "-t", "built:links-\(index)", context], timeout: 120)
                #expect((build.status == 0) == expectSuccess && !build.stdout.contains("host-secret"), "\(step): \(build)")
            }
            // As in Docker, COPY and WORKDIR go through the image's symlinks, which stay symlinks.
            let built = try Self.docker(daemon, ["run", "--rm", "built:links-0", "sh", "-c", "ls /image\(hostside); readlink /in"])
            #expect(built.stdout == "copied\ncopied-rel\nworkdir\n/image\(hostside)\n", "COPY through links: \(built)")
            #expect(try Self.hostsideIsUntouched(hostside), "the host directory changed")
            #expect(try Self.docker(daemon, ["rm", "-f", "links", "maker"]).status == 0)
        }
    }

    /// The race behind CVE-2018-15664: a container swaps a directory for a symlink to the host's
    /// files while berthd reads or writes its files. `commit` of a running container (no pause),
    /// `diff`, `cp` both ways and `export` read the writable layer by descriptors, never by path.
    @Test func swappingADirectoryForASymlinkMidOperationReachesNothing() async throws {
        try await Self.withHostileSetup { daemon, probe, hostside in
            let racer = "mkdir -p /w/d && echo container > /w/d/secret && ln -s \(hostside) /w/l && exec /probe swap /w/d /w/l 240"
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "racer", "-v", probe + ":/probe:ro", Self.image,
                                             "sh", "-c", racer]).status == 0)
            usleep(300_000)
            for round in 0..<15 {
                let commit = try Self.docker(daemon, ["commit", "--pause=false", "racer", "raced:\(round)"])
                #expect(commit.status == 0, "commit while racing: \(commit)")
                let saved = try Command.run(["sh", "-c", "docker -H \(daemon.host) save raced:\(round) | grep -a -c host-secret"])
                #expect(saved.stdout == "0\n", "round \(round): the committed image holds the host's file")
                _ = try Self.docker(daemon, ["rmi", "raced:\(round)"])
                let diff = try Self.docker(daemon, ["diff", "racer"])
                #expect(diff.status == 0 && !diff.stdout.contains("hostfile"), "diff listed the host's files: \(diff)")
                let out = try Command.run(["sh", "-c", "docker -H \(daemon.host) cp racer:/w/d/secret - | tar -xO"])
                #expect(!out.stdout.contains("host-secret"), "cp out: \(out)")
                _ = try Self.docker(daemon, ["cp", probe, "racer:/w/d/dropped"])
                let export = try Command.run(["sh", "-c", "docker -H \(daemon.host) export racer | grep -a -c host-secret"])
                #expect(export.stdout == "0\n", "export: \(export)")
            }
            #expect(try Self.hostsideIsUntouched(hostside), "the host directory changed")
            #expect(try Self.docker(daemon, ["rm", "-f", "racer"]).status == 0)
        }
    }

    /// Seccomp and capabilities refuse what a default container must not do, and masking holds:
    /// mount attempts over /proc and /sys fail, and nothing is unmasked afterwards.
    @Test func defaultConfinementRefusesTheKnownTools() async throws {
        try await Self.withHostileSetup { daemon, probe, _ in
            let refused = try Self.docker(daemon, ["run", "--rm", "-v", probe + ":/probe:ro", Self.image, "/probe", "syscalls"])
            let results = Dictionary(uniqueKeysWithValues: refused.stdout.split(separator: "\n").map {
                let fields = $0.split(separator: " "); return (String(fields[0]), String(fields[1]))
            })
            for call in ["keyctl", "unshare-user", "unshare-mount", "mount-tmpfs", "mount-proc", "umount-kcore", "remount-sys-rw",
                         "kexec_load", "open_by_handle_at", "init_module"] {
                #expect(results[call] == "EPERM", "\(call) was not refused: \(refused)")
            }
            // As Docker's profile on a kernel of 4.8 or later: a process may trace its own child.
            #expect(results["ptrace-child"] == "ok", "\(refused)")
            let masked = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c",
                                                  "umount /proc/keys; umount /sys/firmware; umount /proc/sys; mount -t proc proc /tmp; "
                                                  + "wc -c < /proc/keys; ls /sys/firmware | wc -l; cat /proc/sys/kernel/hostname > /dev/null && echo read"])
            #expect(masked.stdout == "0\n0\nread\n", "\(masked)")
            let write = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c", "echo escaped > /proc/sys/kernel/hostname"])
            #expect(write.status != 0, "\(write)")
            let privileged = try Self.docker(daemon, ["run", "--rm", "--privileged", "-v", probe + ":/probe:ro", Self.image,
                                                      "/probe", "syscalls"])
            #expect(privileged.stdout.contains("mount-tmpfs ok"), "--privileged lifts the refusals: \(privileged)")
        }
    }

    /// The classic chroot escape (CAP_SYS_CHROOT is in Docker's default set) ends in the
    /// container's own root, natively (pivot_root) and in a utility VM (its root moved over the
    /// guest's "/").
    @Test func theChrootEscapeEndsInTheContainersRoot() async throws {
        try await Self.withHostileSetup { daemon, probe, _ in
            for isolation in ["default", "vm"] {
                let name = "jail-\(isolation)"
                #expect(try Self.docker(daemon, ["run", "-d", "--name", name, "--isolation=\(isolation)", Self.image, "sleep", "600"],
                                        timeout: 120).status == 0)
                #expect(try Self.docker(daemon, ["cp", probe, name + ":/probe"]).status == 0)
                let escape = try Self.docker(daemon, ["exec", name, "/probe", "chroot-escape"])
                let root = Set(escape.stdout.split(separator: "\n").filter { $0.hasPrefix("root ") }.map { String($0.dropFirst(5)) })
                #expect(escape.stdout.hasPrefix("chroot ok\nchroot-dot ok\n") && root.isSuperset(of: ["probe", "escape-probe-jail", "bin"]),
                        "\(isolation): the escape left the container's root: \(escape)")
                #expect(try Self.docker(daemon, ["rm", "-f", name]).status == 0)
            }
        }
    }

    /// In a utility VM too, a /proc magic link is no working directory; and the guest has one
    /// device to the host, the agent's port, and reaches no libvirt, QEMU or VNC port on it.
    @Test func aVMContainerIsHeldToTheSameLines() async throws {
        try await Self.withHostileSetup { daemon, _, _ in
            for (platform, image) in [("linux/amd64", Self.image), ("linux/arm64", "berth-test/busybox:arm64")] {
                let run = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--platform", platform, "-w", "/proc/self/fd/3",
                                                   image, "pwd"], timeout: 120)
                #expect(run.status == 125 && run.stderr.contains("working directory /proc/self/fd/3: leads through a /proc magic link"),
                        "\(platform): \(run)")
            }
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "guest", "--isolation=vm", "--privileged", Self.image, "sleep", "600"],
                                    timeout: 120).status == 0)
            for directory in ["/proc/self/fd/3", "/proc/1/cwd"] {
                let exec = try Self.docker(daemon, ["exec", "-w", directory, "guest", "pwd"])
                #expect(exec.status == 126 && exec.stdout.hasPrefix("working directory \(directory): leads through a /proc magic link"),
                        "\(exec)")
            }
            let ports = try Self.docker(daemon, ["exec", "guest", "sh", "-c", "cat /sys/class/virtio-ports/*/name"])
            #expect(ports.stdout == "berth.agent\n", "the guest's ports to the host: \(ports)")
            // A port the test opens on the gateway shows the probe can tell open from closed.
            let gateway = try Self.docker(daemon, ["exec", "guest", "sh", "-c", "ip route | awk '/default/ { print $3 }'"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            // The listener lets go of the descriptors it inherited, or Command.run would wait for it.
            let listener = try Command.run(["sh", "-c", """
                python3 -c 'import os, socket, sys, time
                os.closerange(3, 65536)
                server = socket.create_server((sys.argv[1], 23999))
                server.settimeout(60)
                end = time.time() + 60
                while time.time() < end: server.accept()[0].close()' "$1" > /dev/null 2>&1 & echo $!
                """, "listen", gateway])
            let listenerPID = Int32(listener.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(listenerPID > 0, "\(listener)")
            defer { if listenerPID > 0 { kill(listenerPID, SIGKILL) } }
            let listening = try await poll(seconds: 20) {
                try Command.run(["python3", "-c", "import socket, sys; socket.create_connection((sys.argv[1], 23999), 1)", gateway])
                    .status == 0 ? true : nil
            }
            #expect(listening == true, "the test's listener on \(gateway):23999 did not start")
            let probed = try Self.docker(daemon, ["exec", "guest", "sh", "-c",
                                                  "for port in 23999 16509 16514 5900 5901 2375 2376; do "
                                                  + "nc -w 2 \(gateway) $port < /dev/null > /dev/null 2>&1 && echo open $port || echo closed $port; done"])
            #expect(probed.stdout == "open 23999\nclosed 16509\nclosed 16514\nclosed 5900\nclosed 5901\nclosed 2375\nclosed 2376\n",
                    "from the guest to \(gateway): \(probed)")
            #expect(try Self.docker(daemon, ["rm", "-f", "guest"]).status == 0)
        }
    }

    /// A container sees and can signal only its own processes: not its shim, not berthd, not
    /// another container's.
    @Test func aContainerCanSignalOnlyItsOwnProcesses() async throws {
        try await Self.withHostileSetup { daemon, probe, _ in
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "victim", Self.image, "sleep", "600"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "attacker", "-v", probe + ":/probe:ro", Self.image,
                                             "sleep", "600"]).status == 0)
            let killed = try Self.docker(daemon, ["exec", "attacker", "/probe", "signal-all"])
            #expect(killed.status == 0 && killed.stdout.isEmpty, "the attacker saw other processes: \(killed)")
            let states = try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}}", "victim", "attacker"])
            #expect(states.stdout == "running\nrunning\n", "\(states)")
            #expect(kill(daemon.pid, 0) == 0, "berthd is gone")
            #expect(try Self.docker(daemon, ["exec", "victim", "true"]).status == 0)
            #expect(try Self.docker(daemon, ["rm", "-f", "victim", "attacker"]).status == 0)
        }
    }
}
