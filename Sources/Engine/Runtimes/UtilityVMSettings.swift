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
    /// Where a clone that fails and falls back to a cold boot is reported.
    public var logger: Logger

    public init(cacheDirectory: String, libvirtURI: String, accelerator: UtilityVMDefinition.Accelerator, agentTimeoutSeconds: Int = 30,
                templates: VMTemplateStore? = nil, logger: Logger = Logger(label: "berth.vm")) {
        self.cacheDirectory = cacheDirectory
        self.libvirtURI = libvirtURI
        self.accelerator = accelerator
        self.agentTimeoutSeconds = agentTimeoutSeconds
        self.templates = templates
        self.logger = logger
    }
}
