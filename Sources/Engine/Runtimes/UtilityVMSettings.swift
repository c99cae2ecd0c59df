import Logging
import VMRuntime

/// Where utility VMs come from: the cache holding guest kernels, agents and layer disks, libvirt,
/// and the templates clones start from.
public struct UtilityVMSettings: Sendable {
    public var cacheDirectory: String
    public var libvirtURI: String
    public var accelerator: UtilityVMDefinition.Accelerator
    /// How long a booting VM's agent may take to answer; under the shim launcher's own limit.
    public var agentTimeoutSeconds: Int
    /// Booted VMs saved under berthd's root, which VMs start as clones of; nil boots every VM.
    public var templates: VMTemplateStore?
    /// Clones started ahead of the containers that will take them; nil keeps none.
    public var pool: UtilityVMPool?
    /// The host's OCI architecture: its VMs may use KVM, others' run on TCG.
    public var hostArchitecture: String
    /// Why QEMU could not open the VM files (the host probe's words), which refuses every VM start
    /// at once; nil when it can.
    public var unreachableFiles: String?
    /// Where a clone that fails and falls back to a cold boot is reported.
    public var logger: Logger

    public init(cacheDirectory: String, libvirtURI: String, accelerator: UtilityVMDefinition.Accelerator, agentTimeoutSeconds: Int = 30,
                templates: VMTemplateStore? = nil, pool: UtilityVMPool? = nil, hostArchitecture: String = "amd64",
                unreachableFiles: String? = nil, logger: Logger = Logger(label: "berth.vm")) {
        self.cacheDirectory = cacheDirectory
        self.libvirtURI = libvirtURI
        self.accelerator = accelerator
        self.agentTimeoutSeconds = agentTimeoutSeconds
        self.templates = templates
        self.pool = pool
        self.hostArchitecture = hostArchitecture
        self.unreachableFiles = unreachableFiles
        self.logger = logger
    }
}
