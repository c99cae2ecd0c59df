import NativeRuntime

/// One reading of what a container uses (memory, CPU time, processes): the numbers `docker stats` shows.
public struct ContainerResourceUsage: Sendable, Equatable {
    public var memoryUsage: UInt64 = 0
    public var memoryMaxUsage: UInt64 = 0
    public var memoryLimit: UInt64 = 0
    /// Page cache counted in the usage, which `docker stats` subtracts.
    public var memoryCache: UInt64 = 0
    public var memoryStat: [String: UInt64] = [:]
    /// Total CPU time in nanoseconds, and its user and kernel parts.
    public var cpuUsage: UInt64 = 0
    public var cpuUserUsage: UInt64 = 0
    public var cpuSystemUsage: UInt64 = 0
    public var perCPUUsage: [UInt64] = []
    public var pidsCurrent: UInt64 = 0
    public var pidsLimit: UInt64?

    public init() {}

    init(_ reading: CgroupStats) {
        memoryUsage = reading.memoryUsage
        memoryMaxUsage = reading.memoryMaxUsage
        memoryLimit = reading.memoryLimit
        memoryCache = reading.memoryCache
        memoryStat = reading.memoryStat
        cpuUsage = reading.cpuUsage
        cpuUserUsage = reading.cpuUserUsage
        cpuSystemUsage = reading.cpuSystemUsage
        perCPUUsage = reading.perCPUUsage
        pidsCurrent = reading.pidsCurrent
        pidsLimit = reading.pidsLimit
    }
}
