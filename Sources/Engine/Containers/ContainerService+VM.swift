import APIModels
import Foundation
import NativeRuntime
import OCI
import VMRuntime

/// Where utility VMs come from: the cache holding guest kernels, agents and layer disks, and
/// libvirt.
public struct UtilityVMSettings: Sendable {
    public var cacheDirectory: String
    public var libvirtURI: String
    public var accelerator: UtilityVMDefinition.Accelerator
    /// How long a booting VM's agent may take to answer; under the shim launcher's own limit.
    public var agentTimeoutSeconds: Int

    public init(cacheDirectory: String, libvirtURI: String, accelerator: UtilityVMDefinition.Accelerator, agentTimeoutSeconds: Int = 30) {
        self.cacheDirectory = cacheDirectory
        self.libvirtURI = libvirtURI
        self.accelerator = accelerator
        self.agentTimeoutSeconds = agentTimeoutSeconds
    }
}

extension ContainerRecord {
    /// The platform decision put it in a utility VM (a foreign architecture, or `--isolation=vm`; a
    /// container made before decisions were recorded: `vm`, or `hyperv` as the docker CLI says it).
    public var runsInVM: Bool {
        state.platformDecision.map { $0.mode == .systemVM } ?? ["vm", "hyperv"].contains(hostConfig.Isolation?.lowercased() ?? "")
    }

    /// The accelerator the user forced, checked at creation. KVM runs only the host's own architecture.
    static func requestedAccelerator(_ host: HostConfig, decision: PlatformDecision?, foreign: Bool) throws
        -> UtilityVMDefinition.Accelerator?
    {
        guard let text = host.Annotations?[HostConfig.vmAcceleratorAnnotation] else { return nil }
        guard let accelerator = UtilityVMDefinition.Accelerator(rawValue: text.lowercased()) else {
            throw ContainerError.invalid("invalid VM accelerator: \(text) (use kvm or tcg)")
        }
        guard decision.map({ $0.mode == .systemVM }) ?? true else {
            throw ContainerError.invalid("a VM accelerator applies only to containers in utility VMs (--isolation=vm)")
        }
        if accelerator == .kvm, foreign {
            throw ContainerError.invalid("KVM runs only this host's own architecture: use --vm-accel tcg for another")
        }
        if accelerator == .kvm, access("/dev/kvm", R_OK | W_OK) != 0 {
            throw ContainerError.invalid("KVM is not available on this host: /dev/kvm cannot be opened")
        }
        return accelerator
    }
}

/// Containers in utility VMs: the VM is a transient libvirt domain booting the guest kernel; each
/// image layer is a read-only disk, the container's writable layer a disk of its own, and the
/// guest agent assembles the overlay and runs the process for the container's shim.
extension ContainerService {
    static func domainName(_ id: String) -> String { "berth-\(id.prefix(12))" }

    /// Where the agent assembles the container's root in the guest.
    static let guestRoot = "/rootfs"

    /// Refuses what utility-VM containers cannot do yet, with a clear reason.
    func requireNative(_ record: ContainerRecord, _ operation: String) throws {
        if record.runsInVM {
            throw ContainerError.invalid("\(operation) is not available for containers in utility VMs yet (container \(record.name))")
        }
    }

