import Engine
import Logging
import NIOCore
import NIOHTTP1
import SPDY

/// Upgrades a streaming URL's request to SPDY/3.1: the token must be one issued and unused, and the
/// client must speak the route's stream protocol. A refusal reaches `StreamingRefusalHandler`,
/// which answers it.
final class StreamingUpgrader: HTTPServerProtocolUpgrader {
    let supportedProtocol = "SPDY/3.1"
    let requiredUpgradeHeaders: [String] = []

    /// The protocols of each kind of request, best first; clients send theirs the same way.
    static let remoteCommandProtocols = ["v4.channel.k8s.io"]
    static let portForwardProtocols = ["portforward.k8s.io"]
    static let protocolHeader = "X-Stream-Protocol-Version"

    private let requests: StreamingRequestCache
    private let containers: ContainerService
    private let logger: Logger
    private var accepted: StreamingRequest?

    init(requests: StreamingRequestCache, containers: ContainerService, logger: Logger) {
        self.requests = requests
        self.containers = containers
        self.logger = logger
    }

    func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead,
                              initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        channel.eventLoop.makeCompletedFuture {
            let parts = upgradeRequest.uri.split(separator: "?")[0].split(separator: "/")
            guard parts.count == 2, let request = requests.take(String(parts[1])), request.route == parts[0] else {
                throw StreamingRefusal(status: .notFound, message: "unknown or expired streaming URL")
            }
            let offered = upgradeRequest.headers[canonicalForm: Self.protocolHeader].map(String.init)
            let served = if case .portForward = request { Self.portForwardProtocols } else { Self.remoteCommandProtocols }
            guard let chosen = offered.first(where: served.contains) else {
                throw StreamingRefusal(status: .forbidden,
                                       message: "unable to upgrade: unable to negotiate protocol: client supports \(offered), server accepts \(served)")
            }
            accepted = request
            var headers = initialResponseHeaders
            headers.add(name: Self.protocolHeader, value: chosen)
            return headers
        }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        context.eventLoop.makeCompletedFuture {
            guard let request = accepted else { throw StreamingRefusal(status: .notFound, message: "no streaming request") }
            let pipeline = context.pipeline.syncOperations
            pipeline.removeHandler(try pipeline.handler(type: StreamingRefusalHandler.self), promise: nil)
            let connection = try SPDYConnection.install(on: context.channel, isServer: true)
            let containers = containers, logger = logger
            Task {
                switch request {
                case .exec, .attach:
                    await RemoteCommandSession(request: request, containers: containers, logger: logger).run(on: connection)
                case .portForward(let sandboxID):
                    await PortForwardSession(sandboxID: sandboxID, containers: containers, logger: logger).run(on: connection)
                }
            }
        }
    }
}

/// Why a streaming request was not upgraded, and the HTTP status that says so.
struct StreamingRefusal: Error {
    let status: HTTPResponseStatus
    let message: String
}

/// Answers what was not upgraded: a refused upgrade with its reason, any other request with 400.
final class StreamingRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var refusal: StreamingRefusal?

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? StreamingRefusal {
            refusal = error
        } else {
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let refusal = refusal ?? StreamingRefusal(status: .badRequest, message: "streaming URLs take an upgrade to SPDY/3.1")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(refusal.message.utf8.count + 1)")
        headers.add(name: "Connection", value: "close")
        if refusal.status == .forbidden {
            for served in StreamingUpgrader.remoteCommandProtocols + StreamingUpgrader.portForwardProtocols {
                headers.add(name: "X-Accepted-Stream-Protocol-Versions", value: served)
            }
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: refusal.message + "\n")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
