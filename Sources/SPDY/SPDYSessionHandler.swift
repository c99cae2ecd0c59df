import NIOCore

/// The session's state, on the channel's event loop: which streams are open, who accepted them,
/// and how many of the peer's bytes wait for a reader.
final class SPDYSessionHandler: ChannelDuplexHandler {
    typealias InboundIn = SPDYFrame
    typealias OutboundIn = SPDYFrame
    typealias OutboundOut = SPDYFrame

    /// Reading pauses past this many unread bytes, and resumes below half of it.
    static let pausedAbove = 4 * 1024 * 1024

    private struct OpenStream {
        let stream: SPDYStream
        /// Completed by the peer's SYN_REPLY for a stream this side opened.
        var accepted: EventLoopPromise<SPDYStream>?
        var finishedHere = false
        var finishedThere = false
    }

    weak var connection: SPDYConnection?
    private let isServer: Bool
    private var streams: [UInt32: OpenStream] = [:]
    private var nextStreamID: UInt32
    private(set) var lastPeerStreamID: UInt32 = 0
    private var goneAway = false
    private var unreadBytes = 0
    private var readPending = false
    private var context: ChannelHandlerContext?

    init(isServer: Bool) {
        self.isServer = isServer
        // Clients open odd-numbered streams, servers even-numbered ones.
        nextStreamID = isServer ? 2 : 1
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .synStream(let id, _, _, let finished, let headers):
            accept(id, headers: headers, finished: finished, context: context)
        case .synReply(let id, let finished, _):
            guard var open = streams[id], let accepted = open.accepted else { return }
            open.accepted = nil
            streams[id] = open
            accepted.succeed(open.stream)
            if finished { finishedThere(id) }
        case .data(let id, let finished, let payload):
            guard let open = streams[id] else { return }
            if payload.readableBytes > 0 {
                unreadBytes += payload.readableBytes
                open.stream.inboundContinuation.yield(payload)
            }
            if finished { finishedThere(id) }
        case .headers(let id, let finished, _):
            if finished { finishedThere(id) }
        case .rstStream(let id, let status):
            guard let open = streams.removeValue(forKey: id) else { return }
            open.accepted?.fail(SPDYError.streamReset(status))
            open.stream.inboundContinuation.finish()
        case .ping(let id):
            // The peer's pings have the other parity; ours come back and need nothing.
            if (id % 2 == 0) != isServer {
                context.writeAndFlush(wrapOutboundOut(.ping(id: id)), promise: nil)
            }
        case .goAway:
            goneAway = true
            connection?.incomingContinuation.finish()
        case .settings, .windowUpdate:
            // Kubernetes' peers keep no flow-control windows, and neither does this side.
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.incomingContinuation.finish()
        for open in streams.values {
            open.accepted?.fail(SPDYError.connectionClosed)
            open.stream.inboundContinuation.finish()
        }
        streams = [:]
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A framing error leaves the byte stream unreadable: nothing to do but end the connection.
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .data(let id, true, _):
            streams[id]?.finishedHere = true
            forgetIfClosed(id)
        case .rstStream(let id, _):
            streams.removeValue(forKey: id)
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if unreadBytes > Self.pausedAbove {
            readPending = true
        } else {
            context.read()
        }
    }

    func consumed(_ count: Int) {
        unreadBytes -= count
        if readPending, unreadBytes <= Self.pausedAbove / 2, let context {
            readPending = false
            context.read()
        }
    }

    func open(_ headers: SPDYHeaders, on eventLoop: EventLoop) -> EventLoopFuture<SPDYStream> {
        guard let context, let connection, !goneAway, nextStreamID <= 0x7FFF_FFFF else {
            return eventLoop.makeFailedFuture(SPDYError.connectionClosed)
        }
        let id = nextStreamID
        nextStreamID += 2
        let stream = SPDYStream(id: id, headers: headers, connection: connection)
        let accepted = context.eventLoop.makePromise(of: SPDYStream.self)
        streams[id] = OpenStream(stream: stream, accepted: accepted)
        let frame = SPDYFrame.synStream(streamID: id, associatedStreamID: 0, priority: 0, finished: false, headers: headers)
        context.writeAndFlush(wrapOutboundOut(frame)).whenFailure { error in accepted.fail(error) }
        return accepted.futureResult
    }

    /// The peer sends no more on stream `id`.
    private func finishedThere(_ id: UInt32) {
        guard let open = streams[id] else { return }
        open.stream.inboundContinuation.finish()
        streams[id]?.finishedThere = true
        forgetIfClosed(id)
    }

    /// A stream closed both ways is done with.
    private func forgetIfClosed(_ id: UInt32) {
        if let open = streams[id], open.finishedHere, open.finishedThere { streams.removeValue(forKey: id) }
    }

    private func accept(_ id: UInt32, headers: SPDYHeaders, finished: Bool, context: ChannelHandlerContext) {
        // Stream IDs only grow, and a peer opens those of its own parity.
        guard let connection, !goneAway, id > lastPeerStreamID, (id % 2 == 0) != isServer else {
            context.writeAndFlush(wrapOutboundOut(.rstStream(streamID: id, status: .protocolError)), promise: nil)
            return
        }
        lastPeerStreamID = id
        let stream = SPDYStream(id: id, headers: headers, connection: connection)
        streams[id] = OpenStream(stream: stream, accepted: nil)
        if finished { finishedThere(id) }
        context.writeAndFlush(wrapOutboundOut(.synReply(streamID: id, finished: false, headers: SPDYHeaders())), promise: nil)
        connection.incomingContinuation.yield(stream)
    }
}
