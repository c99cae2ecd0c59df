import APIModels
import Foundation

extension ContainerService {
    /// `docker update`: new resource limits, applied at once to a running container, and a new
    /// restart policy; kept with the container for its next starts. Zero values change nothing.
    public func update(_ reference: String, _ update: ContainerUpdateRequest) async throws -> [String] {
        var record = try find(reference)
        var host = record.hostConfig
        func set<Value: Equatable>(_ value: Value?, unless unchanged: Value, _ keyPath: WritableKeyPath<HostConfig, Value?>) {
            if let value, value != unchanged { host[keyPath: keyPath] = value }
        }
        set(update.Memory, unless: 0, \.Memory)
        set(update.MemorySwap, unless: 0, \.MemorySwap)
        set(update.MemoryReservation, unless: 0, \.MemoryReservation)
        set(update.NanoCpus, unless: 0, \.NanoCpus)
        set(update.CpuShares, unless: 0, \.CpuShares)
        set(update.CpuPeriod, unless: 0, \.CpuPeriod)
        set(update.CpuQuota, unless: 0, \.CpuQuota)
        set(update.CpusetCpus, unless: "", \.CpusetCpus)
        set(update.CpusetMems, unless: "", \.CpusetMems)
        set(update.PidsLimit, unless: 0, \.PidsLimit)
        if let policy = update.RestartPolicy, !(policy.Name ?? "").isEmpty {
            let rule = try RestartRule(policy)
            if rule != .never, host.AutoRemove == true {
                throw ContainerError.invalid("Restart policy cannot be updated because AutoRemove is enabled for the container")
            }
            host.RestartPolicy = policy
        }
        if let memory = host.Memory, memory > 0, memory < 6 << 20 {
            throw ContainerError.invalid("Minimum memory limit allowed is 6MB")
        }
        if let swap = host.MemorySwap, swap > 0, let memory = host.Memory, memory > 0, swap < memory {
            throw ContainerError.invalid(
                "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
        }
        if host.NanoCpus ?? 0 > 0, host.CpuQuota ?? 0 > 0 {
            throw ContainerError.invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        }
        let resourcesChanged = ContainerLaunchPlan.cgroupLimits(host) != ContainerLaunchPlan.cgroupLimits(record.hostConfig)
        var request = record.request
        request.hostConfig = host
        let previous = record
        record.request = request
        if resourcesChanged, record.state.status == .running || record.state.status == .paused {
            try runtime(for: record).updateResources(of: record)
        }
        do {
            try catalog.updateRequest(record.id, request)
        } catch {
            // The limits in force stay those the record names.
            if resourcesChanged, previous.state.isActive { try? runtime(for: previous).updateResources(of: previous) }
            throw error
        }
        await publish("update", record)
        return []
    }
}
