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
                let record = try Data(contentsOf: URL(fileURLWithPath: daemon.root + "/vms/\(holderID.prefix(24))/shared-layers.json"))
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
