import NIOCore

/// A SPDY session over a channel: streams the peer opens (a server's view) and streams this side
/// opens (a client's), their bytes both ways, pings answered. Frames go out in the order their
/// writes are made; bytes the peer sends wait in memory up to a bound, then reading pauses until
/// the streams' readers catch up.
public final class SPDYConnection: Sendable {
    /// Streams the peer opened, each already accepted; they end when the peer goes away or the
    /// connection closes.
    public let incomingStreams: AsyncStream<SPDYStream>

    let channel: Channel
    let incomingContinuation: AsyncStream<SPDYStream>.Continuation
    private let session: NIOLoopBound<SPDYSessionHandler>

    /// Puts the SPDY framing and session on `channel`'s pipeline (on its event loop), after
    /// whatever it holds, and returns the connection.
    public static func install(on channel: Channel, isServer: Bool) throws -> SPDYConnection {
        channel.eventLoop.preconditionInEventLoop()
        let handler = SPDYSessionHandler(isServer: isServer)
        let connection = SPDYConnection(channel: channel, handler: handler)
        handler.connection = connection
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteToMessageHandler(SPDYFrameDecoder()))
        try pipeline.addHandler(MessageToByteHandler(SPDYFrameEncoder()))
        try pipeline.addHandler(handler)
        return connection
    }

    private init(channel: Channel, handler: SPDYSessionHandler) {
        self.channel = channel
        session = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        (incomingStreams, incomingContinuation) = AsyncStream<SPDYStream>.makeStream()
    }

    /// Opens a stream with `headers` and returns it once the peer has accepted it.
    public func openStream(_ headers: SPDYHeaders) async throws -> SPDYStream {
        let session = session, eventLoop = channel.eventLoop
        return try await eventLoop.flatSubmit { session.value.open(headers, on: eventLoop) }.get()
    }

    /// Says no more streams will be taken, then closes the connection.
    public func close() async {
        let session = session
        let last = try? await channel.eventLoop.submit { session.value.lastPeerStreamID }.get()
        try? await channel.writeAndFlush(SPDYFrame.goAway(lastGoodStreamID: last ?? 0, status: 0))
        try? await channel.close()
    }

    /// Returns once the connection has closed, from either side.
    public func closed() async {
        try? await channel.closeFuture.get()
    }

    func send(_ frame: SPDYFrame) async throws {
        do {
            try await channel.writeAndFlush(frame)
        } catch {
            throw SPDYError.connectionClosed
        }
    }

    func consumed(_ count: Int) {
        let session = session
        channel.eventLoop.execute { session.value.consumed(count) }
    }
}
