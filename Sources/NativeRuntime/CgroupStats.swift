/// A reading of one container's cgroups, the numbers `docker stats` shows.
public struct CgroupStats: Sendable, Equatable {
    public var memoryUsage: UInt64 = 0
    public var memoryMaxUsage: UInt64 = 0
    public var memoryLimit: UInt64 = 0
    /// Page cache counted in the usage, which `docker stats` subtracts.
    public var memoryCache: UInt64 = 0
    public var memoryStat: [String: UInt64] = [:]
    /// Total CPU time in nanoseconds.
    public var cpuUsage: UInt64 = 0
    public var cpuUserUsage: UInt64 = 0
    public var cpuSystemUsage: UInt64 = 0
    public var perCPUUsage: [UInt64] = []
    public var pidsCurrent: UInt64 = 0
    public var pidsLimit: UInt64?

    public init() {}
}
