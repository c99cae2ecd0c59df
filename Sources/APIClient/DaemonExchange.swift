import APIModels
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SystemSupport

/// One HTTP/1.1 request to berthd on a connection of its own (inside TLS for a remote berthd).
/// The daemon is mostly local, so a fresh connection costs less than a general client's pool and
/// HTTP/2 machinery, which would also double the CLI's start-up time.
final class DaemonExchange: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    enum RequestBody: Sendable {
        case bytes(ByteBuffer)
        /// A file streamed in chunks, with its size as Content-Length.
        case file(path: String, size: Int64)
    }

    struct Response: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: ResponseBody
    }

    /// Sends the request and returns once the response head has arrived; the body is read as
    /// the caller consumes it, and the connection closes when it ends or the deadline passes.
    static func send(to address: DaemonAddress, tls: ClientTLS?, method: HTTPMethod, uri: String, headers: HTTPHeaders,
                     body: RequestBody?, timeout: TimeAmount?) async throws -> Response {
        let connection = try await connect(to: address, tls: tls)
        // Only the request goes out; NIO requires the writer be finished before it is released.
        defer { connection.outbound.finish() }
        let timedOut = NIOLockedValueBox(false)
        let channel = connection.channel
        let deadline = timeout.map { timeout in
            channel.eventLoop.scheduleTask(in: timeout) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        switch address {
        case .unix: head.headers.replaceOrAdd(name: "Host", value: "localhost")
        case .tcp(let host, let port): head.headers.replaceOrAdd(name: "Host", value: "\(host):\(port)")
        }
        head.headers.replaceOrAdd(name: "User-Agent", value: "berth-cli/\(BerthVersion.version)")
        switch body {
        case .bytes(let bytes): head.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.readableBytes))
        case .file(_, let size): head.headers.replaceOrAdd(name: "Content-Length", value: String(size))
        case nil: if method != .GET && method != .HEAD { head.headers.replaceOrAdd(name: "Content-Length", value: "0") }
        }
        let reader = ResponseReader(iterator: connection.inbound.makeAsyncIterator(), channel: channel, deadline: deadline,
                                    timedOut: timedOut)
        do {
            try await connection.outbound.write(.head(head))
            switch body {
            case .bytes(let bytes):
                try await connection.outbound.write(.body(.byteBuffer(bytes)))
            case .file(let path, _):
                guard let file = FileHandle(forReadingAtPath: path) else { throw ClientError.malformedResponse("cannot read \(path)") }
                defer { try? file.close() }
                while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
                    try await connection.outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
                }
            case nil:
                break
            }
            try await connection.outbound.write(.end(nil))
            let responseHead = try await reader.head()
            return Response(status: Int(responseHead.status.code), headers: responseHead.headers,
                            body: ResponseBody(reader: reader, isEmpty: method == .HEAD))
        } catch {
            reader.finish()
            if timedOut.withLockedValue({ $0 }) { throw ClientError.unreachable(address, reason: "timed out") }
            throw error
        }
    }

    private static func connect(to address: DaemonAddress, tls: ClientTLS?) async throws -> Connection {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        let make: @Sendable (Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls, case .tcp(let host, _) = address { try channel.pipeline.syncOperations.addHandler(try tls.handler(host: host)) }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
        do {
            switch address {
            case .unix(let path): return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: make)
            case .tcp(let host, let port): return try await bootstrap.connect(host: host, port: port, channelInitializer: make)
            }
        } catch let error as IOError {
            throw ClientError.unreachable(address, reason: SystemError.text(error.errnoCode))
        } catch {
            throw ClientError.unreachable(address, reason: "\(error)")
        }
    }

    private init() {}
}

/// The parts of one response as they arrive; owns the connection.
final class ResponseReader: @unchecked Sendable {
    // Used by one task at a time: the head by `send`, then the body by its single consumer.
    private var iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let channel: Channel
    private let deadline: Scheduled<Void>?
    private let timedOut: NIOLockedValueBox<Bool>
    private var ended = false

    init(iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator, channel: Channel,
         deadline: Scheduled<Void>?, timedOut: NIOLockedValueBox<Bool>) {
        self.iterator = iterator
        self.channel = channel
        self.deadline = deadline
        self.timedOut = timedOut
    }

    func head() async throws -> HTTPResponseHead {
        guard case .head(let head)? = try await nextPart() else {
            throw ClientError.malformedResponse("the connection closed before a response")
        }
        return head
    }

    /// The next piece of the body; nil at its end.
    func nextChunk() async throws -> ByteBuffer? {
        while !ended {
            switch try await nextPart() {
            case .body(let bytes)?: return bytes
            case .end?, nil: finish()
            case .head?: continue
            }
        }
        return nil
    }

    private func nextPart() async throws -> HTTPClientResponsePart? {
        do {
            let part = try await iterator.next()
            if part == nil, timedOut.withLockedValue({ $0 }) { throw ClientError.malformedResponse("the daemon did not answer in time") }
            return part
        } catch let error as ClientError {
            throw error
        } catch {
            if timedOut.withLockedValue({ $0 }) { throw ClientError.malformedResponse("the daemon did not answer in time") }
            throw error
        }
    }

    func finish() {
        guard !ended else { return }
        ended = true
        deadline?.cancel()
        channel.close(promise: nil)
    }

    deinit {
        deadline?.cancel()
        channel.close(promise: nil)
    }
}

/// A response body: chunks as they arrive, once.
public struct ResponseBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let reader: ResponseReader
    let isEmpty: Bool

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: ResponseReader
        let isEmpty: Bool

        public mutating func next() async throws -> ByteBuffer? {
            if isEmpty {
                reader.finish()
                return nil
            }
            return try await reader.nextChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader, isEmpty: isEmpty) }

    /// The whole body; more than `limit` bytes is an error.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var chunk in self {
            guard all.readableBytes + chunk.readableBytes <= limit else {
                throw ClientError.malformedResponse("a response larger than \(limit) bytes")
            }
            all.writeBuffer(&chunk)
        }
        return all
    }
}
