import Foundation
import Testing
import VMRuntime

extension ContainerLifecycleTests {
    @Test func vmIsolatedContainersRunOnTheGuestKernel() async throws {
        // The guest kernel and agent the daemon will find in its cache.
        let kernel = try Command.succeed([TestPaths.repository + "/guest-kernel/build", "x86_64"], timeout: 1500)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try Command.succeed([TestPaths.repository + "/vm-images/build", "x86_64"], timeout: 600)
        let guestRelease = try String(contentsOfFile: kernel + "/release", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var host = utsname()
        uname(&host)
        let hostRelease = withUnsafeBytes(of: host.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        try await Self.withImages { daemon in
            let release = try Self.docker(daemon, ["run", "--rm", "--isolation=hyperv", Self.image, "uname", "-r"], timeout: 120)
            #expect(release.stdout == guestRelease + "\n" && guestRelease != hostRelease, "\(release)")
            let code = try daemon.berth(["run", "--rm", "--isolation", "vm", Self.image, "sh", "-c", "echo out; echo err >&2; exit 3"],
                                        timeout: 120)
            #expect(code.status == 3 && code.stdout == "out\n" && code.stderr == "err\n", "\(code)")

            #expect(try Self.docker(daemon, ["run", "-d", "--isolation=hyperv", "--name", "vm1", Self.image, "sh", "-c",
                                             "echo started; touch /made; sleep 300"], timeout: 120).status == 0)
            let pid = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}} {{.HostConfig.Isolation}}", "vm1"]).stdout
            let qemu = pid.split(separator: " ").first.flatMap { try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8) } ?? ""
            #expect(qemu.hasPrefix("qemu-system") && pid.hasSuffix(" hyperv\n"), "the container's pid is its VM's: \(pid) \(qemu)")
            var logs = ""
            for _ in 0..<100 where !logs.contains("started") {
                logs = try Self.docker(daemon, ["logs", "vm1"]).stdout
                usleep(100_000)
            }
            #expect(logs == "started\n")
            // The VM and its shim outlive berthd; the next berthd follows them again.
            daemon.signal(SIGKILL)
            usleep(700_000)
            try daemon.start()
            #expect(try Self.docker(daemon, ["ps", "--format", "{{.Names}}"]).stdout == "vm1\n")
            let exec = try Self.docker(daemon, ["exec", "vm1", "true"])
            #expect(exec.status != 0 && exec.stderr.contains("not available for containers in utility VMs yet"), "\(exec)")
            // The signal reaches the process in the guest: sh is not PID 1 there, so SIGTERM ends it.
            #expect(try Self.docker(daemon, ["stop", "-t", "20", "vm1"], timeout: 60).status == 0)
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.ExitCode}}", "vm1"]).stdout == "143\n")
            let hypervisor = try LibvirtHypervisor(uri: "qemu:///system")
            let id = try Self.docker(daemon, ["inspect", "-f", "{{.Id}}", "vm1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!hypervisor.isRunning("berth-\(id.prefix(12))"), "the VM ends with its container")
            // A restart boots a new VM on the same writable disk.
            #expect(try Self.docker(daemon, ["start", "vm1"], timeout: 120).status == 0)
            #expect(try Self.docker(daemon, ["rm", "-f", "vm1"], timeout: 60).status == 0)
            #expect(!hypervisor.isRunning("berth-\(id.prefix(12))"))
            #expect(!FileManager.default.fileExists(atPath: daemon.root + "/vms/\(id.prefix(24))"), "rm leaves no VM files")
            // An interactive shell in a VM, through a terminal: sized, typed into, and its exit code.
            let shell = try Self.throughTerminal(
                ##"[{"expect":"# "},{"send":"stty size; echo $((40+2))\r"},{"expect":"42"},{"send":"exit 4\r"}]"##,
                ["docker", "-H", daemon.host, "run", "--rm", "-it", "--isolation=vm", Self.image, "sh"])
            #expect(shell.status == 4 && shell.stdout.contains("24 80") && shell.stdout.contains("42"), "\(shell)")
            // Killing QEMU under a running container ends it, with the reason (and the console's tail,
            // though a quiet kernel that was not failing has printed nothing).
            #expect(try Self.docker(daemon, ["run", "-d", "--isolation=vm", "--name", "doomed", Self.image, "sleep", "300"],
                                    timeout: 120).status == 0)
            let qemuPID = Int32(try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "doomed"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(qemuPID > 0 && kill(qemuPID, SIGKILL) == 0)
            let ended = try Self.docker(daemon, ["wait", "doomed"], timeout: 60)
            #expect(ended.stdout == "137\n", "\(ended)")
            let reason = try Self.docker(daemon, ["inspect", "-f", "{{.State.Error}}", "doomed"]).stdout
            #expect(reason.hasPrefix("the utility VM stopped while the container ran"), "\(reason)")
            #expect(try Self.docker(daemon, ["rm", "doomed"]).status == 0)
            let bad = try Self.docker(daemon, ["run", "--rm", "--isolation=sandbox", Self.image, "true"])
            #expect(bad.status == 125 && bad.stderr.contains("invalid isolation"), "\(bad)")
        }
    }
}
