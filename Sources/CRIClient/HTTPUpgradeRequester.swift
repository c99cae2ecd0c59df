import NIOCore

/// Sends an HTTP/1.1 upgrade request as the connection opens and reads the response head; after
/// a 101 it passes the bytes on to the upgraded protocol's handlers, after anything else it keeps
/// the body for the error.
final class HTTPUpgradeRequester: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer

    struct Response: Sendable {
        let status: Int
        let headers: [(name: String, value: String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// A response head larger than this is no server's we speak to.
    static let largestHead = 64 * 1024

    private let request: ByteBuffer
    private let response: EventLoopPromise<Response>
    private var received = ByteBuffer()
    private var refused: Response?
    private var upgraded = false
    private var answered = false

    init(request: ByteBuffer, response: EventLoopPromise<Response>) {
        self.request = request
        self.response = response
    }

    private var sent = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        context.writeAndFlush(NIOAny(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if upgraded { return context.fireChannelRead(data) }
        received.writeBuffer(&bytes)
        if var refused {
            refused.body += received.readString(length: received.readableBytes) ?? ""
            self.refused = refused
            return
        }
        guard let end = received.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if received.readableBytes > Self.largestHead { fail(context, "the response head is too large") }
            return
        }
        let headLength = end.upperBound - received.readableBytesView.startIndex
        let head = received.readString(length: headLength) ?? ""
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard !lines.isEmpty, let status = Int(lines.removeFirst().split(separator: " ").dropFirst().first ?? "") else {
            return fail(context, "the response is not HTTP")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let parsed = Response(status: status, headers: headers, body: "")
        if status == 101 {
            upgraded = true
            answer(.success(parsed))
            if received.readableBytes > 0 { context.fireChannelRead(NIOAny(received)) }
            received = ByteBuffer()
        } else {
            refused = Response(status: status, headers: headers, body: received.readString(length: received.readableBytes) ?? "")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer(refused.map { .success($0) } ?? .failure(StreamingClientError.connectionClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        answer(.failure(error))
        context.fireErrorCaught(error)
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        answer(.failure(StreamingClientError.badResponse(reason)))
        context.close(promise: nil)
    }

    /// The first outcome is the answer; later ones (the close after an error) change nothing.
    private func answer(_ result: Result<Response, Error>) {
        guard !answered else { return }
        answered = true
        response.completeWith(result)
    }
}
