/// How the host mounts cgroups, which decides how the native runtime applies resource limits.
public struct CgroupReport: Codable, Sendable, Equatable {
    public enum Layout: String, Codable, Sendable {
        /// Only v1 hierarchies under `/sys/fs/cgroup/<controller>`.
        case v1
        /// v1 controllers plus an (often controller-less) cgroup2 mount, as systemd's hybrid mode.
        case hybrid
        /// A single cgroup2 hierarchy at `/sys/fs/cgroup`.
        case v2
    }

    public var layout: Layout
    /// Controllers bound to v1 hierarchies.
    public var v1Controllers: [String]
    /// Where cgroup2 is mounted, if anywhere.
    public var unifiedMountPoint: String?
    /// Controllers available in the cgroup2 root.
    public var v2Controllers: [String]

    public init(layout: Layout, v1Controllers: [String], unifiedMountPoint: String?, v2Controllers: [String]) {
        self.layout = layout
        self.v1Controllers = v1Controllers
        self.unifiedMountPoint = unifiedMountPoint
        self.v2Controllers = v2Controllers
    }

    /// Docker's `CgroupVersion`: "2" only for a pure v2 host.
    public var dockerVersion: String { layout == .v2 ? "2" : "1" }
}
