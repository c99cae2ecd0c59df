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