    /// Boots the container's VM and returns the shim's spec, QEMU's pid and what was booted. On failure the VM is gone.
    func bootVM(_ record: ContainerRecord, plan: ContainerLaunchPlan) async throws
        -> (spec: LaunchSpec, qemuPID: Int32, details: ContainerRuntimeDetails.UtilityVM)
    {
        guard let settings = utilityVMs else { throw ContainerError.invalid("this berthd was started without utility VMs") }
        // The image's architecture: the host's for --isolation=vm, another for a foreign image.
        let imageArchitecture = (try? Platform(parsing: record.platform))?.architecture ?? plan.hostArchitecture
        let architecture = GuestKernel.architecture(forPlatform: imageArchitecture)
        guard let machine = GuestMachine.forPlatform(architecture: imageArchitecture) else {
            throw ContainerError.startFailed(code: 125, message: "utility VMs for \(record.platform) are not available")
        }
        guard let guest = GuestKernel.select(architecture: architecture, cacheDirectory: settings.cacheDirectory) else {
            throw ContainerError.startFailed(code: 125, message: "no guest kernel for \(architecture) VMs: run `vm-images/build "
                + "\(architecture)` (make build does), and `guest-kernel/build \(architecture)` for the faster minimal kernel")
        }
        // Before anything is made: libvirtd may be down.
        let hypervisor = try self.hypervisor(settings)
        await vmTeardowns.removeValue(forKey: record.id)?.value
        let id = record.id
        let directory = paths.vmDirectory(id)
        // QEMU runs as libvirt-qemu: it must be able to pass through berthd's directories.
        for path in [paths.base, paths.vmRoot, directory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o711)
        }
        let disks = GuestDisks(directory: settings.cacheDirectory + "/layer-disks")
        let layers = zip(plan.layers, plan.chainIDs).map { ($0, $1) }
        let writable = directory + "/writable.ext4"
        let layerDisks = try await runBlocking {
            if !FileManager.default.fileExists(atPath: writable) { try GuestDisks.makeWritableDisk(at: writable, sizeMiB: 8192) }
            return try layers.map { try disks.layerDisk(snapshot: $0.0, chainID: $0.1) }
        }
        var definition = UtilityVMDefinition(name: Self.domainName(id), kernel: guest.kernel, initramfs: guest.initramfs,
                                             consoleLog: directory + "/console.log", agentSocket: directory + "/agent.sock")
        definition.machine = machine
        // KVM runs only the host's own architecture.
        let foreign = imageArchitecture != plan.hostArchitecture
        definition.accelerator = try ContainerRecord.requestedAccelerator(record.hostConfig, decision: record.state.platformDecision,
                                                                          foreign: foreign)
            ?? (foreign ? .tcg : settings.accelerator)
        if machine == .x86_64, FileManager.default.isReadableFile(atPath: UtilityVMDefinition.qboot) {
            definition.firmware = UtilityVMDefinition.qboot
        }
        if let memory = record.hostConfig.Memory, memory > 0 { definition.memoryMiB = max(Int(memory >> 20), 128) }
        if let cpus = record.hostConfig.NanoCpus, cpus > 0 { definition.vcpus = Int((cpus + 999_999_999) / 1_000_000_000) }
        definition.disks = layerDisks.map { .init(path: $0, readOnly: true) } + [.init(path: writable, readOnly: false)]
        let userMounts = Self.guestUserMounts(record, paths: paths)
        definition.shares = userMounts.shares
        let networks = try networkCatalog.all()
        definition.interfaces = record.attachments.compactMap { attachment in
            guard let network = networks.first(where: { $0.id == attachment.networkID }), let mac = attachment.macAddress,
                  let device = attachment.hostInterface else { return nil }
            return .init(bridge: network.bridge, macAddress: mac, device: device)
        }
        unlink(definition.agentSocket)
        let domain = definition
        try await runBlocking { try hypervisor.create(domain) }
        let pidText = try? String(contentsOfFile: "/run/libvirt/qemu/\(definition.name).pid", encoding: .utf8)
        let qemuPID = Int32(pidText?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0

        var spec = try plan.launchSpec(cgroup: ContainerCgroup(v1: [:], unified: nil, unifiedHasControllers: false), seccompFilter: nil)
        spec.namespaces = []
        spec.mounts = []
        spec.vmSocket = definition.agentSocket
        spec.vmAgentTimeoutSeconds = settings.agentTimeoutSeconds
        // Disks appear in order: vda… for the layers (top first, as overlay lists them), the last for writes.
        func device(_ index: Int) -> String { "/dev/" + UtilityVMDefinition.diskName(index) }
        spec.vmMounts = layerDisks.indices.map { .init(source: device($0), target: "/layers/\($0)", type: "ext4", flags: [.readOnly]) }
            + [.init(source: device(layerDisks.count), target: "/writable", type: "ext4", flags: []),
               .init(source: "overlay", target: Self.guestRoot, type: "overlay", flags: [],
                     data: "lowerdir=" + layerDisks.indices.map { "/layers/\($0)" }.joined(separator: ":")
                         + ",upperdir=/writable/upper,workdir=/writable/work")]
            + Self.guestKernelFilesystems(shmSize: record.hostConfig.ShmSize.flatMap { $0 > 0 ? $0 : nil } ?? 64 << 20)
            + userMounts.mounts
        if !record.attachments.isEmpty {
            (spec.vmRequests, spec.vmMounts) = try guestNetwork(record, networks: networks, mounts: spec.vmMounts)
        }
        spec.vmRoot = Self.guestRoot
        let details = ContainerRuntimeDetails.UtilityVM(
            Domain: definition.name, Accelerator: definition.accelerator.rawValue, GuestKernel: "\(guest.release) (\(guest.origin.rawValue))",
            MemoryMiB: definition.memoryMiB, VCPUs: definition.vcpus)
        return (spec, qemuPID, details)
    }

