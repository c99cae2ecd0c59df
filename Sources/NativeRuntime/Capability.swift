/// Linux capabilities by number (linux/capability.h), named as Docker names them without `CAP_`.
public enum Capability: Int, CaseIterable, Sendable {
    case chown = 0, dacOverride, dacReadSearch, fowner, fsetid, kill, setgid, setuid, setpcap, linuxImmutable,
         netBindService, netBroadcast, netAdmin, netRaw, ipcLock, ipcOwner, sysModule, sysRawio, sysChroot,
         sysPtrace, sysPacct, sysAdmin, sysBoot, sysNice, sysResource, sysTime, sysTtyConfig, mknod, lease,
         auditWrite, auditControl, setfcap, macOverride, macAdmin, syslog, wakeAlarm, blockSuspend, auditRead,
         perfmon, bpf, checkpointRestore

    /// `CHOWN`, `NET_BIND_SERVICE`, …
    public var name: String {
        switch self {
        case .chown: "CHOWN"
        case .dacOverride: "DAC_OVERRIDE"
        case .dacReadSearch: "DAC_READ_SEARCH"
        case .fowner: "FOWNER"
        case .fsetid: "FSETID"
        case .kill: "KILL"
        case .setgid: "SETGID"
        case .setuid: "SETUID"
        case .setpcap: "SETPCAP"
        case .linuxImmutable: "LINUX_IMMUTABLE"
        case .netBindService: "NET_BIND_SERVICE"
        case .netBroadcast: "NET_BROADCAST"
        case .netAdmin: "NET_ADMIN"
        case .netRaw: "NET_RAW"
        case .ipcLock: "IPC_LOCK"
        case .ipcOwner: "IPC_OWNER"
        case .sysModule: "SYS_MODULE"
        case .sysRawio: "SYS_RAWIO"
        case .sysChroot: "SYS_CHROOT"
        case .sysPtrace: "SYS_PTRACE"
        case .sysPacct: "SYS_PACCT"
        case .sysAdmin: "SYS_ADMIN"
        case .sysBoot: "SYS_BOOT"
        case .sysNice: "SYS_NICE"
        case .sysResource: "SYS_RESOURCE"
        case .sysTime: "SYS_TIME"
        case .sysTtyConfig: "SYS_TTY_CONFIG"
        case .mknod: "MKNOD"
        case .lease: "LEASE"
        case .auditWrite: "AUDIT_WRITE"
        case .auditControl: "AUDIT_CONTROL"
        case .setfcap: "SETFCAP"
        case .macOverride: "MAC_OVERRIDE"
        case .macAdmin: "MAC_ADMIN"
        case .syslog: "SYSLOG"
        case .wakeAlarm: "WAKE_ALARM"
        case .blockSuspend: "BLOCK_SUSPEND"
        case .auditRead: "AUDIT_READ"
        case .perfmon: "PERFMON"
        case .bpf: "BPF"
        case .checkpointRestore: "CHECKPOINT_RESTORE"
        }
    }

    /// Accepts `NET_ADMIN`, `CAP_NET_ADMIN`, any case.
    public init?(name: String) {
        var upper = name.uppercased()
        if upper.hasPrefix("CAP_") { upper.removeFirst(4) }
        guard let match = Capability.allCases.first(where: { $0.name == upper }) else { return nil }
        self = match
    }
}

/// A set of capabilities as the kernel's 64-bit mask.
public struct CapabilitySet: Equatable, Sendable, SetAlgebra {
    public private(set) var rawValue: UInt64

    public init() { rawValue = 0 }
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init<S: Sequence>(_ capabilities: S) where S.Element == Capability {
        rawValue = capabilities.reduce(0) { $0 | (1 << UInt64($1.rawValue)) }
    }

    /// Docker's default set: what an unprivileged container's root keeps.
    public static let dockerDefault = CapabilitySet([
        .chown, .dacOverride, .fsetid, .fowner, .mknod, .netRaw, .setgid, .setuid, .setfcap, .setpcap,
        .netBindService, .sysChroot, .kill, .auditWrite,
    ])
    public static let all = CapabilitySet(Capability.allCases)

    /// This process's bounding set, read once: it never grows, and container starts need it.
    public static let daemonBounding = processBounding()

    /// The bounding set of this process: what a privileged container can be given at most.
    public static func processBounding(statusPath: String = "/proc/self/status") -> CapabilitySet {
        let text = (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("CapBnd:") {
            let hex = line.dropFirst("CapBnd:".count).trimmingCharacters(in: .whitespaces)
            if let mask = UInt64(hex, radix: 16) { return CapabilitySet(rawValue: mask).intersection(.all) }
        }
        return .all
    }

    public var capabilities: [Capability] { Capability.allCases.filter { contains($0) } }

    public func contains(_ member: Capability) -> Bool { rawValue & (1 << UInt64(member.rawValue)) != 0 }
    public func union(_ other: CapabilitySet) -> CapabilitySet { CapabilitySet(rawValue: rawValue | other.rawValue) }
    public func intersection(_ other: CapabilitySet) -> CapabilitySet { CapabilitySet(rawValue: rawValue & other.rawValue) }
    public func symmetricDifference(_ other: CapabilitySet) -> CapabilitySet { CapabilitySet(rawValue: rawValue ^ other.rawValue) }
    @discardableResult
    public mutating func insert(_ member: Capability) -> (inserted: Bool, memberAfterInsert: Capability) {
        let inserted = !contains(member)
        rawValue |= 1 << UInt64(member.rawValue)
        return (inserted, member)
    }
    @discardableResult
    public mutating func remove(_ member: Capability) -> Capability? {
        guard contains(member) else { return nil }
        rawValue &= ~(1 << UInt64(member.rawValue))
        return member
    }
    @discardableResult
    public mutating func update(with member: Capability) -> Capability? {
        let had = contains(member)
        insert(member)
        return had ? member : nil
    }
    public mutating func formUnion(_ other: CapabilitySet) { rawValue |= other.rawValue }
    public mutating func formIntersection(_ other: CapabilitySet) { rawValue &= other.rawValue }
    public mutating func formSymmetricDifference(_ other: CapabilitySet) { rawValue ^= other.rawValue }

    /// Docker's `--cap-add`/`--cap-drop` on top of `base`: `ALL` in either, drops applied after adds.
    public static func adjusting(_ base: CapabilitySet, add: [String], drop: [String]) throws -> CapabilitySet {
        func parse(_ names: [String]) throws -> (all: Bool, set: CapabilitySet) {
            var set = CapabilitySet()
            var all = false
            for name in names {
                if name.uppercased() == "ALL" || name.uppercased() == "CAP_ALL" { all = true; continue }
                guard let capability = Capability(name: name) else { throw CapabilityError.unknown(name) }
                set.insert(capability)
            }
            return (all, set)
        }
        let added = try parse(add)
        let dropped = try parse(drop)
        var result = added.all ? .all : base.union(added.set)
        if dropped.all { result = added.all ? result : added.set } else { result.subtract(dropped.set) }
        return result
    }
}

public enum CapabilityError: Error, CustomStringConvertible {
    case unknown(String)

    public var description: String {
        switch self {
        case .unknown(let name): return "unknown capability: \"\(name)\""
        }
    }
}
