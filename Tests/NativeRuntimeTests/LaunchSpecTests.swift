import Foundation
import Testing
@testable import NativeRuntime

struct LaunchSpecTests {
    func tokens(_ spec: LaunchSpec) throws -> [String] {
        try spec.encoded().split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    func makeSpec() -> LaunchSpec {
        LaunchSpec(id: "c1", arguments: ["sh", "-c", "echo a b"], environment: ["A=1"], rootfs: "/r", lowerDirectories: ["/l2", "/l1"],
                   upperDirectory: "/u", workDirectory: "/w", logPath: "/log", exitPath: "/exit", socketPath: "/sock")
    }

    @Test func encodesEveryValueAsItsOwnToken() throws {
        var spec = makeSpec()
        spec.mounts = [.init(source: "proc", target: "/proc", type: "proc", flags: [.noSetuid, .noExec])]
        spec.resourceLimits = [.init(resource: 7, soft: 10, hard: 20)]
        let list = try tokens(spec)
        #expect(Array(list.prefix(8)) == ["id", "c1", "arg", "sh", "arg", "-c", "arg", "echo a b"])
        #expect(list.contains("lowerdir=/l2:/l1,upperdir=/u,workdir=/w"))
        let mount = list.firstIndex(of: "mount")!
        #expect(Array(list[mount...(mount + 5)]) == ["mount", "proc", "/proc", "proc", "10", ""])
        let rlimit = list.firstIndex(of: "rlimit")!
        #expect(Array(list[rlimit...(rlimit + 3)]) == ["rlimit", "7", "10", "20"])
        #expect(list.suffix(4) == ["exit", "/exit", "socket", "/sock"])
    }

    @Test func sysctlsGoAsNameAndValue() throws {
        var spec = makeSpec()
        #expect(!(try tokens(spec)).contains("sysctl"))
        spec.sysctls = [.init(name: "kernel.shm_rmid_forced", value: "1"), .init(name: "net.ipv4.ip_forward", value: "0")]
        let list = try tokens(spec)
        let first = list.firstIndex(of: "sysctl")!
        #expect(Array(list[first...(first + 5)]) == ["sysctl", "kernel.shm_rmid_forced", "1", "sysctl", "net.ipv4.ip_forward", "0"])
    }

    @Test func anExecJoinsAContainerAndHasNoRootOrLog() throws {
        var spec = makeSpec()
        spec.placement = .joining(pid: 42)
        let list = try tokens(spec)
        #expect(list.contains("join-pid") && list.contains("42"))
        #expect(!list.contains("rootfs") && !list.contains("overlay") && !list.contains("log"))
    }

    @Test func aTerminalStartsAtTheClientsSize() throws {
        var spec = makeSpec()
        spec.consoleSize = LaunchSpec.ConsoleSize(docker: [33, 101])
        #expect(!(try tokens(spec)).contains("console-size"), "only a tty has a size")
        spec.tty = true
        let list = try tokens(spec)
        let size = list.firstIndex(of: "console-size")!
        #expect(Array(list[size...(size + 2)]) == ["console-size", "33", "101"])
        #expect(LaunchSpec.ConsoleSize(docker: [0, 0]) == nil && LaunchSpec.ConsoleSize(docker: [24]) == nil)
    }

    @Test func aVMExecIsRelayedAndHasNoRootOrLog() throws {
        var spec = makeSpec()
        spec.placement = .utilityVMExec(relay: "/run/c1/shim.sock", root: "/rootfs", container: nil)
        let list = try tokens(spec)
        let relay = list.firstIndex(of: "vm-relay")!
        #expect(Array(list[relay...(relay + 3)]) == ["vm-relay", "/run/c1/shim.sock", "vm-root", "/rootfs"])
        #expect(!list.contains("rootfs") && !list.contains("join-pid") && !list.contains("log"))
    }

    @Test func aUserNamespaceGetsItsLayersOneByOne() throws {
        var spec = makeSpec()
        spec.namespaces.append(.user)
        spec.uidMap = UserNamespaceMapping(hostBase: 1 << 30).idMap
        let list = try tokens(spec)
        #expect(!list.contains("overlay"))
        let rootfs = list.firstIndex(of: "rootfs")!
        #expect(Array(list[rootfs...(rootfs + 9)]) == ["rootfs", "/r", "lower", "/l2", "lower", "/l1", "upper", "/u", "work", "/w"])
        #expect(list.contains("uid-map") && list.contains("0 1073741824 65536\n"))
    }

    @Test func refusesNulBytes() {
        var spec = makeSpec()
        spec.environment = ["BAD=a\u{0}b"]
        #expect(throws: LaunchSpecError.self) { try spec.encoded() }
    }
}
