import NativeRuntime

/// The runtimes a container service runs containers with; each container's platform decision
/// picks one at creation (`ContainerRecord.runsInVM`).
public struct ContainerRuntimes: Sendable {
    public var native: any ContainerRuntime
    public var utilityVM: any ContainerRuntime

    public init(native: any ContainerRuntime, utilityVM: any ContainerRuntime) {
        self.native = native
        self.utilityVM = utilityVM
    }

    /// berthd's: natively through cgroups and the shim, and in utility VMs through libvirt.
    public init(cgroups: CgroupManager, launcher: ShimLauncher, paths: ContainerPaths, utilityVMs: UtilityVMSettings) {
        self.init(native: NativeContainerRuntime(cgroups: cgroups, launcher: launcher, paths: paths),
                  utilityVM: UtilityVMContainerRuntime(settings: utilityVMs, launcher: launcher, paths: paths))
    }

    /// Ends the helper VMs waiting for a next request on a stopped VM container's disks: at shutdown.
    public func endIdleHelperVMs() async {
        await (utilityVM as? UtilityVMContainerRuntime)?.helperVMs.endAllIdle()
    }

    public func runtime(for record: ContainerRecord) -> any ContainerRuntime {
        record.runsInVM ? utilityVM : native
    }
}
