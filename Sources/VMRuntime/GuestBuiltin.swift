import Foundation
import Glibc

/// A builtin of the guest agent (`vm-images/agent/builtins.h`): for a running VM container through
/// its shim, which relays a process number of its own to the agent (`cp`'s stat, archive and
/// extract inside the container's root, `top`'s process list, `pause`'s freeze of the container's
/// cgroup, `network connect`'s addressing of a card plugged in and `disconnect`'s release of it),
/// or for a stopped one's disks through berthd's own connection to a helper VM's agent.
public struct GuestBuiltin: Sendable {
    public enum Name: String, Sendable {
        case stat, archive, extract, processes, freeze, cgroup, changes, layer, address, release
    }

    /// A builtin that did not finish: its exit status (`builtins.h`) and what it said.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// 2: no such path; 3: not a directory; 4: a bad or unsafe archive; 125: it never started.
        public let status: Int
        public let message: String
        public var description: String { message }
    }

    /// How the agent is reached.
    public enum Route: Sendable {
        /// Through the running container's shim, at its socket: "in the container" is in its namespaces.
        /// In a VM that holds several containers (a pod's), `container` is the agent's name for the
        /// one meant, whose shim is the VM's own container's; nil for the VM's own container.
        case shimRelay(socket: String, container: String?)
        /// Directly, in a VM that runs no container: "in the container" is chrooted into `root`,
        /// where the container's root is assembled.
        case agent(GuestAgentConnection, root: String)
    }

    /// Input the host keeps in flight before the agent says its pipe took some.
    static let inputWindow = 1 << 20

    public let route: Route
    public let timeout: Duration

    /// `relaySocket` is the socket of the shim that holds the VM's agent port; `container` the agent's
    /// name for the container meant when the VM holds several.
    public init(relaySocket: String, container: String? = nil, timeout: Duration = .seconds(600)) {
        self.init(route: .shimRelay(socket: relaySocket, container: container), timeout: timeout)
    }

    public init(route: Route, timeout: Duration = .seconds(600)) {
        self.route = route
        self.timeout = timeout
    }

    /// Runs `name` on `argument` (and `second`), in the container's root (and namespaces, when it
    /// runs) when `inContainer`, else in the guest's. Its standard input is the file `input`; its
    /// standard output goes to the file `output`, or is returned.
    @discardableResult
    public func run(_ name: Name, _ argument: String, _ second: String? = nil, inContainer: Bool, input: String? = nil,
                    output: String? = nil) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var tokens = [("builtin", name.rawValue), ("arg", argument)] + (second.map { [("arg", $0)] } ?? [])
        if input != nil { tokens.append(("input-acks", "1")) }
        switch route {
        case .shimRelay(let socket, let container):
            let stream = try UnixStream(path: socket, deadline: .now + .seconds(5))
            var reader = AgentFrameReader()
            let number = try Self.openRelay(stream, reader: &reader, deadline: deadline)
            if inContainer { tokens.append(("enter", "1")) }
            if let container { tokens.append(("container", container)) }
            return try Self.converse(name, tokens, stream: stream, reader: &reader, number: number, input: input, output: output,
                                     deadline: deadline)
        case .agent(let connection, let root):
            if inContainer { tokens.append(("root", root)) }
            return try connection.converse { stream, reader, number in
                try Self.converse(name, tokens, stream: stream, reader: &reader, number: number, input: input, output: output,
                                  deadline: deadline)
            }
        }
    }

    /// A `mount` request through the shim that holds the agent's port (`mount`'s tokens in
    /// vm-images/PROTOCOL.md: a read-only disk, for a container of a pod's VM), answered before it returns.
    public func mount(source: String, target: String, fstype: String, flags: UInt, options: String = "") throws {
        guard case .shimRelay(let socket, _) = route else { throw Failure(status: 125, message: "a mount goes through the VM's shim") }
        let deadline = ContinuousClock.now + timeout
        let stream = try UnixStream(path: socket, deadline: .now + .seconds(5))
        var reader = AgentFrameReader()
        let number = try Self.openRelay(stream, reader: &reader, deadline: deadline)
        let tokens = [("source", source), ("target", target), ("fstype", fstype), ("options", options), ("flags", String(flags))]
        try stream.write(AgentFrame(kind: UInt8(ascii: "m"), process: number,
                                    payload: AgentTokens.encode(tokens.map { (Array($0.utf8), Array($1.utf8)) })).encoded())
        while true {
            while let frame = reader.next() {
                guard frame.process == number else { continue }
                if frame.kind == UInt8(ascii: "x") { return }
                if frame.kind == UInt8(ascii: "f") {
                    let text = String(decoding: frame.payload, as: UTF8.self)
                    throw Failure(status: 125, message: text.split(separator: " ", maxSplits: 1).last.map(String.init) ?? text)
                }
            }
            let bytes = try stream.read(deadline: deadline)
            guard !bytes.isEmpty else { throw Failure(status: 125, message: "the way to the VM's agent ended: has its VM stopped?") }
            reader.append(bytes)
        }
    }

    /// Sends the builtin's `run` as process `number` and relays its input and output until it ends.
    private static func converse(_ name: Name, _ tokens: [(String, String)], stream: UnixStream, reader: inout AgentFrameReader,
                                 number: UInt32, input: String?, output: String?, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        try stream.write(AgentFrame(kind: UInt8(ascii: "r"), process: number,
                                    payload: AgentTokens.encode(tokens.map { (Array($0.utf8), Array($1.utf8)) })).encoded())

        let source = try input.map { path in
            guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure(status: 1, message: "opening \(path)") }
            return handle
        }
        let sink = try output.map { path in
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw Failure(status: 1, message: "creating \(path)")
            }
            return handle
        }
        var returned: [UInt8] = [], said: [UInt8] = []
        var started = false, inputEnded = source == nil, inFlight = 0
        while true {
            while let frame = reader.next() {
                guard frame.process == number else { continue }
                switch frame.kind {
                case UInt8(ascii: "s"):
                    started = true
                case UInt8(ascii: "o"):
                    if let sink { try sink.write(contentsOf: frame.payload) } else { returned += frame.payload }
                case UInt8(ascii: "e"):
                    if said.count < 4096 { said += frame.payload }
                case UInt8(ascii: "y"):
                    inFlight -= Int(String(decoding: frame.payload, as: UTF8.self)) ?? 0
                case UInt8(ascii: "x"):
                    let status = Int(String(decoding: frame.payload, as: UTF8.self)) ?? 1
                    let message = String(decoding: said, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    guard status == 0 else { throw Failure(status: status, message: message.isEmpty ? "\(name.rawValue) exited \(status)" : message) }
                    try sink?.synchronize()
                    return returned
                case UInt8(ascii: "f"):
                    let text = String(decoding: frame.payload, as: UTF8.self)
                    let parts = text.split(separator: " ", maxSplits: 1)
                    throw Failure(status: parts.first.flatMap { Int($0) } ?? 125, message: parts.count > 1 ? String(parts[1]) : text)
                default:
                    continue
                }
            }
            if started, let source {
                while !inputEnded, inFlight < Self.inputWindow {
                    let chunk = try source.read(upToCount: 65536) ?? Data()
                    if chunk.isEmpty {
                        try stream.write(AgentFrame(kind: UInt8(ascii: "c"), process: number, payload: []).encoded())
                        inputEnded = true
                    } else {
                        try stream.write(AgentFrame(kind: UInt8(ascii: "i"), process: number, payload: Array(chunk)).encoded())
                        inFlight += chunk.count
                    }
                }
            }
            let bytes = try stream.read(deadline: deadline)
            guard !bytes.isEmpty else { throw Failure(status: 125, message: "the way to the VM's agent ended: has the container or its VM stopped?") }
            reader.append(bytes)
        }
    }

    /// Asks the shim for a process number of its own: "relay", answered by "ok N" (frames may follow
    /// in the same read) or "error CODE MESSAGE".
    private static func openRelay(_ stream: UnixStream, reader: inout AgentFrameReader, deadline: ContinuousClock.Instant) throws -> UInt32 {
        try stream.write(Array("relay\n".utf8))
        var pending: [UInt8] = []
        while !pending.contains(UInt8(ascii: "\n")) {
            let bytes = try stream.read(deadline: deadline)
            guard !bytes.isEmpty else { throw Failure(status: 125, message: "the container's shim closed its socket") }
            pending += bytes
        }
        let newline = pending.firstIndex(of: UInt8(ascii: "\n"))!
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        reader.append(pending[(newline + 1)...])
        guard line.hasPrefix("ok "), let number = UInt32(line.dropFirst(3)) else {
            let words = line.split(separator: " ", maxSplits: 2)
            throw Failure(status: 125, message: words.count == 3 ? String(words[2]) : line)
        }
        return number
    }
}
