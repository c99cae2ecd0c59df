import OCI

/// Everything the host probe learned about this machine, as served in `/info` under `Berth`.
public struct HostReport: Codable, Sendable, Equatable {
    public var operatingSystem: String
    public var osVersion: String
    public var kernelVersion: String
    /// The CPU as `uname -m` names it (`x86_64`).
    public var machine: String
    public var hostPlatform: Platform
    public var cpus: Int
    public var memoryBytes: Int64
    public var cgroups: CgroupReport
    public var overlayfs: FeatureCheck
    public var seccomp: FeatureCheck
    public var userNamespaces: FeatureCheck
    public var binfmt: BinfmtReport
    public var systemEmulators: [SystemEmulator]
    public var libvirt: LibvirtReport
    public var accelerator: AcceleratorReport
    /// Whether libvirt's QEMU user can reach the VM files under berthd's data root and cache.
    public var vmFileAccess: FeatureCheck
    /// Every platform this host can run and how, host platform first.
    public var platforms: [PlatformSupport]

    public init(
        operatingSystem: String, osVersion: String, kernelVersion: String, machine: String,
        hostPlatform: Platform, cpus: Int, memoryBytes: Int64, cgroups: CgroupReport,
        overlayfs: FeatureCheck, seccomp: FeatureCheck, userNamespaces: FeatureCheck,
        binfmt: BinfmtReport, systemEmulators: [SystemEmulator], libvirt: LibvirtReport,
        accelerator: AcceleratorReport, vmFileAccess: FeatureCheck = FeatureCheck(available: true, detail: "not checked"),
        guestKernels: [String: String] = [:]
    ) {
        self.operatingSystem = operatingSystem
        self.osVersion = osVersion
        self.kernelVersion = kernelVersion
        self.machine = machine
        self.hostPlatform = hostPlatform
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.cgroups = cgroups
        self.overlayfs = overlayfs
        self.seccomp = seccomp
        self.userNamespaces = userNamespaces
        self.binfmt = binfmt
        self.systemEmulators = systemEmulators
        self.libvirt = libvirt
        self.accelerator = accelerator
        self.vmFileAccess = vmFileAccess
        self.platforms = PlatformSupport.derive(
            host: hostPlatform, emulators: systemEmulators, binfmt: binfmt, accelerator: accelerator, guestKernels: guestKernels)
    }
}

/// A yes/no capability with the evidence behind the answer.
public struct FeatureCheck: Codable, Sendable, Equatable {
    public var available: Bool
    public var detail: String

    public init(available: Bool, detail: String) {
        self.available = available
        self.detail = detail
    }
}
