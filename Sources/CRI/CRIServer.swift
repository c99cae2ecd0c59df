import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import Synchronization

/// Serves the CRI's RuntimeService and ImageService over gRPC (HTTP/2, plaintext) on a unix socket
/// that only root may use: whoever reaches it can run anything on this host.
public final class CRIServer: Sendable {
    public let socketPath: String
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let logger: Logger
    private let closed = Mutex(false)

    private init(socketPath: String, server: GRPCServer<HTTP2ServerTransport.Posix>, logger: Logger) {
        self.socketPath = socketPath
        self.server = server
        self.logger = logger
    }

    /// Binds `path` (mode 0600, replacing a stale socket), ready for `run()`.
    public static func bind(path: String, runtime: CRIRuntimeService, images: CRIImageService, logger: Logger) throws -> CRIServer {
        let descriptor = try ListeningSocket.bind(path: path, mode: 0o600)
        let transport = HTTP2ServerTransport.Posix(listeningSocketDescriptor: Int(descriptor), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [runtime, images])
        return CRIServer(socketPath: path, server: server, logger: logger)
    }

    /// Serves until `close()`; a cancellation after it (berthd ending) is no failure.
    public func run() async throws {
        do {
            try await server.serve()
        } catch {
            if closed.withLock({ $0 }) { return }
            throw error
        }
    }

    /// Stops taking calls, lets those under way finish, and removes the socket.
    public func close() {
        closed.withLock { $0 = true }
        server.beginGracefulShutdown()
        unlink(socketPath)
    }
}
