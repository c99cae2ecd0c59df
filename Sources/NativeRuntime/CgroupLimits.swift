/// Resource limits as Docker's HostConfig states them; nil leaves the kernel's default.
public struct CgroupLimits: Sendable, Equatable, Codable {
    /// Bytes.
    public var memory: Int64?
    /// Memory plus swap in bytes; -1 for unlimited swap.
    public var memorySwap: Int64?
    /// CPUs × 10⁹ (`--cpus 1.5` is 1_500_000_000).
    public var nanoCPUs: Int64?
    /// Relative weight, 1024 by default.
    public var cpuShares: Int64?
    public var cpuQuota: Int64?
    public var cpuPeriod: Int64?
    /// Processes; -1 or 0 for no limit.
    public var pidsLimit: Int64?
    /// Soft limit in bytes (`--memory-reservation`): what the kernel reclaims down to under pressure.
    public var memoryReservation: Int64?
    /// 0…100 (`--memory-swappiness`), cgroup v1 only; nil or -1 keeps the parent's.
    public var memorySwappiness: Int64?
    /// CPUs and memory nodes the container may use, in the kernel's list format (`0-2,4`).
    public var cpusetCpus: String?
    public var cpusetMems: String?
    /// `--device-cgroup-rule`s (`c 7:128 rwm`), allowed on top of Docker's default device list.
    public var deviceRules: [String] = []

    public init(memory: Int64? = nil, memorySwap: Int64? = nil, nanoCPUs: Int64? = nil, cpuShares: Int64? = nil,
                cpuQuota: Int64? = nil, cpuPeriod: Int64? = nil, pidsLimit: Int64? = nil, memoryReservation: Int64? = nil,
                memorySwappiness: Int64? = nil, cpusetCpus: String? = nil, cpusetMems: String? = nil, deviceRules: [String] = []) {
        self.deviceRules = deviceRules
        self.memoryReservation = memoryReservation
        self.memorySwappiness = memorySwappiness
        self.cpusetCpus = cpusetCpus
        self.cpusetMems = cpusetMems
        self.memory = memory
        self.memorySwap = memorySwap
        self.nanoCPUs = nanoCPUs
        self.cpuShares = cpuShares
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.pidsLimit = pidsLimit
    }

    /// The CFS quota and period in microseconds, from `--cpus` or the raw quota.
    var cfsQuota: (quota: Int64, period: Int64)? {
        // The docker CLI sends 0 for "not set".
        let period = cpuPeriod.flatMap { $0 > 0 ? $0 : nil } ?? 100_000
        if let nanoCPUs, nanoCPUs > 0 { return (nanoCPUs * period / 1_000_000_000, period) }
        if let cpuQuota, cpuQuota > 0 { return (cpuQuota, period) }
        return nil
    }
}
