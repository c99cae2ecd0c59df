import Foundation
import NativeRuntime
import VMRuntime

/// Where utility VMs come from: the cache holding guest kernels, agents and layer disks, and
/// libvirt.
public struct UtilityVMSettings: Sendable {
    public var cacheDirectory: String
    public var libvirtURI: String
    public var accelerator: UtilityVMDefinition.Accelerator

    public init(cacheDirectory: String, libvirtURI: String, accelerator: UtilityVMDefinition.Accelerator) {
        self.cacheDirectory = cacheDirectory
        self.libvirtURI = libvirtURI
        self.accelerator = accelerator
    }
}

extension ContainerRecord {
    /// `--isolation=vm`, or `hyperv` as the docker CLI passes it: the container runs in a utility VM.
    var runsInVM: Bool { ["vm", "hyperv"].contains(hostConfig.Isolation?.lowercased() ?? "") }
}

/// Containers in utility VMs: the VM is a transient libvirt domain booting the guest kernel; each
/// image layer is a read-only disk, the container's writable layer a disk of its own, and the
/// guest agent assembles the overlay and runs the process for the container's shim.
extension ContainerService {
    static func domainName(_ id: String) -> String { "berth-\(id.prefix(12))" }

    /// Refuses what utility-VM containers cannot do yet, with a clear reason.
    func requireNative(_ record: ContainerRecord, _ operation: String) throws {
        if record.runsInVM {
            throw ContainerError.invalid("\(operation) is not available for containers in utility VMs yet (container \(record.name))")
        }
    }

    /// Boots the container's VM and returns the shim's spec and QEMU's pid. On failure the VM is gone.
    func bootVM(_ record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> (spec: LaunchSpec, qemuPID: Int32) {
        guard let settings = utilityVMs else { throw ContainerError.invalid("this berthd was started without utility VMs") }
        let architecture = GuestKernel.architecture(forPlatform: plan.hostArchitecture)
        guard let guest = GuestKernel.select(architecture: architecture, cacheDirectory: settings.cacheDirectory) else {
            throw ContainerError.startFailed(code: 125, message: "no guest kernel for \(architecture) VMs: run `vm-images/build "
                + "\(architecture)` (make build does), and `guest-kernel/build \(architecture)` for the faster minimal kernel")
        }
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
        definition.accelerator = settings.accelerator
        if let memory = record.hostConfig.Memory, memory > 0 { definition.memoryMiB = max(Int(memory >> 20), 128) }
        if let cpus = record.hostConfig.NanoCpus, cpus > 0 { definition.vcpus = Int((cpus + 999_999_999) / 1_000_000_000) }
        definition.disks = layerDisks.map { .init(path: $0, readOnly: true) } + [.init(path: writable, readOnly: false)]
        unlink(definition.agentSocket)
        let hypervisor = try self.hypervisor(settings)
        let domain = definition
        try await runBlocking { try hypervisor.create(domain) }
        let pidText = try? String(contentsOfFile: "/run/libvirt/qemu/\(definition.name).pid", encoding: .utf8)
        let qemuPID = Int32(pidText?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0

        var spec = try plan.launchSpec(cgroup: ContainerCgroup(v1: [:], unified: nil, unifiedHasControllers: false), seccompFilter: nil)
        spec.namespaces = []
        spec.mounts = []
        spec.vmSocket = definition.agentSocket
        // Disks appear in order: vda… for the layers (top first, as overlay lists them), the last for writes.
        func device(_ index: Int) -> String { "/dev/" + UtilityVMDefinition.diskName(index) }
        spec.vmMounts = layerDisks.indices.map { .init(source: device($0), target: "/layers/\($0)", type: "ext4", flags: [.readOnly]) }
            + [.init(source: device(layerDisks.count), target: "/writable", type: "ext4", flags: []),
               .init(source: "overlay", target: "/rootfs", type: "overlay", flags: [],
                     data: "lowerdir=" + layerDisks.indices.map { "/layers/\($0)" }.joined(separator: ":")
                         + ",upperdir=/writable/upper,workdir=/writable/work")]
        spec.vmRoot = "/rootfs"
        return (spec, qemuPID)
    }

    /// The last lines of a VM container's serial console, to say why its VM ended.
    func consoleTail(_ record: ContainerRecord) -> String {
        guard record.runsInVM,
              let text = try? String(contentsOfFile: paths.vmDirectory(record.id) + "/console.log", encoding: .utf8) else { return "" }
        let lines = text.split(whereSeparator: \.isNewline).suffix(5)
        return lines.isEmpty ? "" : "; its console ended with: " + lines.joined(separator: " | ")
    }

    /// Ends the container's VM if it still runs; nothing of a transient domain remains after.
    func endVM(_ id: String) {
        guard let settings = utilityVMs, let hypervisor = try? hypervisor(settings) else { return }
        try? hypervisor.destroy(Self.domainName(id))
    }
}
