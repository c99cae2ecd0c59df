/// How a `run` request's process is confined (vm-images/PROTOCOL.md): the container's init gets
/// namespaces, a cgroup and kernel filesystems of its own, an exec enters the init's, and both drop
/// to the container's user, capabilities and seccomp filter as berth-shim does natively. A process
/// for the guest itself (no such tokens) runs as the agent does.
struct Confinement {
    enum Namespaces {
        /// The guest's own: a helper the host runs in the VM.
        case guest
        /// New ones: the container's init, PID 1 of its own pid namespace.
        case own
        /// The container init's: an exec.
        case containers
    }

    struct Mount {
        let source: [UInt8]
        let target: [UInt8]
        let fstype: [UInt8]
        let flags: UInt
        let options: [UInt8]
    }

    struct Identity {
        let bounding: UInt64
        let effective: UInt64
        let permitted: UInt64
        let inheritable: UInt64
        let ambient: UInt64
    }

    struct Limit {
        let resource: Int32
        let soft: UInt64
        let hard: UInt64
    }

    let namespaces: Namespaces
    let mounts: [Mount]
    let createDevices: Bool
    let readonlyRoot: Bool
    let readonlyPaths: [[UInt8]]
    let maskedPaths: [[UInt8]]
    let groups: [UInt32]
    /// The capability sets; nil for a process that keeps the agent's.
    let identity: Identity?
    let limits: [Limit]
    let noNewPrivileges: Bool
    /// struct sock_filter bytes, or empty for none.
    let seccompFilter: [UInt8]
    /// `--init`: the container's init stays PID 1 as a reaper and runs the command as its child.
    let reaper: Bool
    /// `--sysctl`s, "NAME=VALUE", written under /proc/sys once the init is in its namespaces.
    let sysctls: [[UInt8]]

    /// Reads the request's tokens; the reason when one is malformed.
    static func parse(_ request: AgentTokens) -> (Confinement?, [UInt8]?) {
        let namespaces: Namespaces = request.value("isolate") == Bytes.of("1") ? .own : request.value("enter") == Bytes.of("1") ? .containers : .guest
        let sources = request.values("mount-source"), targets = request.values("mount-target"), fstypes = request.values("mount-fstype")
        let flags = request.values("mount-flags"), options = request.values("mount-options")
        guard targets.count == sources.count, fstypes.count == sources.count, flags.count == sources.count, options.count == sources.count else {
            return (nil, Bytes.of("a mount lacks one of source, target, fstype, flags, options"))
        }
        var mounts: [Mount] = []
        for index in 0..<sources.count {
            guard let value = Bytes.parseDecimal(flags[index]) else { return (nil, Bytes.of("a mount's flags are not a number")) }
            mounts.append(Mount(source: sources[index], target: targets[index], fstype: fstypes[index], flags: UInt(value), options: options[index]))
        }
        var groups: [UInt32] = []
        for group in request.values("group") {
            guard let value = Bytes.parseDecimal(group) else { return (nil, Bytes.of("a group is not a number")) }
            groups.append(UInt32(value))
        }
        var identity: Identity?
        if let bounding = request.value("cap-bounding") {
            guard let bounding = Bytes.parseHexNumber(bounding),
                  let effective = Bytes.parseHexNumber(request.value("cap-effective") ?? []),
                  let permitted = Bytes.parseHexNumber(request.value("cap-permitted") ?? []),
                  let inheritable = Bytes.parseHexNumber(request.value("cap-inheritable") ?? []),
                  let ambient = Bytes.parseHexNumber(request.value("cap-ambient") ?? []) else {
                return (nil, Bytes.of("the capability sets are not all hex numbers"))
            }
            identity = Identity(bounding: bounding, effective: effective, permitted: permitted, inheritable: inheritable, ambient: ambient)
        }
        var limits: [Limit] = []
        for limit in request.values("rlimit") {
            let parts = limit.split(separator: UInt8(ascii: " "))
            guard parts.count == 3, let resource = Bytes.parseHexNumber(Array(parts[0])), let soft = Bytes.parseHexNumber(Array(parts[1])),
                  let hard = Bytes.parseHexNumber(Array(parts[2])) else {
                return (nil, Bytes.of("an rlimit is not three hex numbers"))
            }
            limits.append(Limit(resource: Int32(truncatingIfNeeded: resource), soft: soft, hard: hard))
        }
        var filter: [UInt8] = []
        if let text = request.value("seccomp") {
            guard let bytes = Bytes.parseHex(text), !bytes.isEmpty, bytes.count % 8 == 0 else {
                return (nil, Bytes.of("the seccomp filter is not whole BPF instructions in hex"))
            }
            filter = bytes
        }
        return (Confinement(namespaces: namespaces, mounts: mounts, createDevices: request.value("create-devices") == Bytes.of("1"),
                            readonlyRoot: request.value("readonly-rootfs") == Bytes.of("1"), readonlyPaths: request.values("readonly-path"),
                            maskedPaths: request.values("masked"), groups: groups, identity: identity, limits: limits,
                            noNewPrivileges: request.value("no-new-privileges") == Bytes.of("1"), seccompFilter: filter,
                            reaper: namespaces == .own && request.value("init") == Bytes.of("1"),
                            sysctls: namespaces == .own ? request.values("sysctl") : []), nil)
    }

