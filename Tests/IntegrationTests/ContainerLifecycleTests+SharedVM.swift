import Foundation
import Testing

extension ContainerLifecycleTests {
    /// A container in a utility VM with `--network container:NAME` joins NAME's VM, as a pod's
    /// containers join their sandbox's: the VM's kernel and network, namespaces and a cgroup of its
    /// own, its layers plugged into the running VM (through libvirt into a cold-booted one, into a
    /// blank slot of a clone), and its end with the VM.
    @Test func aVMContainerJoinsAnothersUtilityVM() async throws {
        let kernel = try Self.guestKernel()
        let guestRelease = try String(contentsOfFile: kernel + "/release", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await Self.withImages { daemon in
            let serve = "while true; do echo hello-from-holder | nc -l -p 7777; done"
            for (holder, start) in [("cold-holder", "cold"), ("cloned-holder", "template")] {
                if start == "template" { #expect(VMTemplateTests.templates(daemon).count == 1, "the cold boot had its template made") }
                let run = try Self.docker(daemon, ["run", "-d", "--name", holder, "--isolation=vm", Self.image, "sh", "-c", serve])
                #expect(run.status == 0, "\(run)")
                #expect(try VMTemplateTests.start(daemon, holder) == start)
                let holderID = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                var joined = Command.Result(status: 1, stdout: "", stderr: "", timedOut: false)
                for _ in 0..<20 where !joined.stdout.contains("hello-from-holder") {
                    joined = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--network", "container:\(holder)", Self.image, "sh", "-c",
                                                      "uname -r; hostname; ps -o comm | grep -c nc; nc 127.0.0.1 7777 </dev/null"])
                    usleep(200_000)
                }
                // The VM's kernel, its holder's hostname and network, and processes of its own (the holder's nc is not among them).
                #expect(joined.status == 0 && joined.stdout == "\(guestRelease)\n\(holderID.prefix(12))\n0\nhello-from-holder\n", "\(holder): \(joined)")

                // With --pid and --ipc container: of the VM's own container, it shares those namespaces in the VM.
                let sharing = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--network", "container:\(holder)",
                                                       "--pid", "container:\(holder)", "--ipc", "container:\(holder)", Self.image, "sh", "-c",
                                                       "ps -o comm | grep -c '^nc$'; readlink /proc/1/exe"])
                #expect(sharing.status == 0 && sharing.stdout == "1\n/bin/busybox\n", "\(sharing)")
                let hostPID = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--network", "container:\(holder)", "--pid", "host",
                                                       Self.image, "true"])
                #expect(hostPID.status != 0 && hostPID.stderr.contains("PID mode host is not available for containers in utility VMs"),
                        "\(hostPID)")
                let member = "\(holder)-member"
                #expect(try Self.docker(daemon, ["run", "-d", "--name", member, "--isolation=vm", "--network", "container:\(holder)",
                                                 Self.image, "sleep", "300"]).status == 0)
                #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", member]).stdout
                    == (try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", holder]).stdout), "one QEMU")
                #expect(try Self.docker(daemon, ["exec", member, "sh", "-c", "echo kept > /tmp/file; cat /tmp/file; ps -o comm | grep -c nc"]).stdout
                    == "kept\n0\n", "its own root and processes")
                // Its writes are its own, in its directory on the VM's writable disk.
                let changes = try Self.docker(daemon, ["diff", member]).stdout
                #expect(changes.contains("A /tmp/file\n"), "\(changes)")
                let top = try Self.docker(daemon, ["top", member]).stdout
                #expect(top.contains("sleep 300") && !top.contains("nc -l"), "\(top)")
                // Each layer is delivered once per VM: both joiners used the one the first got.
                let record = try Data(contentsOf: URL(fileURLWithPath: daemon.root + "/vms/\(holderID.prefix(24))/shared-vm.json"))
                let delivered = (try JSONSerialization.jsonObject(with: record) as? [String: Any])?["targets"] as? [String: String]
                #expect(delivered.map { Array($0.values) } == ["/pod/layers/0"], "\(String(describing: delivered))")
                // The VM ends with its own container, and every container in it with the VM.
                #expect(try Self.docker(daemon, ["stop", "-t", "1", holder]).status == 0)
                var state = ""
                for _ in 0..<100 where !state.hasPrefix("exited") {
                    state = try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", member]).stdout
                    usleep(100_000)
                }
                #expect(state == "exited 137 the utility VM stopped while the container ran\n", "\(state)")
                #expect(try Self.docker(daemon, ["rm", "-f", member, holder]).status == 0)
            }
            _ = try Self.docker(daemon, ["run", "-d", "--name", "arm-holder", "--platform", "linux/arm64", Self.multiArchImage, "sleep", "300"],
                                timeout: 180)
            for (flags, message) in [(["--isolation=vm"], "its utility VM is arm64, this container's image is amd64"),
                                     ([], "not available for native containers with a container in a utility VM")] {
                let refused = try Self.docker(daemon, ["run", "--rm", "--network", "container:arm-holder"] + flags + [Self.image, "true"])
                #expect(refused.status != 0 && refused.stderr.contains(message), "\(flags): \(refused)")
            }
            #expect(try Self.docker(daemon, ["rm", "-f", "arm-holder"]).status == 0)
        }
    }
}

