import Foundation

/// The status `berth-shim` records when the container's init exits: "<code> <seconds>.<nanoseconds>".
public struct ExitRecord: Sendable, Equatable {
    /// The exit status, or 128 + the signal that killed it.
    public var code: Int32
    public var finishedAt: Date

    public init(code: Int32, finishedAt: Date) {
        self.code = code
        self.finishedAt = finishedAt
    }

    /// Nil when the shim has not written it (yet).
    public static func read(_ path: String) -> ExitRecord? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let code = Int32(fields[0]), let seconds = Double(fields[1]) else { return nil }
        return ExitRecord(code: code, finishedAt: Date(timeIntervalSince1970: seconds))
    }
}
