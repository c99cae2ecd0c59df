import NIOCore
import NIOHTTP1

/// What a connection delivers to the server loop: HTTP parts, then raw bytes once hijacked.
public enum ServerInbound: Sendable {
    case http(HTTPServerRequestPart)
    case raw(ByteBuffer)
}

/// Wraps decoded HTTP parts for the connection's async stream.
final class HTTPPartAdapter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = ServerInbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.http(unwrapInboundIn(data))))
    }
}

/// Wraps raw bytes after the HTTP decoder has left the pipeline.
final class RawBytesAdapter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ServerInbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.raw(unwrapInboundIn(data))))
    }
}

/// A connection taken over by a route after its response head (Docker's attach and exec
/// streams): bytes both ways, with no HTTP framing.
public final class HijackedConnection: @unchecked Sendable {
    private let channel: Channel
    private var inbound: NIOAsyncChannelInboundStream<ServerInbound>.AsyncIterator

    init(channel: Channel, inbound: NIOAsyncChannelInboundStream<ServerInbound>.AsyncIterator) {
        self.channel = channel
        self.inbound = inbound
    }

    /// The client's next bytes; nil once it has closed its side.
    public func read() async throws -> ByteBuffer? {
        while let part = try await inbound.next() {
            if case .raw(let bytes) = part { return bytes }
        }
        return nil
    }

    public func write(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    /// Swaps the HTTP handlers for raw bytes and writes the response head by hand, so no
    /// transfer encoding is added to a stream that has none.
    static func takeOver(channel: Channel, head: String) async throws {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(RawBytesAdapter(), position: .after(decoder))
            pipeline.removeHandler(name: "http-adapter", promise: nil)
            pipeline.removeHandler(try pipeline.handler(type: HTTPServerProtocolErrorHandler.self), promise: nil)
            pipeline.removeHandler(try pipeline.handler(type: NIOHTTPResponseHeadersValidator.self), promise: nil)
            pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
            // Clients send nothing more until they have read the head, so the decoder holds no bytes.
            pipeline.removeHandler(decoder, promise: nil)
        }.get()
        try await channel.writeAndFlush(ByteBuffer(string: head))
        try await waitUntilRead(channel, deadline: .now + .seconds(1))
    }

    /// Returns once the client has read everything written to it, or at `deadline`. docker-py reads
    /// the head through a buffered reader and the stream from the bare socket after it: stream bytes
    /// that arrive with the head are lost in that buffer (an exec's or a log replay's first output).
    /// A unix socket's unread bytes stay charged to the sender (`SO_MEMINFO`'s write allocation);
    /// over TCP nothing says what the peer has read, and the stream follows the head at once.
    private static func waitUntilRead(_ channel: Channel, deadline: ContinuousClock.Instant) async throws {
        guard channel.localAddress?.protocol == .unix, let options = channel as? SocketOptionProvider else { return }
        typealias MemoryInfo = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
        while ContinuousClock.now < deadline {
            let info: MemoryInfo = try await options.unsafeGetSocketOption(level: .socket, name: socketMemoryInfo).get()
            if info.2 == 0 { return }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// `SO_MEMINFO` (Linux): the socket's memory counters, the third of them its unread writes.
    private static let socketMemoryInfo = NIOBSDSocket.Option(rawValue: 55)
}
