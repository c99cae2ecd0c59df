/// The runtimes a container service runs containers with; each container's platform decision
/// picks one at creation (`ContainerRecord.runsInVM`).
public struct ContainerRuntimes: Sendable {
    public var native: any ContainerRuntime
    public var utilityVM: any ContainerRuntime

    public init(native: any ContainerRuntime, utilityVM: any ContainerRuntime) {
        self.native = native
        self.utilityVM = utilityVM
    }

    public func runtime(for record: ContainerRecord) -> any ContainerRuntime {
        record.runsInVM ? utilityVM : native
    }
}
