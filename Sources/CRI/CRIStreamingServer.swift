import Engine
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// kubelet's streaming server, berthd's own: Exec, Attach and PortForward answer with a URL on it,
/// good once, which the client upgrades to SPDY/3.1 to carry its streams. It listens on loopback
/// by default, where kubelet runs.
public final class CRIStreamingServer: Sendable {
    /// Where the URLs point, as http://host:port.
    public let baseURL: String
    private let requests: StreamingRequestCache
    private let channel: Channel

    private init(baseURL: String, channel: Channel, requests: StreamingRequestCache) {
        self.baseURL = baseURL
        self.channel = channel
        self.requests = requests
    }

    /// Listens on `host`:`port` (port 0 takes any free one).
    public static func bind(host: String, port: Int, containers: ContainerService, logger: Logger) async throws -> CRIStreamingServer {
        let requests = StreamingRequestCache()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = StreamingUpgrader(requests: requests, containers: containers, logger: logger)
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false,
                                                             withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }),
                                                             withErrorHandling: true)
                    try pipeline.addHandler(StreamingRefusalHandler())
                }
            }
            .bind(host: host, port: port).get()
        guard let address = channel.localAddress, let boundPort = address.port else {
            try? await channel.close()
            throw CRIError.invalid("the streaming server has no address")
        }
        let shownHost = address.protocol == .inet6 ? "[\(address.ipAddress ?? host)]" : (address.ipAddress ?? host)
        return CRIStreamingServer(baseURL: "http://\(shownHost):\(boundPort)", channel: channel, requests: requests)
    }

    /// A URL for `request`, good once for a minute.
    func url(for request: StreamingRequest) throws -> String {
        "\(baseURL)/\(request.route)/\(try requests.insert(request))"
    }

    public func close() async {
        try? await channel.close()
    }
}
