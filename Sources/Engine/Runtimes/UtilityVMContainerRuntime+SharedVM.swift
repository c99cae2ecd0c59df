import Foundation
import Glibc
import NativeRuntime
import VMRuntime

/// Containers that join another container's utility VM (`--network container:NAME` in a VM, as a
/// pod's containers join their sandbox's): the VM's own container's shim holds the agent's port and
/// relays theirs. Each has its own namespaces and cgroup in the guest, its image's layers as disks
/// plugged into the running VM (shared by every container of the VM that has them), and its writes
/// on the VM's writable disk; the network, kernel and memory are the VM's.
extension UtilityVMContainerRuntime {
    /// The container whose VM a container joins, by ID; nil for a container with a VM of its own.
    static func sharedVMHostID(_ record: ContainerRecord) -> String? {
        record.hostConfig.NetworkMode.flatMap { $0.hasPrefix("container:") ? String($0.dropFirst("container:".count)) : nil }
    }

    /// The agent's name for a container in a VM it shares: its cgroup is `container-NAME`.
    static func sharedVMName(_ id: String) -> String { String(id.prefix(12)) }

    /// Where its root is assembled in the guest, and where its writes go (on the VM's writable disk).
    static func sharedVMRoot(_ name: String) -> String { "/pod/\(name)/rootfs" }
    static func sharedVMUpper(_ name: String) -> String { "/writable/pod/\(name)/upper" }
    static func sharedVMWork(_ name: String) -> String { "/writable/pod/\(name)/work" }

    /// Where a container's writes are in its VM: its own writable disk's upper directory, or its
    /// directory on the writable disk of the VM it joined.
    static func upperDirectory(of record: ContainerRecord) -> String {
        sharedVMHostID(record) == nil ? guestUpper : sharedVMUpper(sharedVMName(record.id))
    }

    /// The shim socket and agent name that reach a container: its own shim's for a VM of its own,
    /// the VM's own container's (with its name) for a container that joined another's VM.
    func agentRoute(_ record: ContainerRecord) -> (socket: String, container: String?) {
        guard let host = Self.sharedVMHostID(record) else { return (paths.socket(record.id), nil) }
        return (paths.socket(host), Self.sharedVMName(record.id))
    }

    /// Starts a container in `host`'s running VM: its layers delivered, then its shim, which sets up
    /// its root through the host's shim and runs it in namespaces and a cgroup of its own.
    func launchInSharedVM(_ record: ContainerRecord, host: ContainerRecord, plan: ContainerLaunchPlan) async throws -> LaunchedContainer {
        guard host.state.status == .running, host.state.pid > 0 else {
            throw ContainerError.conflict("cannot join the utility VM of a non running container: \(host.id)")
        }
        let name = Self.sharedVMName(record.id)
        let root = Self.sharedVMRoot(name)
        let mounts = record.state.mounts ?? []
        let (lowers, hostPaths) = try await sharedVMDeliveries.serialized(host.id) {
            (try await self.deliverLayers(plan, into: host), try await self.bindHostPaths(of: record, into: host))
        }
        var userMounts: [LaunchSpec.Mount] = []
        for mount in mounts {
            let readOnly: MountFlags = mount.readOnly ? .readOnly : []
            if mount.kind == .tmpfs {
                userMounts.append(.init(source: "tmpfs", target: root + mount.target, type: "tmpfs",
                                        flags: readOnly.union([.noSetuid, .noDevices, .noExec]), data: mount.options))
            } else if let shared = hostPaths[mount.target] {
                userMounts.append(.init(source: shared, target: root + mount.target, type: "", flags: readOnly.union(.bind)))
            }
        }
        var spec = try guestLaunchSpec(plan, architecture: Self.imageArchitecture(record, plan: plan))
        var vm = LaunchSpec.SharedUtilityVM(relay: paths.socket(host.id), container: name, root: root)
        // `--pid` and `--ipc container:` of the VM's own container (a pod's sandbox) share its namespaces in the VM.
        let holder = "container:" + host.id
        vm.pidNamespaceOf = record.hostConfig.PidMode == holder ? "" : nil
        vm.ipcNamespaceOf = record.hostConfig.IpcMode == holder ? "" : nil
        vm.mounts = [.init(source: "overlay", target: root, type: "overlay", flags: [],
                           data: LaunchSpec.overlayOptions(lower: lowers, upper: Self.sharedVMUpper(name), work: Self.sharedVMWork(name)))]
        // The host's name files (its network's), this container's own hostname, bound over the image's.
        for (file, source) in [("hostname", paths.hostname(record.id)), ("hosts", paths.hosts(host.id)), ("resolv.conf", paths.resolvConf(host.id))] {
            guard let text = try? String(contentsOfFile: source, encoding: .utf8) else { continue }
            let guestFile = "/run/berth/pod/\(name)/\(file)"
            vm.requests.append(.init(kind: "w", tokens: [("path", guestFile), ("data", text)]))
            vm.mounts.append(.init(source: guestFile, target: root + "/etc/" + file, type: "", flags: [.bind]))
        }
        vm.mounts += userMounts
        vm.requests += try Self.guestCgroupLimits(plan.cgroupLimits, cgroup: "/sys/fs/cgroup/container-\(name)")
        spec.placement = .sharedUtilityVM(vm)
        let shim = try await shims.launch(spec, containerID: record.id)
        var details = host.state.utilityVM
        details?.Start = "shared with container \(host.name)"
        return LaunchedContainer(pid: host.state.pid, supervisorPID: shim.shimPID, cgroup: nil, utilityVM: details)
    }

