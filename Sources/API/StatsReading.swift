import APIModels
import Engine
import Foundation

/// `GET /containers/{id}/stats` in Docker's shape, from a cgroup reading and the host's CPU time.
enum StatsReading {
    /// One reading: the container's cgroups and the host's CPU time, taken together.
    struct Sample {
        var usage: ContainerResourceUsage?
        var system: UInt64
    }

    static func json(_ record: ContainerRecord, _ sample: Sample, previous: Sample?) -> JSONValue {
        let now = ContainerTime.rfc3339(Date())
        let usage = sample.usage
        let current = usage ?? ContainerResourceUsage()
        func cpu(_ reading: ContainerResourceUsage?, system: UInt64) -> JSONValue {
            guard let reading else { return .object(["cpu_usage": .object(["total_usage": .number(0)]), "throttling_data": .object([:])]) }
            return .object([
                "cpu_usage": .object([
                    "total_usage": number(reading.cpuUsage), "usage_in_kernelmode": number(reading.cpuSystemUsage),
                    "usage_in_usermode": number(reading.cpuUserUsage),
                    "percpu_usage": .array(reading.perCPUUsage.map(number)),
                ]),
                "system_cpu_usage": number(system),
                "online_cpus": .number(Double(ProcessInfo.processInfo.activeProcessorCount)),
                "throttling_data": .object(["periods": 0, "throttled_periods": 0, "throttled_time": 0].mapValues { .number($0) }),
            ])
        }
        var networks: [String: JSONValue] = [:]
        for (name, counters) in current.networks {
            networks[name] = .object([
                "rx_bytes": number(counters.receivedBytes), "rx_packets": number(counters.receivedPackets),
                "rx_errors": number(counters.receiveErrors), "rx_dropped": number(counters.receiveDrops),
                "tx_bytes": number(counters.sentBytes), "tx_packets": number(counters.sentPackets),
                "tx_errors": number(counters.sendErrors), "tx_dropped": number(counters.sendDrops),
            ])
        }
        var fields: [String: JSONValue] = [
            "id": .string(record.id),
            "name": .string("/" + record.name),
            "read": .string(now),
            "preread": .string(previous == nil ? "0001-01-01T00:00:00Z" : now),
            "cpu_stats": cpu(current, system: sample.system),
            "precpu_stats": cpu(previous?.usage, system: previous?.system ?? 0),
            "memory_stats": usage == nil ? .object([:]) : .object([
                "usage": number(current.memoryUsage), "max_usage": number(current.memoryMaxUsage),
                "limit": number(current.memoryLimit),
                "stats": .object(current.memoryStat.mapValues(number)),
            ]),
            "pids_stats": .object(["current": number(current.pidsCurrent)]
                .merging(current.pidsLimit.map { ["limit": number($0)] } ?? [:]) { $1 }),
            "blkio_stats": .object([:]),
            "num_procs": .number(0),
            "storage_stats": .object([:]),
        ]
        // As dockerd: only containers with a network namespace of their own have the key.
        if !record.attachments.isEmpty { fields["networks"] = .object(networks) }
        return .object(fields)
    }

    private static func number(_ value: UInt64) -> JSONValue { .unsigned(value) }

    /// All CPUs' time since boot, in nanoseconds, from the first line of /proc/stat.
    static func hostCPUNanoseconds() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }.reduce(0, +)
        return ticks * 1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))
    }
}
