import Foundation

/// A conversation with one QEMU's monitor (QMP): JSON commands one at a time, and the events that
/// arrive between their answers kept for `waitForEvent`.
final class QMPConnection {
    private let stream: UnixStream
    private var buffered: [UInt8] = []
    private var events: [[String: Any]] = []
    private let deadline: ContinuousClock.Instant

    /// Connects and leaves capability negotiation; every read after gives up at `deadline`.
    init(socket: String, deadline: ContinuousClock.Instant) throws {
        self.deadline = deadline
        stream = try UnixStream(path: socket, deadline: deadline)
        guard try nextMessage()["QMP"] != nil else { throw QEMUError.failed("QEMU's monitor did not greet") }
        _ = try execute("qmp_capabilities")
    }

    /// Runs one command and returns its answer; a QMP error is thrown with QEMU's words. A
    /// `descriptor` goes with the command (as `add-fd` and `getfd` expect); QEMU keeps its own copy.
    @discardableResult
    func execute(_ command: String, _ arguments: [String: Any] = [:], passing descriptor: Int32? = nil) throws -> Any {
        var request: [String: Any] = ["execute": command]
        if !arguments.isEmpty { request["arguments"] = arguments }
        let line = Array(try JSONSerialization.data(withJSONObject: request)) + [UInt8(ascii: "\n")]
        if let descriptor { try stream.write(line, passing: descriptor) } else { try stream.write(line) }
        while true {
            let message = try nextMessage()
            if message["event"] != nil {
                events.append(message)
                continue
            }
            if let error = message["error"] as? [String: Any] {
                throw QEMUError.failed("\(command): \(error["desc"] as? String ?? "QEMU refused it")")
            }
            return message["return"] ?? [:]
        }
    }

    /// The next event called `name` whose data passes `matching`.
    func waitForEvent(_ name: String, matching: ([String: Any]) -> Bool = { _ in true }) throws -> [String: Any] {
        while true {
            if let index = events.firstIndex(where: { $0["event"] as? String == name && matching($0["data"] as? [String: Any] ?? [:]) }) {
                return events.remove(at: index)
            }
            let message = try nextMessage()
            if message["event"] != nil { events.append(message) }
        }
    }

    private func nextMessage() throws -> [String: Any] {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffered[..<newline])
                buffered.removeSubrange(...newline)
                guard let message = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else { continue }
                return message
            }
            let bytes = try stream.read(deadline: deadline)
            guard !bytes.isEmpty else { throw QEMUError.failed("QEMU's monitor closed (QEMU ended)") }
            buffered += bytes
        }
    }
}

public enum QEMUError: Error, CustomStringConvertible, Equatable {
    case failed(String)
    case timedOut

    public var description: String {
        switch self {
        case .failed(let reason): return reason
        case .timedOut: return "QEMU did not answer in time"
        }
    }
}
