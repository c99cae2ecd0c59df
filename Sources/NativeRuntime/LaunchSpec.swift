import Foundation

/// Everything `berth-shim` needs to create one container, resolved by the daemon beforehand
/// (users looked up, capabilities computed, cgroups made), so the shim's C code only applies it.
///
/// On disk: NUL-terminated tokens, each key followed by its values (see `berth-shim/spec.h`).
public struct LaunchSpec: Sendable, Equatable {
    public struct Mount: Sendable, Equatable {
        public var source: String
        /// Inside the container's root; symlinks in the image resolve inside it too.
        public var target: String
        public var type: String
        public var flags: MountFlags
        public var data: String

        public init(source: String, target: String, type: String, flags: MountFlags, data: String = "") {
            self.source = source
            self.target = target
            self.type = type
            self.flags = flags
            self.data = data
        }
    }

    public struct ResourceLimit: Sendable, Equatable {
        public var resource: Int32
        public var soft: UInt64
        public var hard: UInt64

        public init(resource: Int32, soft: UInt64, hard: UInt64) {
            self.resource = resource
            self.soft = soft
            self.hard = hard
        }
    }

    public enum Namespace: String, Sendable, CaseIterable {
        case pid, mount, uts, ipc, net, user, cgroup
    }

    public var id: String
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory = "/"
    public var hostname: String?
    /// The empty directory the overlay is mounted on, inside the container's mount namespace only.
    public var rootfs: String
    /// Snapshot directories, the image's top layer first.
    public var lowerDirectories: [String]
    public var upperDirectory: String
    public var workDirectory: String
    public var mounts: [Mount] = []
    public var maskedPaths: [String] = []
    /// Kernel settings of the container's own namespaces, written under its /proc/sys.
    public var sysctls: [Sysctl] = []

