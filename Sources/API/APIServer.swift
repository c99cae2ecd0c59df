import APIModels
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Serves a `Router` over HTTP/1.1 on a unix socket or a TCP address (with TLS, see `APIListener`).
///
/// Each connection is a task reading requests in order. A malformed request gets NIO's 400 and
/// the connection closes; oversized headers (over 80 KiB) and bodies are refused the same way.
public final class APIServer: Sendable {
    /// Requests are read through the async inbound stream; responses are written to the channel
    /// directly and awaited until the kernel has them, so closing after the last write never drops
    /// data still queued (large archives, long JSON).
    public typealias Connection = NIOAsyncChannel<ServerInbound, Never>

    /// Bodies larger than this are refused with 413 until a route asks to stream its body.
    public static let maximumBodySize = 1 << 20

    private let router: Router
    private let logger: Logger
    private let serverChannel: NIOAsyncChannel<Connection, Never>
    public let listener: APIListener
    /// Where spooled request bodies (image archives) are written.
    private let spoolDirectory: String

    private init(router: Router, logger: Logger, serverChannel: NIOAsyncChannel<Connection, Never>, listener: APIListener,
                 spoolDirectory: String) {
        self.router = router
        self.logger = logger
        self.serverChannel = serverChannel
        self.listener = listener
        self.spoolDirectory = spoolDirectory
    }