    /// The container's volumes and binds as 9p shares of their host directories (tags `berth0`, …),
    /// mounted in the guest where the container wants them; tmpfs mounts are the guest's own.
    static func guestUserMounts(_ record: ContainerRecord, paths: ContainerPaths)
        -> (shares: [UtilityVMDefinition.Share], mounts: [LaunchSpec.Mount])
    {
        var shares: [UtilityVMDefinition.Share] = []
        var mounts: [LaunchSpec.Mount] = []
        for mount in record.state.mounts ?? [] {
            let readOnly: MountFlags = mount.readOnly ? .readOnly : []
            switch mount.kind {
            case .volume, .bind:
                let tag = "berth\(shares.count)"
                shares.append(.init(path: mount.kind == .bind ? mount.source : paths.volumeData(mount.volume ?? ""), tag: tag,
                                    readOnly: mount.readOnly))
                // 9P2000.L keeps owners, modes and links; no client cache, so writes from the host and
                // from other containers show at once.
                mounts.append(.init(source: tag, target: guestRoot + mount.target, type: "9p", flags: readOnly,
                                    data: "trans=virtio,version=9p2000.L,msize=262144,cache=none"))
            case .tmpfs:
                mounts.append(.init(source: "tmpfs", target: guestRoot + mount.target, type: "tmpfs", flags: readOnly,
                                    data: mount.options))
            }
        }
        return (shares, mounts)
    }

    /// The guest's side of the container's networks: each interface (found by its MAC address)
    /// addressed, the default route through the first network that leaves the host, and this
    /// start's /etc/hosts and /etc/resolv.conf written in the guest and bound over the image's.
    func guestNetwork(_ record: ContainerRecord, networks: [NetworkRecord], mounts: [LaunchSpec.Mount]) throws
        -> (requests: [LaunchSpec.VMRequest], mounts: [LaunchSpec.Mount])
    {
        var requests: [LaunchSpec.VMRequest] = []
        var routed = false
        for attachment in record.attachments {
            guard let network = networks.first(where: { $0.id == attachment.networkID }), let address = attachment.address,
                  let mac = attachment.macAddress else { continue }
            var tokens = [(key: "mac", value: mac), ("address", address.description), ("prefix", String(network.subnet.prefixLength))]
            if !routed, !network.internal {
                tokens.append(("gateway", network.gateway.description))
                routed = true
            }
            requests.append(.init(kind: "a", tokens: tokens))
        }
        var binds: [LaunchSpec.Mount] = []
        for (file, host) in [("hosts", paths.hosts(record.id)), ("resolv.conf", paths.resolvConf(record.id))] {
            let text = try String(contentsOfFile: host, encoding: .utf8)
            requests.append(.init(kind: "w", tokens: [("path", "/run/berth/" + file), ("data", text)]))
            binds.append(.init(source: "/run/berth/" + file, target: Self.guestRoot + "/etc/" + file, type: "", flags: [.bind]))
        }
        // After the root is assembled, before the container's own mounts (which may cover /etc).
        let rootIndex = (mounts.firstIndex { $0.target == Self.guestRoot } ?? mounts.count - 1) + 1
        var ordered = mounts
        ordered.insert(contentsOf: binds, at: min(rootIndex, ordered.count))
        return (requests, ordered)
    }

    /// What a container sees of the kernel, in the guest: the VM is the boundary, so its whole /dev.
    static func guestKernelFilesystems(shmSize: Int64) -> [LaunchSpec.Mount] {
        [.init(source: "proc", target: guestRoot + "/proc", type: "proc", flags: []),
         .init(source: "sysfs", target: guestRoot + "/sys", type: "sysfs", flags: [.readOnly]),
         .init(source: "/dev", target: guestRoot + "/dev", type: "", flags: [.bind]),
         .init(source: "shm", target: guestRoot + "/dev/shm", type: "tmpfs", flags: [], data: "mode=1777,size=\(shmSize)")]
    }

    /// An exec in a VM container: the container's shim relays it to the agent, which runs it in the
    /// container's root.
    func vmExecSpec(_ plan: ContainerLaunchPlan, _ exec: ExecConfig, execID: String) throws -> LaunchSpec {
        var spec = try plan.execSpec(exec, execID: execID)
        spec.vmRelay = paths.socket(plan.record.id)
        spec.vmRoot = Self.guestRoot
        return spec
    }

    /// The last lines of a VM container's serial console, to say why its VM ended.
    func consoleTail(_ record: ContainerRecord) -> String {
        guard record.runsInVM,
              let text = try? String(contentsOfFile: paths.vmDirectory(record.id) + "/console.log", encoding: .utf8) else { return "" }
        let lines = text.split(whereSeparator: \.isNewline).suffix(5)
        return lines.isEmpty ? "" : "; its console ended with: " + lines.joined(separator: " | ")
    }

    /// Ends the container's VM if it still runs, in the background: nothing of a transient domain
    /// remains after, and its agent's socket goes too (QEMU leaves it when killed). The writable
    /// disk stays with the container.
    func endVM(_ id: String) {
        let hypervisor = utilityVMs.flatMap { try? self.hypervisor($0) }
        let name = Self.domainName(id), socket = paths.vmDirectory(id) + "/agent.sock"
        let previous = vmTeardowns[id]
        vmTeardowns[id] = Task.detached {
            await previous?.value
            try? hypervisor?.destroy(name)
            unlink(socket)
        }
    }
}
