import APIModels
import Foundation
import ImageStore
import NativeRuntime

/// Turns a container's record into what `berth-shim` applies: the command and its environment,
/// user, capabilities, mounts, namespaces, limits and log settings.
public struct ContainerLaunchPlan {
    let record: ContainerRecord
    let paths: ContainerPaths
    /// Snapshot directories of the image, top layer first.
    let layers: [String]
    /// Their chain IDs, in the same order.
    let chainIDs: [String]
    let hostArchitecture: String
    /// `--link`s' variables (`ALIAS_NAME`, `ALIAS_PORT_…`, `ALIAS_ENV_…`), worked out at each start.
    var linkEnvironment: [String] = []
    /// `--network container:NAME`: that running container's network namespace (its init's) and ID,
    /// whose /etc/hosts and /etc/resolv.conf this one sees too; found at each start.
    var joinedNetwork: (namespace: String, containerID: String)?
    /// `--ipc`, `--pid` and `--uts container:NAME`: the init of the running container that holds
    /// each namespace, found at each start.
    var joinedNamespaces: [LaunchSpec.Namespace: (pid: Int32, containerID: String)] = [:]
    /// A container in a utility VM with `--network container:NAME` joins that container's VM (as a
    /// pod's containers join their sandbox's): its running record, found at each start.
    var sharedUtilityVM: ContainerRecord?

    /// Docker's `StopSignal`/`kill --signal` names and numbers.
    static func signal(named name: String) -> Int32? {
        if let number = Int32(name), number > 0, number < 65 { return number }
        var upper = name.uppercased()
        if upper.hasPrefix("SIG") { upper.removeFirst(3) }
        let table: [String: Int32] = [
            "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
            "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2,
            "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP,
            "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ,
            "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
        ]
        return table[upper]
    }

    var capabilities: CapabilitySet {
        get throws {
            if record.hostConfig.Privileged == true { return CapabilitySet.daemonBounding }
            do {
                return try CapabilitySet.adjusting(
                    .dockerDefault, add: record.hostConfig.CapAdd ?? [], drop: record.hostConfig.CapDrop ?? [])
                    .intersection(CapabilitySet.daemonBounding)
            } catch {
                throw ContainerError.invalid("\(error)")
            }
        }
    }

    /// The seccomp policy `--security-opt` chose: none, Docker's default, or a profile in Docker's
    /// format (the docker CLI sends the file's content).
    enum SeccompChoice: Equatable {
        case unconfined, dockerDefault, profile(Data)
    }

    var securityOptions: (noNewPrivileges: Bool, seccomp: SeccompChoice) { Self.securityOptions(record.hostConfig) }

