import APIModels
import CRIProtocol
import Engine
import Foundation
import GRPCCore

/// What pods and their containers use, as kubelet's resource metrics want it: CPU time, memory
/// (the working set being usage less inactive file pages), the writable layer, and processes.
extension CRIRuntimeService {
    public func containerStats(request: Runtime_V1_ContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatsResponse {
        try await CRIError.answering {
            let reading = await stats(of: try await podContainer(request.containerID))
            return .with { $0.stats = reading }
        }
    }

    public func listContainerStats(request: Runtime_V1_ListContainerStatsRequest,
                                   context: ServerContext) async throws -> Runtime_V1_ListContainerStatsResponse {
        try await CRIError.answering {
            let filter = request.filter
            var response = Runtime_V1_ListContainerStatsResponse()
            for record in try await containers.list() where PodLabels.isPodContainer(record) && record.state.status == .running {
                if !filter.id.isEmpty, !record.id.hasPrefix(filter.id) { continue }
                if !filter.podSandboxID.isEmpty, !(record.config.Labels?[PodLabels.sandboxID] ?? "").hasPrefix(filter.podSandboxID) { continue }
                if !PodLabels.matches(PodLabels.userLabels(record.config.Labels), selector: filter.labelSelector) { continue }
                response.stats.append(await stats(of: record))
            }
            return response
        }
    }

    public func podSandboxStats(request: Runtime_V1_PodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatsResponse {
        try await CRIError.answering {
            guard let sandbox = try await sandbox(request.podSandboxID) else {
                throw RPCError(code: .notFound, message: "no pod sandbox \(request.podSandboxID)")
            }
            let reading = await podStats(of: sandbox)
            return .with { $0.stats = reading }
        }
    }

    public func listPodSandboxStats(request: Runtime_V1_ListPodSandboxStatsRequest,
                                    context: ServerContext) async throws -> Runtime_V1_ListPodSandboxStatsResponse {
        try await CRIError.answering {
            let filter = request.filter
            var response = Runtime_V1_ListPodSandboxStatsResponse()
            for sandbox in try await containers.list() where PodLabels.isSandbox(sandbox) && Self.state(of: sandbox) == .sandboxReady {
                if !filter.id.isEmpty, !sandbox.id.hasPrefix(filter.id) { continue }
                if !PodLabels.matches(PodLabels.userLabels(sandbox.config.Labels), selector: filter.labelSelector) { continue }
                response.stats.append(await podStats(of: sandbox))
            }
            return response
        }
    }

    /// One container's reading; only the attributes when it is not running.
    func stats(of record: ContainerRecord) async -> Runtime_V1_ContainerStats {
        let now = Self.nanoseconds(Date())
        var stats = Runtime_V1_ContainerStats()
        stats.attributes = .with {
            $0.id = record.id
            $0.metadata = PodLabels.containerMetadata(record)
            $0.labels = PodLabels.userLabels(record.config.Labels)
            $0.annotations = record.hostConfig.Annotations ?? [:]
        }
        guard let usage = try? await containers.stats(record.id).usage else { return stats }
        stats.cpu = Self.cpu(usage, at: now)
        stats.memory = Self.memory(usage, at: now)
        let writable = await containers.sizes(record).writable
        stats.writableLayer = .with {
            $0.timestamp = now
            $0.fsID.mountpoint = containers.paths.upper(record.id)
            $0.usedBytes.value = UInt64(max(0, writable))
        }
        return stats
    }

    /// The pod's reading: its infra container's network and, for CPU and memory, the sum of its containers'.
    func podStats(of sandbox: ContainerRecord) async -> Runtime_V1_PodSandboxStats {
        let now = Self.nanoseconds(Date())
        var stats = Runtime_V1_PodSandboxStats()
        stats.attributes = .with {
            $0.id = sandbox.id
            $0.metadata = PodLabels.sandboxMetadata(sandbox)
            $0.labels = PodLabels.userLabels(sandbox.config.Labels)
            $0.annotations = sandbox.hostConfig.Annotations ?? [:]
        }
        var members: [Runtime_V1_ContainerStats] = []
        var processes: UInt64 = 0
        for member in (try? await self.members(of: sandbox.id)) ?? [] where member.state.status == .running {
            members.append(await self.stats(of: member))
            processes += (try? await containers.stats(member.id).usage)?.pidsCurrent ?? 0
        }
        let infra = try? await containers.stats(sandbox.id).usage
        processes += infra?.pidsCurrent ?? 0
        let cpu = members.reduce(infra?.cpuUsage ?? 0) { $0 + $1.cpu.usageCoreNanoSeconds.value }
        let memory = members.reduce(infra.map { Self.workingSet($0) } ?? 0) { $0 + $1.memory.workingSetBytes.value }
        stats.linux = .with {
            $0.cpu = .with { $0.timestamp = now; $0.usageCoreNanoSeconds.value = cpu }
            $0.memory = .with { $0.timestamp = now; $0.workingSetBytes.value = memory }
            $0.process = .with { $0.timestamp = now; $0.processCount.value = processes }
            if let infra {
                $0.network = .with { network in
                    network.timestamp = now
                    network.interfaces = infra.networks.sorted { $0.key < $1.key }.map { name, counters in
                        .with {
                            $0.name = name
                            $0.rxBytes.value = counters.receivedBytes
                            $0.rxErrors.value = counters.receiveErrors
                            $0.txBytes.value = counters.sentBytes
                            $0.txErrors.value = counters.sendErrors
                        }
                    }
                    if let first = network.interfaces.first { network.defaultInterface = first }
                }
            }
            $0.containers = members
        }
        return stats
    }

    static func cpu(_ usage: ContainerResourceUsage, at now: Int64) -> Runtime_V1_CpuUsage {
        .with {
            $0.timestamp = now
            $0.usageCoreNanoSeconds.value = usage.cpuUsage
        }
    }

    static func memory(_ usage: ContainerResourceUsage, at now: Int64) -> Runtime_V1_MemoryUsage {
        .with {
            $0.timestamp = now
            $0.usageBytes.value = usage.memoryUsage
            $0.workingSetBytes.value = workingSet(usage)
            if let rss = usage.memoryStat["total_rss"] ?? usage.memoryStat["rss"] ?? usage.memoryStat["anon"] { $0.rssBytes.value = rss }
            if let faults = usage.memoryStat["total_pgfault"] ?? usage.memoryStat["pgfault"] { $0.pageFaults.value = faults }
            if let major = usage.memoryStat["total_pgmajfault"] ?? usage.memoryStat["pgmajfault"] { $0.majorPageFaults.value = major }
            if usage.memoryLimit > 0, usage.memoryLimit < UInt64(Int64.max) {
                $0.availableBytes.value = usage.memoryLimit > workingSet(usage) ? usage.memoryLimit - workingSet(usage) : 0
            }
        }
    }

    /// Usage less the inactive file pages the kernel may drop at once: what kubelet evicts on.
    static func workingSet(_ usage: ContainerResourceUsage) -> UInt64 {
        let inactive = usage.memoryStat["total_inactive_file"] ?? usage.memoryStat["inactive_file"] ?? 0
        return usage.memoryUsage > inactive ? usage.memoryUsage - inactive : 0
    }
}