    /// Binds the listener, ready for `run()`: a unix socket replaces a stale one and gets its mode
    /// and group; a TLS address reads its certificates now, so a bad file fails the start.
    public static func bind(
        _ listener: APIListener, router: Router, spoolDirectory: String, logger: Logger,
        group: MultiThreadedEventLoopGroup = .singleton
    ) async throws -> APIServer {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            // A hijacked stream's client half-closes to end its input and still reads the output.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        let channel: NIOAsyncChannel<Connection, Never>
        switch listener {
        case .unix(let path, let mode, let owner):
            // The socket appears with the umask's mode; tighten the umask so it is never wider than `mode`.
            let previousMask = umask(~mode & 0o777)
            defer { umask(previousMask) }
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture { try makeConnection(channel, tls: nil) }
            }
            guard chmod(path, mode) == 0 else { throw APIError.systemCall("chmod \(path)", errno) }
            if let owner, chown(path, 0, owner) != 0 { throw APIError.systemCall("chown \(path)", errno) }
        case .tcp(let host, let port, let tls):
            let context = try tls?.makeContext()
            channel = try await bootstrap.bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try makeConnection(channel, tls: context) }
            }
        }
        return APIServer(router: router, logger: logger, serverChannel: channel, listener: listener, spoolDirectory: spoolDirectory)
    }

    /// TLS first when there is any, then HTTP. Requests are answered one at a time, so no
    /// pipelining assistance; a hijacked connection takes the HTTP handlers out again.
    private static func makeConnection(_ channel: Channel, tls: NIOSSLContext?) throws -> Connection {
        let pipeline = channel.pipeline.syncOperations
        if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
        try addHTTPHandlers(to: pipeline)
        return try Connection(wrappingChannelSynchronously: channel)
    }

    /// NIO's HTTP/1.1 parser, with its 400 for a malformed request, and the adapter that lets a
    /// hijacked connection take the HTTP handlers out.
    static func addHTTPHandlers(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
        try pipeline.addHandler(HTTPPartAdapter(), name: "http-adapter")
    }

    /// Accepts connections until `close()`; returns once every connection has ended.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await serverChannel.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    /// Stops accepting; open streams end when their producers finish.
    public func close() async {
        try? await serverChannel.channel.close()
        if case .unix(let path, _, _) = listener { unlink(path) }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound in
                let outbound = connection.channel
                var requests = inbound.makeAsyncIterator()
                while let part = try await requests.next() {
                    guard case .http(.head(let head)) = part else { continue }
                    var body = ByteBuffer()
                    var bodyTooLarge = false
                    let spool = router.spoolsBody(method: head.method, uri: head.uri) ? try BodySpool(directory: spoolDirectory) : nil
                    defer { spool?.remove() }
                    reading: while let inbound = try await requests.next() {
                        guard case .http(let part) = inbound else { return }
                        switch part {
                        case .body(var chunk):
                            if let spool {
                                try spool.write(chunk)
                            } else if body.readableBytes + chunk.readableBytes > Self.maximumBodySize {
                                bodyTooLarge = true
                            } else {
                                body.writeBuffer(&chunk)
                            }
                        case .end:
                            break reading
                        case .head:
                            return
                        }
                    }
                    try spool?.finish()
                    let response = bodyTooLarge
                        ? HTTPResponse.error(.payloadTooLarge, "request body larger than \(Self.maximumBodySize) bytes")
                        : await router.respond(method: head.method, uri: head.uri, headers: head.headers, body: body,
                                               bodyFile: spool?.path)
                    logger.debug("request", metadata: [
                        "method": "\(head.method.rawValue)", "uri": "\(head.uri)", "status": "\(response.status.code)",
                    ])
                    let keepAlive = head.isKeepAlive && !bodyTooLarge
                    switch response.body {
                    case .bytes(let bytes):
                        try await writeComplete(response, bytes: bytes, version: head.version, keepAlive: keepAlive, to: outbound)
                        if !keepAlive { return }
                    case .stream(let chunks):
                        try await writeStream(response, chunks: chunks, version: head.version, requests: requests, to: outbound)
                        return
                    case .file(let path, let removeAfter):
                        defer { if removeAfter { unlink(path) } }
                        try await writeFile(response, path: path, version: head.version, to: outbound)
                        return
                    case .hijack(let handler):
                        try await HijackedConnection.takeOver(channel: outbound, head: hijackHead(response, version: head.version))
                        try await handler(HijackedConnection(channel: outbound, inbound: requests))
                        return
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func responseHead(_ response: HTTPResponse, version: HTTPVersion) -> HTTPResponseHead {
        var headers = response.headers
        headers.replaceOrAdd(name: "Api-Version", value: APIVersion.current.description)
        headers.replaceOrAdd(name: "Docker-Experimental", value: "false")
        headers.replaceOrAdd(name: "Ostype", value: "linux")
        headers.replaceOrAdd(name: "Server", value: "Berth/\(BerthVersion.version) (linux)")
        return HTTPResponseHead(version: version, status: response.status, headers: headers)
    }

    /// The head of a hijacked response as raw text: no length, no transfer encoding.
    private func hijackHead(_ response: HTTPResponse, version: HTTPVersion) -> String {
        let head = responseHead(response, version: version)
        var text = "HTTP/\(version.major).\(version.minor) \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }

    private func writeComplete(
        _ response: HTTPResponse, bytes: ByteBuffer, version: HTTPVersion, keepAlive: Bool,
        to outbound: any Channel
    ) async throws {
        var head = responseHead(response, version: version)
        head.headers.replaceOrAdd(name: "Content-Length", value: "\(bytes.readableBytes)")
        if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        outbound.write(HTTPServerResponsePart.head(head), promise: nil)
        outbound.write(HTTPServerResponsePart.body(.byteBuffer(bytes)), promise: nil)
        try await outbound.writeAndFlush(HTTPServerResponsePart.end(nil))
    }

    /// Sends a file chunk by chunk; each write waits for the channel, so memory stays flat.
    private func writeFile(
        _ response: HTTPResponse, path: String, version: HTTPVersion,
        to outbound: any Channel
    ) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw APIError.systemCall("open \(path)", errno) }
        defer { try? handle.close() }
        var head = responseHead(response, version: version)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        head.headers.replaceOrAdd(name: "Content-Length", value: "\(size)")
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        try await outbound.writeAndFlush(HTTPServerResponsePart.head(head))
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            try await outbound.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: chunk))))
        }
        try await outbound.writeAndFlush(HTTPServerResponsePart.end(nil))
    }

    /// Writes chunks as they come; stops early when the client hangs up.
    private func writeStream(
        _ response: HTTPResponse, chunks: AsyncStream<ByteBuffer>, version: HTTPVersion,
        requests: NIOAsyncChannelInboundStream<ServerInbound>.AsyncIterator,
        to outbound: any Channel
    ) async throws {
        var head = responseHead(response, version: version)
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        try await outbound.writeAndFlush(HTTPServerResponsePart.head(head))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await chunk in chunks {
                    try await outbound.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(chunk)))
                }
                try await outbound.writeAndFlush(HTTPServerResponsePart.end(nil))
            }
            group.addTask {
                // Nothing more is read on a streaming connection; end of input means the client left.
                var remaining = requests
                while try await remaining.next() != nil {}
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