    static func securityOptions(_ host: HostConfig) -> (noNewPrivileges: Bool, seccomp: SeccompChoice) {
        var noNewPrivileges = false
        var seccomp = host.Privileged == true ? SeccompChoice.unconfined : .dockerDefault
        for option in host.SecurityOpt ?? [] {
            // KEY=VALUE or the older KEY:VALUE; a profile's JSON holds both characters.
            guard let separator = option.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                if option == "no-new-privileges" { noNewPrivileges = true }
                continue
            }
            let key = option[..<separator], value = String(option[option.index(after: separator)...])
            if key == "no-new-privileges", value == "true" { noNewPrivileges = true }
            if key == "seccomp", host.Privileged != true {
                seccomp = value == "unconfined" ? .unconfined : value.isEmpty || value == "builtin" ? .dockerDefault : .profile(Data(value.utf8))
            }
        }
        return (noNewPrivileges, seccomp)
    }

    /// The seccomp filter (its file, compiled once) that the container's processes on `architecture`
    /// load: none when seccomp is off for the container, or for a privileged exec.
    func seccompFilter(from cache: SeccompFilterCache, architecture: String, privilegedExec: Bool = false) throws -> String? {
        guard !privilegedExec else { return nil }
        switch securityOptions.seccomp {
        case .unconfined: return nil
        case .dockerDefault: return try cache.filter(capabilities: try capabilities, architecture: architecture)
        case .profile(let json): return try cache.filter(profile: json, capabilities: try capabilities, architecture: architecture)
        }
    }

    var cgroupLimits: CgroupLimits { Self.cgroupLimits(record.hostConfig) }

    /// /dev/shm's size: `--shm-size`, else Docker's 64 MiB.
    var sharedMemorySize: Int64 { record.hostConfig.ShmSize.flatMap { $0 > 0 ? $0 : nil } ?? 64 << 20 }

    /// False for the `none` log driver: the output goes to attached clients only.
    var keepsLogs: Bool { record.hostConfig.LogConfig?.Type != "none" }

    static func cgroupLimits(_ host: HostConfig) -> CgroupLimits {
        CgroupLimits(memory: host.Memory, memorySwap: host.MemorySwap, nanoCPUs: host.NanoCpus, cpuShares: host.CpuShares,
                     cpuQuota: host.CpuQuota, cpuPeriod: host.CpuPeriod, pidsLimit: host.PidsLimit,
                     memoryReservation: host.MemoryReservation, memorySwappiness: host.MemorySwappiness,
                     cpusetCpus: host.CpusetCpus, cpusetMems: host.CpusetMems, deviceRules: host.DeviceCgroupRules ?? [])
    }

    var usesHostNetwork: Bool { record.hostConfig.NetworkMode == "host" }

    /// Volumes, binds and tmpfs mounts, last as Docker mounts them.
    var userMounts: [LaunchSpec.Mount] {
        (record.state.mounts ?? []).map { mount in
            let readOnly: MountFlags = mount.readOnly ? .readOnly : []
            switch mount.kind {
            case .volume:
                return .init(source: paths.volumeData(mount.volume ?? ""), target: mount.target, type: "",
                             flags: readOnly.union([.bind, .recursive]))
            case .bind:
                return .init(source: mount.source, target: mount.target, type: "",
                             flags: readOnly.union([.bind, .recursive]).union(Self.propagation(mount.options)))
            case .tmpfs:
                return .init(source: "tmpfs", target: mount.target, type: "tmpfs",
                             flags: readOnly.union([.noSetuid, .noDevices, .noExec]), data: mount.options)
            }
        }
    }

    /// A bind's propagation option: binds are recursive, so `shared` is `rshared`; private is the default.
    static func propagation(_ option: String) -> MountFlags {
        switch option {
        case "shared", "rshared": .shared
        case "slave", "rslave": .slave
        default: []
        }
    }

    /// /proc, /dev with its pseudo-filesystems and /sys, made in the container's own namespaces; with
    /// `--privileged` the devices are the host's (a utility VM's guest's), with the container's own
    /// ptys over them, and /sys is writable.
    var kernelFilesystems: [LaunchSpec.Mount] {
        let mounts = ContainerFilesystem.defaultMounts(shmSize: sharedMemorySize)
        guard record.hostConfig.Privileged == true else { return mounts }
        return mounts.map { mount in
            var mount = mount
            if mount.target == "/dev" { mount = .init(source: "/dev", target: "/dev", type: "", flags: [.bind, .recursive]) }
            if mount.target == "/sys" { mount.flags.remove(.readOnly) }
            return mount
        }
    }

    /// The spec for the shim; `seccompFilter` is the compiled policy (nil when unconfined).
    func launchSpec(cgroup: ContainerCgroup, seccompFilter: String?) throws -> LaunchSpec {
        let id = record.id
        let host = record.hostConfig
        let config = record.config
        let searchLayers = [paths.upper(id)] + layers
        let user: ImageUser
        do {
            user = try ImageUser.resolve(config.User ?? "", groupAdd: host.GroupAdd ?? [], layers: searchLayers)
        } catch {
            throw ContainerError.startFailed(code: 125, message: "\(error)")
        }
        var spec = LaunchSpec(
            id: id, arguments: [record.path] + record.arguments, environment: environment(home: user.home),
            rootfs: paths.rootfs(id), lowerDirectories: layers, upperDirectory: paths.upper(id),
            workDirectory: paths.work(id), logPath: keepsLogs ? paths.log(of: record) : "/dev/null", exitPath: paths.exit(id), socketPath: paths.socket(id))
        spec.workingDirectory = (config.WorkingDir?.isEmpty == false ? config.WorkingDir! : "/")
        spec.hostname = config.Hostname
        spec.uid = user.uid
        spec.gid = user.gid
        spec.additionalGroups = user.additionalGroups
        let capabilities = try self.capabilities
        spec.bounding = capabilities
        spec.effective = capabilities
        spec.permitted = capabilities
        let security = securityOptions
        spec.noNewPrivileges = security.noNewPrivileges
        spec.seccompFilter = seccompFilter
        spec.namespaces = usesHostNetwork ? [.pid, .mount, .ipc] : [.pid, .mount, .uts, .ipc, .net]
        // The host's namespace of a kind is had by making none of that kind.
        for (mode, namespace) in [(host.IpcMode, LaunchSpec.Namespace.ipc), (host.PidMode, .pid), (host.UTSMode, .uts)] where mode == "host" {
            spec.namespaces.removeAll { $0 == namespace }
        }
        spec.joinedNamespaces = Dictionary(uniqueKeysWithValues: joinedNamespaces.map { namespace, holder in
            (namespace, "/proc/\(holder.pid)/ns/\(namespace.rawValue)")
        })
        spec.privateCgroupNamespace = host.CgroupnsMode == "private"
        if let mapping = record.state.userNamespace {
            spec.namespaces.append(.user)
            spec.uidMap = mapping.idMap
            spec.gidMap = mapping.idMap
        }
        let privileged = host.Privileged == true
        var mounts = kernelFilesystems
        // /dev/shm goes with the IPC namespace: the host's, a shareable container's (a tmpfs on the
        // host, see `sharedMemory`), or none at all.
        if let shm = mounts.firstIndex(where: { $0.target == "/dev/shm" }) {
            switch host.IpcMode {
            case "host": mounts[shm] = .init(source: "/dev/shm", target: "/dev/shm", type: "", flags: [.bind])
            case "none": mounts.remove(at: shm)
            case "shareable": mounts[shm] = .init(source: paths.sharedMemory(id), target: "/dev/shm", type: "", flags: [.bind])
            case let mode? where mode.hasPrefix("container:"):
                if let holder = joinedNamespaces[.ipc] {
                    mounts[shm] = .init(source: paths.sharedMemory(holder.containerID), target: "/dev/shm", type: "", flags: [.bind])
                }
            default: break
            }
        }
        // The network namespace berthd made belongs to the host's user namespace, for which a container
        // in a user namespace of its own may not mount sysfs: it sees the host's, read-only (runc's way).
        if record.state.userNamespace != nil, !record.attachments.isEmpty, let sys = mounts.firstIndex(where: { $0.target == "/sys" }) {
            mounts[sys] = .init(source: "/sys", target: "/sys", type: "", flags: [.bind, .recursive, .readOnly])
        }
        // After /sys, before the /dev pseudo-filesystems, in Docker's order.
        if let sys = mounts.firstIndex(where: { $0.target == "/sys" }) {
            mounts.insert(contentsOf: ContainerFilesystem.cgroupMounts(cgroup), at: sys + 1)
        }
        let etcFlags: MountFlags = [.bind, .recursive]
        let networkFiles = joinedNetwork?.containerID ?? id
        mounts.append(.init(source: paths.resolvConf(networkFiles), target: "/etc/resolv.conf", type: "", flags: etcFlags))
        mounts.append(.init(source: paths.hostname(id), target: "/etc/hostname", type: "", flags: etcFlags))
        mounts.append(.init(source: paths.hosts(networkFiles), target: "/etc/hosts", type: "", flags: etcFlags))
        spec.mounts = mounts + userMounts
        spec.createDevices = !privileged
        if !privileged {
            spec.maskedPaths = host.MaskedPaths ?? ContainerFilesystem.maskedPaths
            spec.readonlyPaths = host.ReadonlyPaths ?? ContainerFilesystem.readonlyPaths
        }
        spec.sysctls = try ContainerSysctls.validated(host)
        let propagations = spec.mounts.map(\.flags)
        if propagations.contains(where: { $0.contains(.shared) }) {
            spec.rootPropagation = .shared
        } else if propagations.contains(where: { $0.contains(.slave) }) {
            spec.rootPropagation = .slave
        }
        if spec.rootPropagation != .private, record.state.userNamespace != nil {
            throw ContainerError.invalid("shared or slave bind propagation is not available in a user namespace of the container's own (--userns=host)")
        }
        spec.readonlyRootfs = host.ReadonlyRootfs == true
        spec.tty = config.Tty == true
        spec.consoleSize = LaunchSpec.ConsoleSize(docker: host.ConsoleSize)
        spec.openStdin = config.OpenStdin == true
        spec.reaper = host.Init == true
        spec.oomScoreAdjust = host.OomScoreAdj
        spec.resourceLimits = try resourceLimits()
        spec.cgroupProcs = cgroup.procsFiles
        spec.logFormatCRI = host.LogConfig?.Type == ContainerLogs.criFileDriver
        let rotation = try Self.logRotation(host.LogConfig?.Config ?? [:])
        if let maxSize = rotation.maxSize { spec.logMaxSize = maxSize }
        if let maxFiles = rotation.maxFiles { spec.logMaxFiles = maxFiles }
        return spec
    }

    /// An exec's own process: its command, user, environment, directory and terminal.
    func execSpec(_ exec: ExecConfig, execID: String) throws -> LaunchSpec {
        let id = record.id
        let user: ImageUser
        do {
            let name = exec.User.flatMap { $0.isEmpty ? nil : $0 } ?? record.config.User ?? ""
            user = try ImageUser.resolve(name, groupAdd: record.hostConfig.GroupAdd ?? [], layers: [paths.upper(id)] + layers)
        } catch {
            throw ContainerError.startFailed(code: 126, message: "\(error)")
        }
        var environment = Environment.overriding(self.environment(home: user.home), with: exec.Env ?? [])
        if exec.Tty == true, !environment.contains(where: { $0.hasPrefix("TERM=") }) { environment.append("TERM=xterm") }
        var spec = LaunchSpec(
            id: execID, arguments: exec.Cmd ?? [], environment: environment, rootfs: "", lowerDirectories: [],
            upperDirectory: "", workDirectory: "", logPath: "", exitPath: paths.execExit(id, execID),
            socketPath: paths.execSocket(id, execID))
        spec.workingDirectory = exec.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
            ?? (record.config.WorkingDir?.isEmpty == false ? record.config.WorkingDir! : "/")
        spec.uid = user.uid
        spec.gid = user.gid
        spec.additionalGroups = user.additionalGroups
        spec.tty = exec.Tty == true
        spec.consoleSize = LaunchSpec.ConsoleSize(docker: exec.ConsoleSize)
        spec.openStdin = exec.AttachStdin == true
        return spec
    }

    /// An exec under the container's confinement: its capabilities (every one with `--privileged`),
    /// no_new_privs and seccomp filter (the container's architecture's, nil when unconfined).
    func confinedExecSpec(_ exec: ExecConfig, execID: String, seccompFilter: String?) throws -> LaunchSpec {
        var spec = try execSpec(exec, execID: execID)
        let capabilities = exec.Privileged == true ? CapabilitySet.daemonBounding : try self.capabilities
        spec.bounding = capabilities
        spec.effective = capabilities
        spec.permitted = capabilities
        spec.noNewPrivileges = securityOptions.noNewPrivileges
        spec.seccompFilter = exec.Privileged == true ? nil : seccompFilter
        return spec
    }

    /// An exec joining a native container: its namespaces and cgroups, and the container's confinement.
    func nativeExecSpec(_ exec: ExecConfig, execID: String, containerPID: Int32, cgroup: ContainerCgroup, seccompFilter: String?)
        throws -> LaunchSpec
    {
        var spec = try confinedExecSpec(exec, execID: execID, seccompFilter: seccompFilter)
        spec.placement = .joining(pid: containerPID)
        spec.cgroupProcs = cgroup.procsFiles
        return spec
    }

    /// Image environment, then the request's, then what Docker always sets.
    func environment(home: String) -> [String] {
        var variables = Environment.overriding(linkEnvironment, with: record.config.Env ?? [])
        func has(_ name: String) -> Bool { variables.contains { $0.hasPrefix(name + "=") } }
        if !has("PATH") { variables.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0) }
        if !has("HOSTNAME"), let hostname = record.config.Hostname { variables.append("HOSTNAME=\(hostname)") }
        if record.config.Tty == true, !has("TERM") { variables.append("TERM=xterm") }
        if !has("HOME") { variables.append("HOME=\(home)") }
        return variables
    }

    /// `--ulimit` names and their `RLIMIT_*` numbers.
    static let resourceNumbers: [String: Int32] = [
        "core": 4, "cpu": 0, "data": 2, "fsize": 1, "locks": 10, "memlock": 8, "msgqueue": 12, "nice": 13,
        "nofile": 7, "nproc": 6, "rss": 5, "rtprio": 14, "rttime": 15, "sigpending": 11, "stack": 3, "as": 9,
    ]

    /// json-file's rotation: `max-size` in bytes and `max-file`, each checked when given.
    static func logRotation(_ options: [String: String]) throws -> (maxSize: UInt64?, maxFiles: UInt32?) {
        var rotation: (maxSize: UInt64?, maxFiles: UInt32?) = (nil, nil)
        if let size = options["max-size"] {
            guard let bytes = parseSize(size) else { throw ContainerError.invalid("invalid max-size: \(size)") }
            rotation.maxSize = UInt64(bytes)
        }
        if let files = options["max-file"] {
            guard let count = UInt32(files), count > 0 else { throw ContainerError.invalid("invalid max-file: \(files)") }
            rotation.maxFiles = count
        }
        return rotation
    }

    /// A `--ulimit`'s `RLIMIT_*` number, its name and its soft-to-hard order checked.
    static func resourceNumber(of limit: Ulimit) throws -> Int32 {
        guard let resource = resourceNumbers[limit.Name] else { throw ContainerError.invalid("invalid ulimit type: \(limit.Name)") }
        guard limit.Soft <= limit.Hard else {
            throw ContainerError.invalid("ulimit soft limit must be less than or equal to hard limit: \(limit.Soft) > \(limit.Hard)")
        }
        return resource
    }

    /// `--ulimit`s; never above what the daemon itself may have, which would fail in the kernel.
    func resourceLimits() throws -> [LaunchSpec.ResourceLimit] {
        return try (record.hostConfig.Ulimits ?? []).map { limit in
            let resource = try Self.resourceNumber(of: limit)
            var current = rlimit()
            getrlimit(__rlimit_resource_t(UInt32(resource)), &current)
            let requestedHard = UInt64(bitPattern: limit.Hard)
            let hard: UInt64 = min(requestedHard, UInt64(current.rlim_max))
            let soft: UInt64 = min(UInt64(bitPattern: limit.Soft), hard)
            return LaunchSpec.ResourceLimit(resource: resource, soft: soft, hard: hard)
        }
    }

    /// "10m", "512k", "1g", plain bytes.
    static func parseSize(_ text: String) -> Int64? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20),
                                        ("g", 1 << 30), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Double(lower.dropLast(suffix.count)), value >= 0 else { return nil }
            return Int64(value * Double(factor))
        }
        return Int64(lower)
    }
}
