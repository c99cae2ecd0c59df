import APIModels
import Foundation
import NIOCore
import NIOPosix

/// A request whose connection becomes a raw byte stream after the response head, as Docker's
/// attach and exec do. Sends `Upgrade: tcp`; accepts 101 or 200.
public final class HijackedStream: @unchecked Sendable {
    public typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    private let connection: Connection
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var leftover: ByteBuffer?

    private init(connection: Connection, inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
                 outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, leftover: ByteBuffer?) {
        self.connection = connection
        self.inbound = inbound
        self.outbound = outbound
        self.leftover = leftover
    }

    static func open(address: DaemonAddress, tls: ClientTLS?, method: String, uri: String, body: Data = Data()) async throws -> HijackedStream {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
        let make: @Sendable (Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls, case .tcp(let host, _) = address { try channel.pipeline.syncOperations.addHandler(try tls.handler(host: host)) }
                return try Connection(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
        let connection: Connection
        let host: String
        do {
            switch address {
            case .unix(let path):
                connection = try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: make)
                host = "localhost"
            case .tcp(let name, let port):
                connection = try await bootstrap.connect(host: name, port: port, channelInitializer: make)
                host = "\(name):\(port)"
            }
        } catch {
            throw ClientError.unreachable(address, reason: "\(error)")
        }
        let request = "\(method) \(uri) HTTP/1.1\r\nHost: \(host)\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
            + "User-Agent: berth-cli/\(BerthVersion.version)\r\n\r\n"
        var inbound = connection.inbound.makeAsyncIterator()
        var head = ByteBuffer(string: request)
        head.writeBytes(body)
        try await connection.outbound.write(head)
        var received = ByteBuffer()
        while true {
            if let end = received.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) {
                let headLength = end.upperBound - received.readerIndex
                let head = received.readString(length: headLength) ?? ""
                let statusLine = head.split(separator: "\r\n").first ?? ""
                let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
                guard code == 101 || code == 200 else {
                    var body = received
                    while body.readableBytes < 1 << 20, var more = try await inbound.next() { body.writeBuffer(&more) }
                    let text = String(buffer: body)
                    let message = (try? JSONDecoder().decode(ErrorResponse.self, from: Data(text.utf8)))?.message ?? text
                    throw ClientError.daemon(status: code, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                return HijackedStream(connection: connection, inbound: inbound, outbound: connection.outbound,
                                      leftover: received.readableBytes > 0 ? received : nil)
            }
            guard var chunk = try await inbound.next() else {
                throw ClientError.malformedResponse("connection closed before the attach response")
            }
            received.writeBuffer(&chunk)
        }
    }

    /// The next bytes from the container; nil when the stream ends.
    public func read() async throws -> ByteBuffer? {
        if let leftover {
            self.leftover = nil
            return leftover
        }
        return try await inbound.next()
    }

    public func write(_ bytes: ByteBuffer) async throws {
        try await outbound.write(bytes)
    }

    /// Ends the input (the container sees end of file on stdin), keeps reading.
    public func closeInput() {
        outbound.finish()
    }

    public func close() async {
        try? await connection.channel.close()
    }
}
