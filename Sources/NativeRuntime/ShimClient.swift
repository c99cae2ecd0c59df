import NIOCore
import NIOPosix

/// Talks to one container's `berth-shim` over its control socket: a command line, a reply line.
public struct ShimClient: Sendable {
    public typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public let socketPath: String

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// Lets the container's process exec; returns its host pid, or throws why exec failed.
    public func start() async throws -> Int32 {
        let reply = try await command("start")
        guard let pid = Int32(reply) else { throw ShimError.protocolError("unexpected reply to start: \(reply)") }
        return pid
    }

    public func kill(signal: Int32) async throws {
        _ = try await command("kill \(signal)")
    }

    public func resize(rows: Int, columns: Int) async throws {
        _ = try await command("resize \(rows) \(columns)")
    }

    /// Waits for the container to exit and returns its exit code. Throws if the shim goes away
    /// without saying (killed); the exit file then tells what is known.
    public func wait() async throws -> Int32 {
        try await withConnection { connection in
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "wait\n"))
                var reader = LineReader(inbound.makeAsyncIterator())
                guard let line = try await reader.nextLine() else { throw ShimError.unreachable(socketPath) }
                guard line.hasPrefix("exit "), let code = Int32(line.dropFirst(5)) else {
                    throw ShimError.protocolError("unexpected reply to wait: \(line)")
                }
                return code
            }
        }
    }

    /// Opens the container's log file again at its path (kubelet renamed the old one to rotate it).
    public func reopenLog() async throws {
        _ = try await command("reopen-log")
    }

    /// Ends the container's stdin (its process reads end of file; with a tty, ^D).
    public func closeStdin() async throws {
        _ = try await command("close-stdin")
    }

    /// Attaches to the container's stdio. `body` gets the output (Docker's multiplexed frames, or
    /// raw bytes with a tty) and a writer for input. With `stdinOnce`, the end of this client's
    /// input ends the container's stdin; a client that detaches leaves it open.
    public func attach<Result: Sendable>(
        stdin: Bool, stdout: Bool, stderr: Bool, stdinOnce: Bool,
        _ body: @Sendable (ShimAttachment) async throws -> Result
    ) async throws -> Result {
        let streams = (stdin ? "i" : "") + (stdout ? "o" : "") + (stderr ? "e" : "") + "-"
        return try await withConnection { connection in
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "attach \(streams)\n"))
                var reader = LineReader(inbound.makeAsyncIterator())
                guard let line = try await reader.nextLine() else { throw ShimError.unreachable(socketPath) }
                guard line == "ok" else { throw ShimError.protocolError("attach refused: \(line)") }
                return try await body(ShimAttachment(output: reader, input: outbound, shim: self, stdinOnce: stdin && stdinOnce))
            }
        }
    }

    /// One command, one reply: "ok[ value]" or "error <code> <message>".
    func command(_ line: String) async throws -> String {
        try await withConnection { connection in
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: line + "\n"))
                var reader = LineReader(inbound.makeAsyncIterator())
                guard let reply = try await reader.nextLine() else { throw ShimError.unreachable(socketPath) }
                if reply == "ok" { return "" }
                if reply.hasPrefix("ok ") { return String(reply.dropFirst(3)) }
                if reply.hasPrefix("error ") {
                    let fields = reply.split(separator: " ", maxSplits: 2).map(String.init)
                    throw ShimError.setup(code: Int32(fields.count > 1 ? fields[1] : "") ?? 125,
                                          message: fields.count > 2 ? fields[2] : reply)
                }
                throw ShimError.protocolError("unexpected reply to \(line): \(reply)")
            }
        }
    }

    private func withConnection<Result: Sendable>(_ body: (Connection) async throws -> Result) async throws -> Result {
        let connection: Connection
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Connection(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
        } catch {
            throw ShimError.unreachable(socketPath)
        }
        return try await body(connection)
    }
}

/// A live attachment to a container's stdio.
public struct ShimAttachment: Sendable {
    /// Output after the handshake, in chunks as they arrive.
    public var output: LineReader
    /// Input for the container.
    public var input: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let shim: ShimClient
    let stdinOnce: Bool

    /// The client's input is over: the container's stdin ends too when attached with stdinOnce.
    public func endInput() async {
        input.finish()
        if stdinOnce { try? await shim.closeStdin() }
    }
}

/// Reads lines from a byte stream, then hands on whatever follows them untouched.
public struct LineReader: @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffered = ByteBuffer()

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    mutating func nextLine() async throws -> String? {
        while true {
            if let newline = buffered.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - buffered.readerIndex
                let line = buffered.readString(length: length) ?? ""
                buffered.moveReaderIndex(forwardBy: 1)
                return line
            }
            guard var chunk = try await iterator.next() else { return nil }
            buffered.writeBuffer(&chunk)
        }
    }

    /// The next bytes of the stream, nil at its end.
    public mutating func nextChunk() async throws -> ByteBuffer? {
        if buffered.readableBytes > 0 {
            defer { buffered = ByteBuffer() }
            return buffered
        }
        return try await iterator.next()
    }
}
