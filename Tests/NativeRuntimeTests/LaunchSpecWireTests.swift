import Foundation
import Testing
@testable import NativeRuntime

/// The launch spec's bytes against the golden files in Tests/Fixtures/wire, which the shim's own
/// test (`make -C shim check`) parses: a change on one side that the other does not share fails here
/// or there. After a deliberate change of the format, `BERTH_REWRITE_WIRE_FIXTURES=1` rewrites the
/// .bin files (and still fails, so that the shim's side and its .txt are looked at too).
struct LaunchSpecWireTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire")

    static func base() -> LaunchSpec {
        LaunchSpec(id: "c0ffee", arguments: ["sh", "-c", "echo \"$GREETING\""], environment: ["GREETING=hello world", "EMPTY="],
                   rootfs: "/run/berth/c0ffee/rootfs", lowerDirectories: ["/var/lib/berth/snapshots/b/fs", "/var/lib/berth/snapshots/a/fs"],
                   upperDirectory: "/var/lib/berth/containers/c0ffee/upper", workDirectory: "/var/lib/berth/containers/c0ffee/work",
                   logPath: "/var/lib/berth/containers/c0ffee/json.log", exitPath: "/run/berth/c0ffee/exit",
                   socketPath: "/run/berth/c0ffee/shim.sock")
    }

    /// A native container with every setting the shim reads: a user namespace, a pinned network
    /// namespace, mounts, masks, groups, capabilities, seccomp, limits, a terminal and log rotation.
    static func native() -> LaunchSpec {
        var spec = base()
        spec.workingDirectory = "/srv"
        spec.hostname = "c0ffee"
        spec.mounts = [
            .init(source: "proc", target: "/proc", type: "proc", flags: [.noSetuid, .noDevices, .noExec]),
            .init(source: "/var/lib/berth/volumes/data/_data", target: "/data", type: "none", flags: [.bind, .recursive]),
            .init(source: "tmpfs", target: "/dev/shm", type: "tmpfs", flags: [.noSetuid, .noDevices, .noExec], data: "mode=1777,size=65536k"),
        ]
        spec.sysctls = [.init(name: "kernel.shm_rmid_forced", value: "1"), .init(name: "net.ipv4.ping_group_range", value: "0 100")]
        spec.maskedPaths = ["/proc/kcore", "/sys/firmware"]
        spec.readonlyPaths = ["/proc/sys"]
        spec.uid = 65534
        spec.gid = 65534
        spec.additionalGroups = [10, 100]
        spec.bounding = .dockerDefault
        spec.effective = .dockerDefault
        spec.permitted = .dockerDefault
        spec.noNewPrivileges = true
        spec.seccompFilter = "/run/berth/c0ffee/seccomp.bpf"
        spec.resourceLimits = [.init(resource: 7, soft: 1024, hard: 4096)]
        spec.namespaces = [.pid, .mount, .uts, .ipc, .net, .user, .cgroup]
        spec.networkNamespace = "/run/berth/c0ffee/netns"
        spec.uidMap = UserNamespaceMapping(hostBase: 1 << 30).idMap
        spec.gidMap = UserNamespaceMapping(hostBase: 1 << 30).idMap
        spec.cgroupProcs = ["/sys/fs/cgroup/memory/berth/c0ffee/cgroup.procs", "/sys/fs/cgroup/unified/berth/c0ffee/cgroup.procs"]
        spec.readonlyRootfs = true
        spec.tty = true
        spec.consoleSize = LaunchSpec.ConsoleSize(docker: [40, 120])
        spec.openStdin = true
        spec.reaper = true
        spec.oomScoreAdjust = -500
        spec.logMaxSize = 10_000_000
        spec.logMaxFiles = 3
        return spec
    }

    /// A container of a pod: it enters the pod's network, ipc, uts and pid namespaces by path,
    /// makes only its mount and cgroup namespaces, and logs in the CRI's format where kubelet says.
    static func podMember() -> LaunchSpec {
        var spec = base()
        spec.namespaces = [.pid, .mount, .uts, .ipc, .net, .cgroup]
        spec.networkNamespace = "/proc/4242/ns/net"
        spec.joinedNamespaces = [.pid: "/proc/4242/ns/pid", .uts: "/proc/4242/ns/uts", .ipc: "/proc/4242/ns/ipc"]
        spec.logPath = "/var/log/pods/default_web_0000/app/0.log"
        spec.logFormatCRI = true
        return spec
    }

    /// A container in a utility VM: the agent's socket, requests before the mounts, the guest's mounts.
    static func utilityVM() -> LaunchSpec {
        var spec = base()
        spec.placement = .utilityVM(.init(
            agentSocket: "/run/berth/c0ffee/agent.sock", agentTimeoutSeconds: 90,
            requests: [
                .init(kind: "a", tokens: [("mac", "02:42:ac:11:00:02"), ("address", "172.17.0.2"), ("prefix", "16"), ("gateway", "172.17.0.1")]),
                .init(kind: "w", tokens: [("path", "/run/berth/hosts"), ("data", "127.0.0.1\tlocalhost\n172.17.0.2\tc0ffee\n")]),
            ],
            mounts: [
                .init(source: "/dev/vda", target: "/layers/0", type: "ext4", flags: [.readOnly]),
                .init(source: "overlay", target: "/rootfs", type: "overlay", flags: [], data: "lowerdir=/layers/0,upperdir=/rw/upper,workdir=/rw/work"),
            ],
            root: "/rootfs"))
        return spec
    }

    /// An exec into a running native container: it joins the init's namespaces and has no root or log.
    static func exec() -> LaunchSpec {
        var spec = base()
        spec.arguments = ["ps", "-o", "pid,comm"]
        spec.placement = .joining(pid: 4242)
        spec.uid = 1000
        spec.gid = 1000
        return spec
    }

    /// An exec into a utility-VM container: relayed through the container's shim to the agent.
    static func utilityVMExec() -> LaunchSpec {
        var spec = exec()
        spec.placement = .utilityVMExec(relay: "/run/berth/c0ffee/shim.sock", root: "/rootfs", container: nil)
        spec.socketPath = "/run/berth/c0ffee/exec-1.sock"
        return spec
    }

    /// A container of a pod in a utility VM: the sandbox's shim relays its setup (its files, its
    /// cgroup's limits, the layers' overlay) and its process, which the agent confines by its name,
    /// in the sandbox's PID and IPC namespaces.
    static func podVMMember() -> LaunchSpec {
        var spec = base()
        spec.placement = .sharedUtilityVM(.init(
            relay: "/run/berth/5a4db0/shim.sock", container: "c0ffee000000",
            requests: [
                .init(kind: "w", tokens: [("path", "/run/berth/pod/c0ffee000000/hostname"), ("data", "web-pod\n")]),
                .init(kind: "w", tokens: [("path", "/sys/fs/cgroup/container-c0ffee000000/pids.max"), ("data", "100")]),
            ],
            mounts: [
                .init(source: "overlay", target: "/pod/c0ffee000000/rootfs", type: "overlay", flags: [],
                      data: "lowerdir=/pod/layers/0,upperdir=/writable/pod/c0ffee000000/upper,workdir=/writable/pod/c0ffee000000/work"),
                .init(source: "/run/berth/pod/c0ffee000000/hostname", target: "/pod/c0ffee000000/rootfs/etc/hostname", type: "",
                      flags: [.bind]),
            ],
            root: "/pod/c0ffee000000/rootfs", pidNamespaceOf: "", ipcNamespaceOf: ""))
        spec.logPath = "/var/log/pods/default_web_0000/app/0.log"
        spec.logFormatCRI = true
        return spec
    }

    /// An exec into a pod's container in a utility VM: through the sandbox's shim, into the container the agent knows by name.
    static func podVMMemberExec() -> LaunchSpec {
        var spec = exec()
        spec.placement = .utilityVMExec(relay: "/run/berth/5a4db0/shim.sock", root: "/pod/c0ffee000000/rootfs", container: "c0ffee000000")
        spec.socketPath = "/run/berth/c0ffee/exec-1.sock"
        return spec
    }

    static let cases: [(name: String, spec: LaunchSpec)] = [
        ("native", native()), ("utility-vm", utilityVM()), ("exec", exec()), ("utility-vm-exec", utilityVMExec()),
        ("pod-member", podMember()), ("pod-vm-member", podVMMember()), ("pod-vm-member-exec", podVMMemberExec()),
    ]

    @Test(arguments: cases.map(\.name))
    func encodesExactlyTheGoldenBytes(_ name: String) throws {
        let spec = try #require(Self.cases.first { $0.name == name }).spec
        let golden = Self.fixtures.appendingPathComponent("launch-spec-\(name).bin")
        let encoded = try spec.encoded()
        if ProcessInfo.processInfo.environment["BERTH_REWRITE_WIRE_FIXTURES"] == "1" {
            try encoded.write(to: golden, options: .atomic)
            Issue.record("rewrote \(golden.path): check the shim's side (make -C shim check) and commit both")
            return
        }
        #expect(encoded == (try Data(contentsOf: golden)), "launch-spec-\(name).bin: the shim reads these bytes")
    }
}
