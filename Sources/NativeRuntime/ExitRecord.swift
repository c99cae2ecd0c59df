import Foundation

/// The status `berth-shim` records when the container's init exits: "<code> <seconds>.<nanoseconds>",
/// then `oom-killed` when a utility VM's agent saw the OOM killer in the container's cgroup, then,
/// when the end was not the process's own (its utility VM died), the reason.
public struct ExitRecord: Sendable, Equatable {
    /// The exit status, or 128 + the signal that killed it.
    public var code: Int32
    public var finishedAt: Date
    public var reason: String?
    /// Known only from a VM's guest: a native container's cgroup is the host's to read.
    public var oomKilled: Bool

    public init(code: Int32, finishedAt: Date, reason: String? = nil, oomKilled: Bool = false) {
        self.code = code
        self.finishedAt = finishedAt
        self.reason = reason
        self.oomKilled = oomKilled
    }

    /// Nil when the shim has not written it (yet).
    public static func read(_ path: String) -> ExitRecord? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.trimmingCharacters(in: .newlines).split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, let code = Int32(fields[0]), let seconds = Double(fields[1]) else { return nil }
        var rest = fields.count == 3 ? String(fields[2]) : nil
        let marker = "oom-killed"
        let oomKilled = rest == marker || rest?.hasPrefix(marker + " ") == true
        if oomKilled { rest = rest == marker ? nil : String(rest!.dropFirst(marker.count + 1)) }
        return ExitRecord(code: code, finishedAt: Date(timeIntervalSince1970: seconds), reason: rest, oomKilled: oomKilled)
    }
}
