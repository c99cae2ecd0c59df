import Foundation
import Testing

/// The same commands against a native container and containers in x86_64, arm64 and arm/v7 utility
/// VMs, with the same expected results where the platform does not differ: the isolation mode is a
/// flag, not a different product.
@Suite(.serialized)
struct UtilityVMParityTests {
    /// Where a container runs, and the `run` flags that put it there.
    struct Placement: CustomStringConvertible, Sendable {
        let name: String
        let flags: [String]
        var description: String { name }
    }

    static let image = ContainerLifecycleTests.multiArchImage
    static let placements = [
        Placement(name: "native", flags: []),
        Placement(name: "x86_64-vm", flags: ["--isolation=vm"]),
        Placement(name: "arm64-vm", flags: ["--platform", "linux/arm64"]),
        Placement(name: "arm-vm", flags: ["--platform", "linux/arm/v7"]),
    ]

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], timeout: TimeInterval = 120) throws -> Command.Result {
        try ContainerLifecycleTests.docker(daemon, arguments, timeout: timeout)
    }

    /// What a container's process holds: its capability sets, no_new_privs and seccomp mode.
    static let confinementLines = #"grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"#

    /// Inside the guest the container has its own pid, mount, UTS and IPC namespaces and cgroup,
    /// Docker's capabilities, the same seccomp policy and hidden /proc paths as natively.
    @Test func confinementInsideTheGuestMatchesANativeContainer() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try ContainerLifecycleTests.armGuests()
        try await ContainerLifecycleTests.withImages { daemon in
            var seen: [String: [String: String]] = [:]
            for placement in Self.placements {
                let name = "parity-" + placement.name
                let started = try Self.docker(daemon, ["run", "-d", "--name", name, "--hostname", "parity"] + placement.flags
                                                  + [Self.image, "sleep", "300"])
                #expect(started.status == 0, "\(placement): \(started)")
                defer { _ = try? Self.docker(daemon, ["rm", "-f", name]) }
                func exec(_ script: String, _ options: [String] = []) throws -> Command.Result {
                    try Self.docker(daemon, ["exec"] + options + [name, "sh", "-c", script])
                }
                var results: [String: String] = [:]
                // Its own processes only, the command as PID 1.
                let processes = try Self.docker(daemon, ["exec", name, "ps", "-o", "pid,comm"]).stdout.split(separator: "\n").dropFirst()
                    .map { $0.split(separator: " ").map(String.init) }
                #expect(processes.first == ["1", "sleep"] && processes.count == 2 && processes.last?.last == "ps", "\(placement): \(processes)")
                results["exec confinement"] = try exec(Self.confinementLines).stdout
                results["init confinement"] = try exec(Self.confinementLines.replacingOccurrences(of: "self", with: "1")).stdout
                results["hostname"] = try exec("hostname").stdout
                results["devices"] = try exec("ls /dev | tr '\\n' ' '").stdout
                results["masked"] = try exec("wc -c < /proc/timer_list").stdout
                results["sysrq"] = String(try exec("echo h > /proc/sysrq-trigger").status)
                results["mount"] = String(try exec("mkdir -p /m && mount -t tmpfs t /m").status)
                results["unshare"] = String(try exec("unshare -U true").status)
                results["terminal"] = try Self.docker(daemon, ["exec", "-t", name, "tty"]).stdout.hasPrefix("/dev/pts/") ? "pts" : "none"
                results["nobody"] = try exec("grep -E '^(CapEff|CapPrm)' /proc/self/status; id -u", ["-u", "nobody"]).stdout
                #expect(results["exec confinement"]?.contains("Seccomp:\t2") == true, "\(placement): \(results)")
                #expect(results["masked"]?.trimmingCharacters(in: .whitespaces) == "0\n", "\(placement): \(results)")
                // As natively: SIGTERM does not end a PID 1 without a handler, so stop kills it.
                #expect(try Self.docker(daemon, ["stop", "-t", "1", name]).status == 0)
                results["stopped"] = try Self.docker(daemon, ["inspect", "-f", "{{.State.ExitCode}}", name]).stdout
                // The init's terminal is one of its own devpts too.
                results["run terminal"] = try Self.docker(daemon, ["run", "--rm", "-t"] + placement.flags
                                                          + [Self.image, "sh", "-c", "tty; ls /dev/pts"]).stdout
                seen[placement.name] = results
            }
            let native = seen["native"] ?? [:]
            #expect(native["stopped"] == "137\n" && native["hostname"] == "parity\n" && native["run terminal"]?.hasPrefix("/dev/pts/0\r\n0") == true,
                    "\(native)")
            #expect(["sysrq", "mount", "unshare"].allSatisfy { native[$0] != "0" }, "refused natively: \(native)")
            for placement in Self.placements.dropFirst() {
                let results = seen[placement.name] ?? [:]
                for (check, expected) in native.sorted(by: { $0.key < $1.key }) {
                    #expect(results[check] == expected, "\(placement) \(check): \(results[check] ?? "nothing") vs native \(expected)")
                }
            }
        }
    }
}
