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
            let bad = try Self.docker(daemon, ["run", "--rm", "--isolation=sandbox", Self.image, "true"])
            #expect(bad.status == 125 && bad.stderr.contains("invalid isolation"), "\(bad)")
        }
    }
}
