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

extension CgroupStats {
    /// A cgroup2 directory's reading, its files read through `file` (by name, e.g. `memory.stat`):
    /// a VM container's come from its guest. `memoryWhenUnlimited` stands for a `max` limit.
    public init(unifiedFiles file: (String) -> String?, memoryWhenUnlimited: UInt64) {
        func number(_ name: String) -> UInt64? { file(name).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        memoryUsage = number("memory.current") ?? 0
        memoryMaxUsage = number("memory.peak") ?? memoryUsage
        memoryLimit = number("memory.max") ?? memoryWhenUnlimited
        memoryStat = Self.keyedValues(file("memory.stat") ?? "")
        memoryCache = memoryStat["inactive_file"] ?? 0
        let cpu = Self.keyedValues(file("cpu.stat") ?? "")
        cpuUsage = (cpu["usage_usec"] ?? 0) * 1000
        cpuUserUsage = (cpu["user_usec"] ?? 0) * 1000
        cpuSystemUsage = (cpu["system_usec"] ?? 0) * 1000
        pidsCurrent = number("pids.current") ?? 0
        pidsLimit = number("pids.max")
    }

    /// A flat keyed file (`memory.stat`, `cpu.stat`): one "key value" per line.
    public static func keyedValues(_ text: String) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }
}
