import Foundation
import SystemSupport

/// Makes, limits, reads and removes containers' cgroups under `berth/<id>` on v1, hybrid and
/// pure v2 hosts alike.
public struct CgroupManager: Sendable {
    public enum Layout: String, Sendable { case v1, hybrid, v2 }

    public let layout: Layout
    /// v1 controller → mount point of its hierarchy.
    let v1MountPoints: [String: String]
    let unifiedMountPoint: String?
    let parent: String
    /// The daemon's own cgroup.procs in one hierarchy, for `beginAttachGracePeriod`.
    let ownProcsFile: String?

    /// The v1 controllers a container is placed in; the rest stay with the daemon's cgroup.
    static let v1Controllers = ["memory", "cpu", "cpuacct", "pids", "freezer", "devices", "blkio", "cpuset"]

    public init(mountInfo: String? = nil, ownCgroups: String? = nil, parent: String = "berth") {
        let text = mountInfo ?? ProcFile.text("/proc/self/mountinfo") ?? ""
        var mountPoints: [String: String] = [:]
        var unified: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count > dash + 3 else { continue }
            if fields[dash + 1] == "cgroup2" {
                if unified == nil || fields[4] == "/sys/fs/cgroup" { unified = fields[4] }
            } else if fields[dash + 1] == "cgroup" {
                for option in fields[dash + 3].split(separator: ",") where Self.v1Controllers.contains(String(option)) {
                    mountPoints[String(option)] = fields[4]
                }
            }
        }
        v1MountPoints = mountPoints
        unifiedMountPoint = unified
        self.parent = parent
        layout = mountPoints.isEmpty ? .v2 : (unified == nil ? .v1 : .hybrid)
        // /proc/self/cgroup: "0::/path" for the unified hierarchy, "N:controllers:/path" for v1.
        let own = (ownCgroups ?? ProcFile.text("/proc/self/cgroup") ?? "")
            .split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init) }
        if let unified, let line = own.first(where: { $0.count == 3 && $0[0] == "0" && $0[1].isEmpty }) {
            ownProcsFile = unified + (line[2] == "/" ? "" : line[2]) + "/cgroup.procs"
        } else if let pids = mountPoints["pids"], let line = own.first(where: { $0.count == 3 && $0[1].split(separator: ",").contains("pids") }) {
            ownProcsFile = pids + (line[2] == "/" ? "" : line[2]) + "/cgroup.procs"
        } else {
            ownProcsFile = nil
        }
    }

    /// Moving a task between cgroups takes a kernel-wide lock whose first writer waits out an RCU
    /// grace period (5–25 ms on these machines); writers within a grace period of another pass at
    /// once. Writing berthd's pid into the cgroup it is already in moves nothing but starts that
    /// wait, on a thread of its own, before the shim needs the lock to place the container.
    public func beginAttachGracePeriod() {
        guard let file = ownProcsFile else { return }
        let thread = Thread {
            let fd = open(file, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            let pid = String(getpid())
            _ = Glibc.write(fd, pid, pid.utf8.count)
            close(fd)
        }
        thread.start()
    }

    /// Makes the container's cgroups and writes its limits; on failure nothing is left behind.
    /// A privileged container may use every device.
    public func create(id: String, limits: CgroupLimits, privileged: Bool) throws -> ContainerCgroup {
        let cgroup = cgroup(forID: id)
        let v1 = cgroup.v1, unified = cgroup.unified
        do {
            if layout == .v2, let unifiedMountPoint {
                try enableV2Controllers(root: unifiedMountPoint)
            }
            for directory in Set(v1.values).union(unified.map { [$0] } ?? []).sorted() {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            if let cpuset = v1["cpuset"] { try inheritCpuset(cpuset) }
            if let devices = v1["devices"], !privileged {
                try restrictDevices(devices)
                for rule in limits.deviceRules { try write(rule, to: devices + "/devices.allow") }
            } else if !limits.deviceRules.isEmpty, !privileged {
                throw CgroupError.write("devices.allow", limits.deviceRules[0], ENOTSUP)
            }
            try apply(limits, to: cgroup)
        } catch {
            remove(cgroup)
            throw error
        }
        return cgroup
    }

    /// Where the container `id`'s cgroups are (or would be) in every hierarchy.
    public func cgroup(forID id: String) -> ContainerCgroup {
        var v1: [String: String] = [:]
        for (controller, mountPoint) in v1MountPoints {
            v1[controller] = "\(mountPoint)/\(parent)/\(id)"
        }
        return ContainerCgroup(v1: v1, unified: unifiedMountPoint.map { "\($0)/\(parent)/\(id)" }, unifiedHasControllers: layout == .v2)
    }

    /// Changes limits of a live container (`docker update`), or sets them at creation.
    public func apply(_ limits: CgroupLimits, to cgroup: ContainerCgroup) throws {
        try Self.apply(limits, to: cgroup) { value, path in try self.write(value, to: path) }
    }

    /// The writes that set `limits` on `cgroup`, each made by `write(value, path)`: to this host's
    /// files, or to a VM guest's cgroup through its agent.
    public static func apply(_ limits: CgroupLimits, to cgroup: ContainerCgroup, write: (String, String) throws -> Void) throws {
        if let memory = limits.memory, memory > 0, let (directory, v2) = cgroup.directory(for: "memory") {
            if v2 {
                try write(String(memory), directory + "/memory.max")
                if let swap = limits.memorySwap, swap != 0 {
                    try write(swap < 0 ? "max" : String(max(swap - memory, 0)), directory + "/memory.swap.max")
                }
            } else {
                let memsw = directory + "/memory.memsw.limit_in_bytes"
                // Docker's default: as much swap as memory (`--memory-swap` unset or 0 is twice --memory).
                let swap = limits.memorySwap.flatMap { $0 == 0 ? nil : $0 } ?? memory * 2
                let swapText = swap < 0 ? "-1" : String(swap)
                // memsw may never be below the memory limit: raise it first when it grows (an update).
                let current = (try? String(contentsOfFile: memsw, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                let hasSwapAccounting = FileManager.default.fileExists(atPath: memsw)
                let raiseSwapFirst = hasSwapAccounting && (swap < 0 || swap > (current ?? Int64.max))
                if raiseSwapFirst { try write(swapText, memsw) }
                try write(String(memory), directory + "/memory.limit_in_bytes")
                if hasSwapAccounting && !raiseSwapFirst { try write(swapText, memsw) }
            }
        }
        if let reservation = limits.memoryReservation, reservation > 0, let (directory, v2) = cgroup.directory(for: "memory") {
            try write(String(reservation), directory + (v2 ? "/memory.low" : "/memory.soft_limit_in_bytes"))
        }
        if let swappiness = limits.memorySwappiness, swappiness >= 0, let (directory, v2) = cgroup.directory(for: "memory"), !v2 {
            try write(String(swappiness), directory + "/memory.swappiness")
        }
        if let (directory, _) = cgroup.directory(for: "cpuset") {
            if let cpus = limits.cpusetCpus, !cpus.isEmpty { try write(cpus, directory + "/cpuset.cpus") }
            if let mems = limits.cpusetMems, !mems.isEmpty { try write(mems, directory + "/cpuset.mems") }
        }
        if let (quota, period) = limits.cfsQuota, let (directory, v2) = cgroup.directory(for: "cpu") {
            if v2 {
                try write("\(quota) \(period)", directory + "/cpu.max")
            } else {
                try write(String(period), directory + "/cpu.cfs_period_us")
                try write(String(quota), directory + "/cpu.cfs_quota_us")
            }
        }
        if let shares = limits.cpuShares, shares > 0, let (directory, v2) = cgroup.directory(for: "cpu") {
            if v2 {
                // The same mapping as runc: shares 2…262144 onto weight 1…10000.
                let weight = 1 + ((min(max(shares, 2), 262_144) - 2) * 9999) / 262_142
                try write(String(weight), directory + "/cpu.weight")
            } else {
                try write(String(shares), directory + "/cpu.shares")
            }
        }
        if let pids = limits.pidsLimit, let (directory, _) = cgroup.directory(for: "pids") {
            try write(pids > 0 ? String(pids) : "max", directory + "/pids.max")
        }
    }

    /// Removes the directories; processes still exiting keep one busy briefly, so it retries.
    public func remove(_ cgroup: ContainerCgroup) {
        var directories = Set(cgroup.v1.values)
        if let unified = cgroup.unified { directories.insert(unified) }
        for directory in directories {
            for attempt in 0..<50 {
                if rmdir(directory) == 0 || errno == ENOENT { break }
                guard errno == EBUSY, attempt < 49 else { break }
                usleep(10_000)
            }
        }
    }

    /// Freezes (pause) or thaws (unpause) every process of the container.
    public func setFrozen(_ frozen: Bool, _ cgroup: ContainerCgroup) throws {
        if let freezer = cgroup.v1["freezer"] {
            try write(frozen ? "FROZEN" : "THAWED", to: freezer + "/freezer.state")
            let wanted = frozen ? "FROZEN" : "THAWED"
            for _ in 0..<500 {
                let state = (try? String(contentsOfFile: freezer + "/freezer.state", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if state == wanted { return }
                usleep(2_000)
            }
            throw CgroupError.freezeTimedOut(frozen)
        } else if let unified = cgroup.unified {
            try write(frozen ? "1" : "0", to: unified + "/cgroup.freeze")
        } else {
            throw CgroupError.noFreezer
        }
    }

    /// Whether the kernel's OOM killer has killed a process in the container.
    public func oomKilled(_ cgroup: ContainerCgroup) -> Bool {
        guard let (directory, v2) = cgroup.directory(for: "memory") else { return false }
        let file = directory + (v2 ? "/memory.events" : "/memory.oom_control")
        return (keyedValues(file)["oom_kill"] ?? 0) > 0
    }

    /// Host pids of every process in the container.
    public func processes(_ cgroup: ContainerCgroup) -> [Int32] {
        guard let file = cgroup.procsFiles.first,
              let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }.sorted()
    }

    public func stats(_ cgroup: ContainerCgroup) -> CgroupStats {
        var stats = CgroupStats()
        if let (directory, v2) = cgroup.directory(for: "memory") {
            if v2 {
                stats.memoryUsage = number(directory + "/memory.current") ?? 0
                stats.memoryMaxUsage = number(directory + "/memory.peak") ?? stats.memoryUsage
                stats.memoryLimit = number(directory + "/memory.max") ?? hostMemory()
                stats.memoryStat = keyedValues(directory + "/memory.stat")
                stats.memoryCache = stats.memoryStat["inactive_file"] ?? 0
            } else {
                stats.memoryUsage = number(directory + "/memory.usage_in_bytes") ?? 0
                stats.memoryMaxUsage = number(directory + "/memory.max_usage_in_bytes") ?? 0
                stats.memoryLimit = min(number(directory + "/memory.limit_in_bytes") ?? UInt64.max, hostMemory())
                stats.memoryStat = keyedValues(directory + "/memory.stat")
                stats.memoryCache = stats.memoryStat["total_inactive_file"] ?? 0
            }
        }
        if let cpuacct = cgroup.v1["cpuacct"] {
            stats.cpuUsage = number(cpuacct + "/cpuacct.usage") ?? 0
            stats.cpuUserUsage = number(cpuacct + "/cpuacct.usage_user") ?? 0
            stats.cpuSystemUsage = number(cpuacct + "/cpuacct.usage_sys") ?? 0
            stats.perCPUUsage = ((try? String(contentsOfFile: cpuacct + "/cpuacct.usage_percpu", encoding: .utf8)) ?? "")
                .split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
        } else if let (directory, v2) = cgroup.directory(for: "cpu"), v2 {
            let values = keyedValues(directory + "/cpu.stat")
            stats.cpuUsage = (values["usage_usec"] ?? 0) * 1000
            stats.cpuUserUsage = (values["user_usec"] ?? 0) * 1000
            stats.cpuSystemUsage = (values["system_usec"] ?? 0) * 1000
        }
        if let (directory, _) = cgroup.directory(for: "pids") {
            stats.pidsCurrent = number(directory + "/pids.current") ?? 0
            stats.pidsLimit = number(directory + "/pids.max")
        }
        return stats
    }

    // MARK: Helpers

    /// cgroup2 hands controllers down only where each ancestor's subtree_control names them.
    private func enableV2Controllers(root: String) throws {
        let available = ((try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? "")
            .split(whereSeparator: \.isWhitespace).map(String.init)
        let wanted = ["cpu", "memory", "pids", "cpuset", "io"].filter(available.contains)
        let parentDirectory = "\(root)/\(parent)"
        try FileManager.default.createDirectory(atPath: parentDirectory, withIntermediateDirectories: true)
        for directory in [root, parentDirectory] {
            for controller in wanted {
                try? write("+\(controller)", to: directory + "/cgroup.subtree_control")
            }
        }
    }

    /// A new v1 cpuset is empty and refuses tasks until it has its parent's cpus and mems.
    private func inheritCpuset(_ directory: String) throws {
        var path = directory
        var chain: [String] = []
        while let mountPoint = v1MountPoints["cpuset"], path.count > mountPoint.count {
            chain.insert(path, at: 0)
            path = (path as NSString).deletingLastPathComponent
        }
        for child in chain {
            let parentPath = (child as NSString).deletingLastPathComponent
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let current = (try? String(contentsOfFile: child + "/" + file, encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                guard current.isEmpty else { continue }
                let inherited = try String(contentsOfFile: parentPath + "/" + file, encoding: .utf8)
                try write(inherited.trimmingCharacters(in: .whitespacesAndNewlines), to: child + "/" + file)
            }
        }
    }

    /// A devices cgroup rule as the kernel takes it: `a`, or `c|b MAJOR:MINOR ACCESS` with `*` for
    /// any number and ACCESS made of r, w and m.
    public static func isDeviceRule(_ rule: String) -> Bool {
        let fields = rule.split(separator: " ")
        if fields == ["a"] { return true }
        guard fields.count == 3, ["a", "b", "c"].contains(fields[0]) else { return false }
        let numbers = fields[1].split(separator: ":", omittingEmptySubsequences: false)
        guard numbers.count == 2, numbers.allSatisfy({ $0 == "*" || (!$0.isEmpty && $0.allSatisfy(\.isNumber)) }) else { return false }
        return !fields[2].isEmpty && fields[2].allSatisfy { "rwm".contains($0) }
    }

    /// Whether containers on this host get a cgroup namespace of their own unless they ask
    /// otherwise: Docker's default, private where the controllers are in cgroup v2.
    public static let privateCgroupNamespaceByDefault = CgroupManager().layout == .v2

    /// Docker's default device rules: nothing but the standard nodes, ptys and tun.
    private func restrictDevices(_ directory: String) throws {
        try write("a", to: directory + "/devices.deny")
        for rule in ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                     "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"] {
            try write(rule, to: directory + "/devices.allow")
        }
    }

    private func write(_ value: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError.write(path, value, errno) }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written >= 0 else { throw CgroupError.write(path, value, errno) }
    }

    private func number(_ path: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func keyedValues(_ path: String) -> [String: UInt64] {
        CgroupStats.keyedValues((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    private func hostMemory() -> UInt64 {
        UInt64(ProcessInfo.processInfo.physicalMemory)
    }
}

public enum CgroupError: Error, CustomStringConvertible {
    case write(String, String, Int32)
    case freezeTimedOut(Bool)
    case noFreezer

    public var description: String {
        switch self {
        case .write(let path, let value, let code):
            return "writing \(value.debugDescription) to \(path): \(SystemError.text(code))"
        case .freezeTimedOut(let frozen): return "the container did not \(frozen ? "freeze" : "thaw") in time"
        case .noFreezer: return "no freezer cgroup on this host"
        }
    }
}