    /// The container's volumes and binds, each bound into the VM's pod share on the host (see
    /// `PodShare`), which the guest mounts the first time a container needs it. Returns where the
    /// guest sees each, by the container's target. The caller serializes deliveries into one VM.
    private func bindHostPaths(of record: ContainerRecord, into host: ContainerRecord) async throws -> [String: String] {
        let hostPaths = (record.state.mounts ?? []).filter { $0.kind != .tmpfs }
        guard !hostPaths.isEmpty else { return [:] }
        let directory = paths.vmDirectory(host.id)
        guard let tag = SharedVMContents.read(directory: directory).podShareTag else {
            throw ContainerError.startFailed(code: 125, message: "the utility VM of container \(host.name) has no share for the volumes "
                + "and binds of the containers that join it: start it with --ipc shareable, as a pod's sandbox is")
        }
        let share = PodShare(vmDirectory: directory), member = Self.sharedVMName(record.id)
        let agent = GuestBuiltin(relaySocket: paths.socket(host.id), timeout: .seconds(30))
        let volumeData = paths.volumeData
        return try await runBlocking {
            // What an earlier start of the container left.
            share.release(member: member)
            var contents = SharedVMContents.read(directory: directory)
            var guestPaths: [String: String] = [:]
            do {
                for (index, mount) in hostPaths.enumerated() {
                    let source = mount.kind == .bind ? mount.source : volumeData(mount.volume ?? "")
                    guestPaths[mount.target] = try share.bind(source, member: member, index: index, readOnly: mount.readOnly,
                                                             propagation: ContainerLaunchPlan.propagation(mount.options))
                }
                if !contents.podShareMounted {
                    try agent.mount(source: tag, target: PodShare.guestMountPoint, fstype: "9p", flags: 0, options: Self.ninePOptions)
                    contents.podShareMounted = true
                    try contents.write(directory: directory)
                }
            } catch {
                share.release(member: member)
                throw ContainerError.startFailed(code: 125, message: "giving the utility VM of container \(host.name) the host paths "
                    + "of container \(record.name): \(error)")
            }
            return guestPaths
        }
    }

    /// Each of the image's layers as a read-only disk in the host's VM, mounted at `/pod/layers/N`:
    /// plugged in and mounted the first time a container of the VM needs it (into a blank layer slot
    /// of a clone, through QEMU's monitor; as a new disk of a cold-booted domain, through libvirt,
    /// which the guest finds by its serial). Returns the mount points, top first. The caller
    /// serializes deliveries into one VM.
    private func deliverLayers(_ plan: ContainerLaunchPlan, into host: ContainerRecord) async throws -> [String] {
        let directory = paths.vmDirectory(host.id)
        let disks = GuestDisks(directory: settings.cacheDirectory + "/layer-disks")
        let layers = zip(plan.layers, plan.chainIDs).map { ($0, $1) }
        let agent = GuestBuiltin(relaySocket: paths.socket(host.id), timeout: .seconds(30))
        let clone = QEMUProcess.pid(runDirectory: directory) != nil
        let hypervisor = clone ? nil : try self.hypervisor()
        let templates = settings.templates
        return try await runBlocking {
            var delivered = SharedVMContents.read(directory: directory)
            var targets: [String] = []
            for (snapshot, chainID) in layers {
                if let target = delivered.targets[chainID] {
                    targets.append(target)
                    continue
                }
                let disk = try disks.layerDisk(snapshot: snapshot, chainID: chainID)
                let index = delivered.targets.count
                let source: String
                do {
                    if let hypervisor {
                        // libvirt's name only has to be unique in the domain; the guest names the disk itself.
                        let serial = "berth-layer-\(index)"
                        try hypervisor.plugDisk(disk, serial: serial, target: "vdz" + UtilityVMDefinition.diskName(index).dropFirst(2),
                                                into: Self.domainName(host.id))
                        source = "serial:" + serial
                    } else {
                        guard let templates else { throw QEMUError.failed("the VM is a clone, and templates are off") }
                        let slot = delivered.ownLayers + index
                        try templates.handLayerDisk(disk, toSlot: slot, inCloneIn: directory)
                        source = "/dev/" + UtilityVMDefinition.diskName(slot)
                    }
                    let target = "/pod/layers/\(index)"
                    try agent.mount(source: source, target: target, fstype: "ext4", flags: UInt(MS_RDONLY))
                    delivered.targets[chainID] = target
                    try delivered.write(directory: directory)
                    targets.append(target)
                } catch {
                    throw ContainerError.startFailed(code: 125, message: "giving the utility VM of container \(host.name) a layer: \(error)")
                }
            }
            return targets
        }
    }
}
