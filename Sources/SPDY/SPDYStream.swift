import NIOCore

/// One stream of a SPDY connection: the opener's headers, the peer's bytes, and a way to send ours.
public final class SPDYStream: Sendable {
    public let id: UInt32
    /// The headers of the SYN_STREAM that opened the stream.
    public let headers: SPDYHeaders
    /// The peer's bytes, read by one task; they end when the peer half-closes or resets the stream,
    /// or the connection ends.
    public let inbound: Inbound

    let inboundContinuation: AsyncStream<ByteBuffer>.Continuation
    private let connection: SPDYConnection

    /// Frames carry at most this much of a write: a stream's bytes interleave with the others'.
    static let largestDataFrame = 64 * 1024

    init(id: UInt32, headers: SPDYHeaders, connection: SPDYConnection) {
        self.id = id
        self.headers = headers
        self.connection = connection
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        inbound = Inbound(base: stream, connection: connection)
        inboundContinuation = continuation
    }

    /// Sends `bytes` on the stream, in as many frames as they need.
    public func write(_ bytes: ByteBuffer) async throws {
        var bytes = bytes
        while bytes.readableBytes > 0 {
            let slice = bytes.readSlice(length: min(bytes.readableBytes, Self.largestDataFrame))!
            try await connection.send(.data(streamID: id, finished: false, payload: slice))
        }
    }

    /// Half-closes our side: the peer reads to the end of what was written.
    public func finish() async throws {
        try await connection.send(.data(streamID: id, finished: true, payload: ByteBuffer()))
    }

    /// Ends the stream both ways at once.
    public func reset(_ status: SPDYResetStatus = .cancel) async {
        inboundContinuation.finish()
        try? await connection.send(.rstStream(streamID: id, status: status))
    }

    /// The peer's bytes; each chunk taken lets the connection read more once it had paused.
    public struct Inbound: AsyncSequence, Sendable {
        let base: AsyncStream<ByteBuffer>
        let connection: SPDYConnection

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: base.makeAsyncIterator(), connection: connection)
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncStream<ByteBuffer>.AsyncIterator
            let connection: SPDYConnection

            public mutating func next() async -> ByteBuffer? {
                guard let chunk = await base.next() else { return nil }
                connection.consumed(chunk.readableBytes)
                return chunk
            }
        }
    }
}