extension ContainerLifecycleTests {
    /// The volumes and binds of a container that joins a shareable container's VM (a pod's) reach
    /// it through the VM's pod share, for a cold-booted VM and a clone alike: read and written in
    /// place, read-only when asked, a host mount made later under a bind seen only with slave
    /// propagation; every bind ends with the container or its VM, and the host's files stay.
    @Test func aContainerThatJoinsAPodVMHasItsHostPaths() async throws {
        try await Self.withImages { daemon in
            let host = try TestPaths.makeScratch("pod-share")
            defer {
                for point in TestPaths.mountPoints(under: host).reversed() { umount2(point, Int32(MNT_DETACH)) }
                TestPaths.removeScratch(host)
            }
            try FileManager.default.createDirectory(atPath: host + "/data", withIntermediateDirectories: true)
            try "from-host\n".write(toFile: host + "/data/read", atomically: false, encoding: .utf8)
            try "a-file\n".write(toFile: host + "/file", atomically: false, encoding: .utf8)
            #expect(try Self.docker(daemon, ["volume", "create", "pod-volume"]).status == 0)
            for (holder, start) in [("cold-pod", "cold"), ("cloned-pod", "template")] {
                if start == "template" { #expect(VMTemplateTests.templates(daemon).count == 1, "the cold boot had its template made") }
                // Shared mounts of their own, as kubelet's pod directories are: what is mounted under them later propagates.
                let propagated = host + "/" + holder
                for directory in ["private/later", "slave/later", "source"] {
                    try FileManager.default.createDirectory(atPath: propagated + "/" + directory, withIntermediateDirectories: true)
                }
                FileManager.default.createFile(atPath: propagated + "/source/flag", contents: nil)
                for propagation in ["private", "slave"] {
                    #expect(try Command.run(["mount", "--bind", propagated + "/" + propagation, propagated + "/" + propagation]).status == 0)
                    #expect(try Command.run(["mount", "--make-rshared", propagated + "/" + propagation]).status == 0)
                }
                let run = try Self.docker(daemon, ["run", "-d", "--name", holder, "--isolation=vm", "--ipc", "shareable", Self.image,
                                                   "sleep", "300"])
                #expect(run.status == 0, "\(run)")
                #expect(try VMTemplateTests.start(daemon, holder) == start)
                let share = daemon.root + "/vms/\(run.stdout.prefix(24))/pod-share"
                let member = try Self.docker(daemon, ["run", "-d", "--name", "\(holder)-member", "--isolation=vm", "--network", "container:\(holder)",
                                                      "-v", host + "/data:/data", "-v", host + "/file:/etc/bound:ro", "-v", "pod-volume:/volume",
                                                      "--mount", "type=bind,source=\(propagated)/private,target=/private",
                                                      "--mount", "type=bind,source=\(propagated)/slave,target=/slave,bind-propagation=rslave",
                                                      Self.image, "sleep", "300"])
                #expect(member.status == 0, "\(holder): \(member)")
                let used = try Self.docker(daemon, ["exec", "\(holder)-member", "sh", "-c",
                                                    "cat /data/read /etc/bound; echo \(holder) > /data/written; echo \(holder) > /volume/file; "
                                                        + "echo no > /etc/bound || echo read-only"])
                #expect(used.stdout == "from-host\na-file\nread-only\n", "\(holder): \(used)")
                #expect(try String(contentsOfFile: host + "/data/written", encoding: .utf8) == "\(holder)\n")
                #expect(try String(contentsOfFile: daemon.root + "/volumes/pod-volume/_data/file", encoding: .utf8) == "\(holder)\n")
                for propagation in ["private", "slave"] {
                    #expect(try Command.run(["mount", "--bind", propagated + "/source", propagated + "/\(propagation)/later"]).status == 0)
                }
                let later = try Self.docker(daemon, ["exec", "\(holder)-member", "sh", "-c",
                                                     "echo private: $(ls /private/later); echo slave: $(ls /slave/later)"])
                #expect(later.stdout == "private:\nslave: flag\n", "\(holder): \(later)")

                // Its binds end with it, the VM's with the VM; the host's files stay.
                #expect(try Self.docker(daemon, ["rm", "-f", "\(holder)-member"]).status == 0)
                #expect(TestPaths.mountPoints(under: share) == [share], "\(TestPaths.mountPoints(under: share))")
                let again = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--network", "container:\(holder)",
                                                     "-v", host + "/data:/data:ro", Self.image, "cat", "/data/written"])
                #expect(again.stdout == "\(holder)\n", "\(again)")
                #expect(try Self.docker(daemon, ["rm", "-f", holder]).status == 0)
                #expect(TestPaths.mountPoints(under: daemon.root).isEmpty, "\(TestPaths.mountPoints(under: daemon.root))")
                #expect(!FileManager.default.fileExists(atPath: share))
                #expect(FileManager.default.fileExists(atPath: host + "/data/read") && FileManager.default.fileExists(atPath: propagated + "/source/flag"))
            }
            #expect(try Self.docker(daemon, ["volume", "rm", "pod-volume"]).status == 0)
            // Only a shareable container's VM has the share.
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "plain-holder", "--isolation=vm", Self.image, "sleep", "300"]).status == 0)
            let refused = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--network", "container:plain-holder",
                                                   "-v", host + "/data:/data", Self.image, "true"])
            #expect(refused.status == 125 && refused.stderr.contains("start it with --ipc shareable"), "\(refused)")
            #expect(try Self.docker(daemon, ["rm", "-f", "plain-holder"]).status == 0)
        }
    }
}
