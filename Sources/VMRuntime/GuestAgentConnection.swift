import Foundation
import Synchronization

/// berthd's own connection to a VM's agent port, for a VM no shim holds: a stopped container's
/// disks read or written in a short-lived helper VM. QEMU serves the port to one client, so the
/// connection is used by one request or builtin at a time.
public final class GuestAgentConnection: Sendable {
    private struct Conversation {
        let stream: UnixStream
        var reader = AgentFrameReader()
        /// Process numbers are the host's to choose; the VM itself is 0.
        var lastNumber: UInt32 = 0
    }

    private let conversation: Mutex<Conversation>

    /// Connects to the agent's socket and waits for its hello (asking for one: it says hello once
    /// at boot, maybe before anyone listened) until `deadline`.
    public init(socket: String, deadline: ContinuousClock.Instant) throws {
        let stream = try UnixStream(path: socket, deadline: deadline)
        try stream.write(AgentFrame(kind: UInt8(ascii: "h"), process: 0, payload: []).encoded())
        var reader = AgentFrameReader()
        waiting: while true {
            while let frame = reader.next() {
                guard frame.kind == UInt8(ascii: "h") else { continue }
                let version = AgentTokens(frame.payload).value("version").map { String(decoding: $0, as: UTF8.self) }
                guard version == "1" else { throw QEMUError.failed("the VM's agent speaks protocol version \(version ?? "(none)"), not 1") }
                break waiting
            }
            let bytes = try stream.read(deadline: deadline)
            guard !bytes.isEmpty else { throw QEMUError.failed("the VM ended before its agent answered") }
            reader.append(bytes)
        }
        conversation = Mutex(Conversation(stream: stream, reader: reader))
    }

    /// Sends a request (`mount`, `write`, `generation`, …: PROTOCOL.md) and waits until the agent
    /// has done it; its failure is thrown with the agent's reason.
    public func ask(_ kind: Character, _ tokens: [(key: String, value: String)], deadline: ContinuousClock.Instant) throws {
        try converse { stream, reader, number in
            let payload = AgentTokens.encode(tokens.map { (Array($0.key.utf8), Array($0.value.utf8)) })
            try stream.write(AgentFrame(kind: kind.asciiValue ?? 0, process: number, payload: payload).encoded())
            while true {
                while let frame = reader.next() {
                    guard frame.process == number else { continue }
                    let said = String(decoding: frame.payload, as: UTF8.self)
                    if frame.kind == UInt8(ascii: "x"), said == "0" { return }
                    if frame.kind == UInt8(ascii: "f") || frame.kind == UInt8(ascii: "x") {
                        throw QEMUError.failed("the agent refused '\(kind)': \(said.split(separator: " ", maxSplits: 1).last ?? "")")
                    }
                }
                let bytes = try stream.read(deadline: deadline)
                guard !bytes.isEmpty else { throw QEMUError.failed("the VM ended while its agent worked on '\(kind)'") }
                reader.append(bytes)
            }
        }
    }

    /// Asks the agent to power the VM off once it has synced its disks (`q`); the caller waits for
    /// the VM to end.
    public func shutDown() throws {
        try converse { stream, _, _ in try stream.write(AgentFrame(kind: UInt8(ascii: "q"), process: 0, payload: []).encoded()) }
    }

    /// Runs `body` alone on the connection with a process number of its own.
    func converse<T>(_ body: (UnixStream, inout AgentFrameReader, UInt32) throws -> T) throws -> T {
        try conversation.withLock { conversation in
            conversation.lastNumber += 1
            return try body(conversation.stream, &conversation.reader, conversation.lastNumber)
        }
    }
}
