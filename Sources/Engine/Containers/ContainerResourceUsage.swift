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
    /// Per interface of the container's network namespace (loopback aside); empty without one.
    public var networks: [String: InterfaceCounters] = [:]

    /// One interface's traffic as the kernel counts it (`/proc/net/dev`).
    public struct InterfaceCounters: Sendable, Equatable {
        public var receivedBytes: UInt64
        public var receivedPackets: UInt64
        public var receiveErrors: UInt64
        public var receiveDrops: UInt64
        public var sentBytes: UInt64
        public var sentPackets: UInt64
        public var sendErrors: UInt64
        public var sendDrops: UInt64
    }

    /// Parses `/proc/<pid>/net/dev`: two header lines, then `name: 8 receive and 8 transmit counters`.
    static func interfaces(_ text: String) -> [String: InterfaceCounters] {
        var result: [String: InterfaceCounters] = [:]
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let fields = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", fields.count >= 12 else { continue }
            result[name] = InterfaceCounters(
                receivedBytes: fields[0], receivedPackets: fields[1], receiveErrors: fields[2], receiveDrops: fields[3],
                sentBytes: fields[8], sentPackets: fields[9], sendErrors: fields[10], sendDrops: fields[11])
        }
        return result
    }

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