    /// In the forked child, before anything else of the container's: the namespaces, cgroup and
    /// root (`root` for the init; an exec finds its init's, `container`). The failure's message, or nil.
    func enter(root: [UInt8]?, container: Int32, ipcHolder: Int32 = 0, joiningCgroup: Bool = true) -> [UInt8]? {
        switch namespaces {
        case .guest:
            if let root, Bytes.withCString(root, { chroot($0) }) != 0 { return failure("chroot") }
        case .own:
            guard let root else { return Bytes.of("the container's init needs a root") }
            if agent_unshare_container_namespaces(ipcHolder) != 0 { return failure("making the container's namespaces") }
            if agent_make_mounts_private() != 0 { return failure("making the mounts private") }
            if agent_join_container_cgroup() != 0 { return failure("joining the container's cgroup") }
            if agent_unshare_cgroup_namespace() != 0 { return failure("making the cgroup namespace") }
            // While the guest's /proc is still here: its IPC settings are now the container's IPC
            // namespace's, its network ones the VM's (the pod's) network's.
            for setting in sysctls {
                guard let equals = setting.firstIndex(of: UInt8(ascii: "=")), !setting[..<equals].contains(UInt8(ascii: "/")) else {
                    return Bytes.of("a sysctl is not NAME=VALUE")
                }
                let path = Bytes.of("/proc/sys/") + setting[..<equals].map { $0 == UInt8(ascii: ".") ? UInt8(ascii: "/") : $0 }
                let fd = Bytes.withCString(path) { agent_open($0, O_WRONLY) }
                guard fd >= 0 else { return failure("sysctl ", Array(setting[..<equals])) }
                let value = Array(setting[(equals + 1)...])
                let written = value.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                if written != value.count { return failure("sysctl ", Array(setting)) }
            }
            // In the order berth-shim makes them: the kernel filesystems (whose sources, such as the
            // guest's /dev for --privileged, are the guest's: before the root moves), the nodes over
            // them, the root read-only, then read-only paths and masks over those.
            for mount in mounts {
                let target = root + mount.target
                Session.makeDirectories(target, includingLast: true)
                let mounted = Bytes.withCString(mount.source) { source in
                    Bytes.withCString(target) { target in
                        Bytes.withCString(mount.fstype) { fstype in
                            Bytes.withCString(mount.options) { agent_mount(source, target, fstype, mount.flags, $0) }
                        }
                    }
                }
                if mounted != 0 { return failure("mounting ", mount.target) }
            }
            if Bytes.withCString(root, { agent_move_root($0) }) != 0 { return failure("entering the container's root") }
            if createDevices, agent_create_devices() != 0 { return failure("creating the device nodes") }
            if readonlyRoot, agent_make_root_readonly() != 0 { return failure("making the root read-only") }
            for path in readonlyPaths where Bytes.withCString(path, { agent_make_readonly($0) }) != 0 {
                return failure("making read-only ", path)
            }
            for path in maskedPaths where Bytes.withCString(path, { agent_mask($0) }) != 0 { return failure("masking ", path) }
        case .containers:
            guard container > 0 else { return Bytes.of("the container's process has ended") }
            if joiningCgroup, agent_join_container_cgroup() != 0 { return failure("joining the container's cgroup") }
            if agent_enter_namespaces(container) != 0 { return failure("entering the container's namespaces") }
        }
        return nil
    }

    /// In the child, last before the exec: limits, then the container's user and capabilities,
    /// with the seccomp filter loaded while it still may be (without no_new_privs only a process
    /// with CAP_SYS_ADMIN may load one). The failure's message, or nil.
    func dropPrivileges(uid: UInt32, gid: UInt32) -> [UInt8]? {
        for limit in limits where agent_set_limit(limit.resource, limit.soft, limit.hard) != 0 {
            return failure("setting a resource limit")
        }
        guard let identity else {
            guard setgid(gid) == 0, setuid(uid) == 0 else { return failure("setting the user") }
            return nil
        }
        if !noNewPrivileges, let failed = loadSeccomp() { return failed }
        let step = groups.withUnsafeBufferPointer { list in
            agent_switch_identity(uid, gid, list.baseAddress, Int32(list.count), identity.bounding, identity.effective,
                                  identity.permitted, identity.inheritable, identity.ambient)
        }
        if let step { return failure(Bytes.from(step)) }
        if noNewPrivileges {
            if agent_set_no_new_privileges() != 0 { return failure("no_new_privs") }
            if let failed = loadSeccomp() { return failed }
        }
        return nil
    }

    private func loadSeccomp() -> [UInt8]? {
        guard !seccompFilter.isEmpty else { return nil }
        let loaded = seccompFilter.withUnsafeBufferPointer { agent_load_seccomp($0.baseAddress, Int32($0.count)) }
        return loaded == 0 ? nil : failure("loading the seccomp filter")
    }

    private func failure(_ what: StaticString, _ detail: [UInt8] = []) -> [UInt8] {
        failure(Bytes.of(what) + detail)
    }

    private func failure(_ what: [UInt8]) -> [UInt8] {
        what + Bytes.of(": ") + Bytes.from(strerror(agent_errno()))
    }
}