    public struct Sysctl: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }
    public var readonlyPaths: [String] = []
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var additionalGroups: [UInt32] = []
    public var bounding = CapabilitySet()
    public var effective = CapabilitySet()
    public var permitted = CapabilitySet()
    public var inheritable = CapabilitySet()
    public var ambient = CapabilitySet()
    public var noNewPrivileges = false
    /// A file of `struct sock_filter` instructions.
    public var seccompFilter: String?
    public var resourceLimits: [ResourceLimit] = []
    public var namespaces: [Namespace] = [.pid, .mount, .uts, .ipc, .net]
    /// A network namespace made beforehand (pinned at this path) to join instead of making one.
    public var networkNamespace: String?
    /// Another container's ipc, uts or pid namespace (`/proc/PID/ns/KIND`) to join instead of making one.
    public var joinedNamespaces: [Namespace: String] = [:]
    public var uidMap: String?
    public var gidMap: String?
    /// `cgroup.procs` files the container's init is written to before it runs anything.
    public var cgroupProcs: [String] = []
    public var readonlyRootfs = false
    /// What the container's mount namespace keeps of the host's propagation: nothing (`private`,
    /// the default), events from the host (`slave`, for a slave bind), or the host's peer groups
    /// themselves (`shared`, for a shared bind: mounts made in it reach the host).
    public var rootPropagation = RootPropagation.private

    public enum RootPropagation: String, Sendable, Equatable {
        case `private`, slave, shared
    }
    /// `--cgroupns private`: init makes a cgroup namespace once in its cgroups, so they are its root.
    public var privateCgroupNamespace = false
    public var createDevices = true
    public var tty = false
    /// The terminal's size from the start (Docker's `ConsoleSize`), before any resize arrives.
    public var consoleSize: ConsoleSize?

    public struct ConsoleSize: Sendable, Equatable {
        public var rows: Int
        public var columns: Int

        /// Docker's `[height, width]`; nil unless both are positive.
        public init?(docker size: [Int]?) {
            guard let size, size.count == 2, size[0] > 0, size[1] > 0 else { return nil }
            rows = size[0]
            columns = size[1]
        }
    }
    public var openStdin = false
    /// `--init`: a reaper stays PID 1 and runs the command as its child.
    public var reaper = false
    public var oomScoreAdjust: Int?
    public var logPath: String
    /// The Kubernetes CRI's format (`TIME STREAM F|P CONTENT`) instead of Docker's json-file.
    public var logFormatCRI = false
    public var logMaxSize: UInt64 = 0
    public var logMaxFiles: UInt32 = 1
    public var exitPath: String
    public var socketPath: String
    /// Where the process gets its root and namespaces.
    public var placement: Placement = .host

    public enum Placement: Sendable, Equatable {
        /// The shim makes the root (the overlay of the layers) and the namespaces on this host.
        case host
        /// An exec: it joins the namespaces of the container's init (no root or log of its own).
        case joining(pid: Int32)
        /// A container in a utility VM: the shim speaks to the guest's agent, and no namespace,
        /// rootfs or cgroup is made here.
        case utilityVM(UtilityVM)
        /// An exec in a utility VM: the container shim's socket relays it to the agent, which runs
        /// it in the container's root in the guest (`root`); `container` is the agent's name for
        /// the container in a VM that holds several (a pod's), nil for the VM's own.
        case utilityVMExec(relay: String, root: String, container: String?)
        /// A container in another container's utility VM (a pod's containers share their sandbox's):
        /// that container's shim relays the setup and the process to the agent.
        case sharedUtilityVM(SharedUtilityVM)
    }

    /// What the agent is asked to set up for a container in a VM it shares.
    public struct SharedUtilityVM: Sendable, Equatable {
        /// The socket of the shim that holds the VM's agent port.
        public var relay: String
        /// The agent's name for the container, which its cgroup and its execs go by.
        public var container: String
        /// The container whose PID namespace it shares, and whose IPC namespace, by the agent's
        /// names ("" for the VM's own container: a pod's sandbox); nil for namespaces of its own.
        public var pidNamespaceOf: String?
        public var ipcNamespaceOf: String?
        /// Agent messages sent before the mounts (files to write, the cgroup's limits).
        public var requests: [VMRequest]
        /// The guest's mounts that build the container's root at `root`.
        public var mounts: [Mount]
        public var root: String

        public init(relay: String, container: String, requests: [VMRequest] = [], mounts: [Mount] = [], root: String,
                    pidNamespaceOf: String? = nil, ipcNamespaceOf: String? = nil) {
            self.relay = relay
            self.container = container
            self.requests = requests
            self.mounts = mounts
            self.root = root
            self.pidNamespaceOf = pidNamespaceOf
            self.ipcNamespaceOf = ipcNamespaceOf
        }
    }

    /// What the guest's agent is asked to set up for a container.
    public struct UtilityVM: Sendable, Equatable {
        public var agentSocket: String
        /// How long the booting VM's agent has to say hello.
        public var agentTimeoutSeconds: Int
        /// Agent messages sent before the mounts (a network interface's address, a file to write).
        public var requests: [VMRequest]
        /// The guest's mounts that build the container's root at `root` (flags: `.readOnly` only).
        public var mounts: [Mount]
        public var root: String

        public init(agentSocket: String, agentTimeoutSeconds: Int = 30, requests: [VMRequest] = [], mounts: [Mount] = [], root: String) {
            self.agentSocket = agentSocket
            self.agentTimeoutSeconds = agentTimeoutSeconds
            self.requests = requests
            self.mounts = mounts
            self.root = root
        }
    }

    /// One agent message: a kind and its key–value tokens, as vm-images/PROTOCOL.md describes them.
    public struct VMRequest: Sendable, Equatable {
        public var kind: Character
        public var tokens: [(key: String, value: String)]

        public init(kind: Character, tokens: [(key: String, value: String)]) {
            self.kind = kind
            self.tokens = tokens
        }

        public static func == (lhs: VMRequest, rhs: VMRequest) -> Bool {
            lhs.kind == rhs.kind && lhs.tokens.map(\.key) == rhs.tokens.map(\.key) && lhs.tokens.map(\.value) == rhs.tokens.map(\.value)
        }
    }

    public init(id: String, arguments: [String], environment: [String], rootfs: String, lowerDirectories: [String],
                upperDirectory: String, workDirectory: String, logPath: String, exitPath: String, socketPath: String) {
        self.id = id
        self.arguments = arguments
        self.environment = environment
        self.rootfs = rootfs
        self.lowerDirectories = lowerDirectories
        self.upperDirectory = upperDirectory
        self.workDirectory = workDirectory
        self.logPath = logPath
        self.exitPath = exitPath
        self.socketPath = socketPath
    }

    /// The overlay's mount options; longer than a page when an image has too many deep layers.
    public var overlayOptions: String {
        Self.overlayOptions(lower: lowerDirectories, upper: upperDirectory, work: workDirectory)
    }

    /// overlayfs' mount options: lower directories top first.
    public static func overlayOptions(lower: [String], upper: String, work: String) -> String {
        "lowerdir=\(lower.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
    }

    public func encoded() throws -> Data {
        var tokens: [String] = []
        func add(_ values: String...) { tokens.append(contentsOf: values) }
        add("id", id)
        for argument in arguments { add("arg", argument) }
        for variable in environment { add("env", variable) }
        add("cwd", workingDirectory)
        if let hostname { add("hostname", hostname) }
        switch placement {
        case .utilityVM(let vm):
            add("vm-socket", vm.agentSocket, "vm-agent-timeout", String(vm.agentTimeoutSeconds))
            for request in vm.requests {
                add("vm-request", String(request.kind), String(request.tokens.count))
                for token in request.tokens { add(token.key, token.value) }
            }
            for mount in vm.mounts { add("vm-mount", mount.source, mount.target, mount.type, String(mount.flags.rawValue), mount.data) }
            add("vm-root", vm.root)
        case .utilityVMExec(let relay, let root, let container):
            add("vm-relay", relay, "vm-root", root)
            if let container { add("vm-container", container) }
        case .sharedUtilityVM(let vm):
            add("vm-relay", vm.relay, "vm-member", vm.container)
            if let holder = vm.pidNamespaceOf { add("vm-pid-of", holder) }
            if let holder = vm.ipcNamespaceOf { add("vm-ipc-of", holder) }
            for request in vm.requests {
                add("vm-request", String(request.kind), String(request.tokens.count))
                for token in request.tokens { add(token.key, token.value) }
            }
            for mount in vm.mounts { add("vm-mount", mount.source, mount.target, mount.type, String(mount.flags.rawValue), mount.data) }
            add("vm-root", vm.root)
        case .joining(let pid):
            add("join-pid", String(pid))
        case .host:
            add("rootfs", rootfs)
            if namespaces.contains(.user) {
                // The shim idmaps each layer itself, so it needs them one by one.
                for layer in lowerDirectories { add("lower", layer) }
                add("upper", upperDirectory, "work", workDirectory)
            } else {
                add("overlay", overlayOptions)
            }
        }
        for mount in mounts { add("mount", mount.source, mount.target, mount.type, String(mount.flags.rawValue), mount.data) }
        for setting in sysctls { add("sysctl", setting.name, setting.value) }
        for path in maskedPaths { add("masked", path) }
        for path in readonlyPaths { add("readonly-path", path) }
        add("uid", String(uid), "gid", String(gid))
        for group in additionalGroups { add("group", String(group)) }
        add("cap-bounding", String(bounding.rawValue), "cap-effective", String(effective.rawValue),
            "cap-permitted", String(permitted.rawValue), "cap-inheritable", String(inheritable.rawValue),
            "cap-ambient", String(ambient.rawValue))
        add("no-new-privileges", noNewPrivileges ? "1" : "0")
        if let seccompFilter { add("seccomp", seccompFilter) }
        for limit in resourceLimits { add("rlimit", String(limit.resource), String(limit.soft), String(limit.hard)) }
        if let networkNamespace { add("netns", networkNamespace) }
        // Entered in this order: ipc and uts, then pid, which holds only the processes made after.
        for namespace in [Namespace.ipc, .uts, .pid] {
            if let path = joinedNamespaces[namespace] { add("join-namespace", namespace.rawValue, path) }
        }
        for namespace in namespaces where joinedNamespaces[namespace] == nil && (namespace != .net || networkNamespace == nil) {
            add("namespace", namespace.rawValue)
        }
        if let uidMap { add("uid-map", uidMap) }
        if let gidMap { add("gid-map", gidMap) }
        for path in cgroupProcs { add("cgroup-procs", path) }
        if privateCgroupNamespace { add("cgroupns", "private") }
        if rootPropagation != .private { add("root-propagation", rootPropagation.rawValue) }
        add("readonly-rootfs", readonlyRootfs ? "1" : "0", "create-devices", createDevices ? "1" : "0",
            "tty", tty ? "1" : "0", "open-stdin", openStdin ? "1" : "0",
            "init", reaper ? "1" : "0")
        if tty, let consoleSize { add("console-size", String(consoleSize.rows), String(consoleSize.columns)) }
        if let oomScoreAdjust { add("oom-score-adj", String(oomScoreAdjust)) }
        // An exec (joining a native container, or relayed into a VM) has no log of its own.
        switch placement {
        case .host, .utilityVM, .sharedUtilityVM:
            add("log", logPath, "log-max-size", String(logMaxSize), "log-max-files", String(logMaxFiles))
            if logFormatCRI { add("log-format", "cri") }
        case .joining, .utilityVMExec:
            break
        }
        add("exit", exitPath, "socket", socketPath)
        var data = Data()
        for token in tokens {
            guard !token.utf8.contains(0) else { throw LaunchSpecError.nulByte(token) }
            data.append(contentsOf: token.utf8)
            data.append(0)
        }
        return data
    }
}

public enum LaunchSpecError: Error, CustomStringConvertible {
    case nulByte(String)

    public var description: String {
        switch self {
        case .nulByte(let value): return "a NUL byte is not allowed in \(value.debugDescription)"
        }
    }
}

/// mount(2) flags as the shim passes them on.
public struct MountFlags: OptionSet, Sendable, Equatable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    public static let readOnly = MountFlags(rawValue: 1)
    public static let noSetuid = MountFlags(rawValue: 2)
    public static let noDevices = MountFlags(rawValue: 4)
    public static let noExec = MountFlags(rawValue: 8)
    public static let remount = MountFlags(rawValue: 32)
    public static let bind = MountFlags(rawValue: 4096)
    public static let recursive = MountFlags(rawValue: 16384)
    public static let strictAtime = MountFlags(rawValue: 1 << 24)
    /// Propagation, set on a bind after it is made: events cross neither way, from its source's
    /// peers only, or both ways.
    public static let `private` = MountFlags(rawValue: 1 << 18)
    public static let slave = MountFlags(rawValue: 1 << 19)
    public static let shared = MountFlags(rawValue: 1 << 20)
}
