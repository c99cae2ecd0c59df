/// What a runtime can do for its containers beyond running them; the service refuses the rest,
/// naming the operation.
public struct ContainerRuntimeCapabilities: OptionSet, Sendable {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// Freezing and thawing the container's processes (`pause`, `commit --pause`).
    public static let pause = Self(rawValue: 1 << 0)
    /// The container's processes are the host's, whose pids berthd may signal (a VM's are the guest's).
    public static let hostProcesses = Self(rawValue: 1 << 1)
    /// Networks joined and left while the container runs.
    public static let liveNetworkChanges = Self(rawValue: 1 << 3)
    /// The container's network namespace is on this host, joined through veth pairs (a VM's
    /// network is its TAP devices instead).
    public static let hostNetworkNamespace = Self(rawValue: 1 << 4)
}
