import Foundation
import NIOCore
import NIOPosix
import SPDY

/// A client's SPDY connection to a CRI streaming URL (Exec's, Attach's or PortForward's).
enum StreamingConnection {
    /// Connects to `url`, upgrades to SPDY/3.1 offering `protocols`, and returns the connection
    /// with the protocol the server chose.
    static func open(_ url: String, protocols: [String]) async throws -> (SPDYConnection, String) {
        guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host else {
            throw StreamingClientError.invalidURL(url)
        }
        let port = parsed.port ?? 80
        let path = parsed.path.isEmpty ? "/" : parsed.path + (parsed.query.map { "?" + $0 } ?? "")
        var request = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        for name in protocols { request += "X-Stream-Protocol-Version: \(name)\r\n" }
        request += "Content-Length: 0\r\n\r\n"
        let requestBytes = ByteBuffer(string: request)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port).get()
        do {
            let (response, connection) = try await channel.eventLoop.flatSubmit {
                let answer = channel.eventLoop.makePromise(of: HTTPUpgradeRequester.Response.self)
                do {
                    try channel.pipeline.syncOperations.addHandler(HTTPUpgradeRequester(request: requestBytes, response: answer))
                    let connection = try SPDYConnection.install(on: channel, isServer: false)
                    return answer.futureResult.map { ($0, connection) }
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }.get()
            guard response.status == 101 else {
                throw StreamingClientError.refused(status: response.status, message: response.body.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            guard let chosen = response.header("X-Stream-Protocol-Version"), protocols.contains(chosen) else {
                throw StreamingClientError.badResponse("the server chose no protocol of \(protocols)")
            }
            return (connection, chosen)
        } catch {
            try? await channel.close()
            throw error
        }
    }
}
