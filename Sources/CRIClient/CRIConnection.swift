import CRIProtocol
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// A gRPC connection to a CRI runtime's unix socket, with a client for each of its services.
public struct CRIConnection: Sendable {
    public typealias Transport = HTTP2ClientTransport.Posix

    /// berthd's CRI socket unless `berthd --cri-socket` says otherwise.
    public static let defaultSocket = "/run/berth/cri.sock"

    public let runtime: Runtime_V1_RuntimeService.Client<Transport>
    public let images: Runtime_V1_ImageService.Client<Transport>

    /// Connects to `socket`, runs `body`, and closes the connection, whether `body` returns or throws.
    public static func with<Result: Sendable>(
        socket: String, _ body: (CRIConnection) async throws -> Result
    ) async throws -> Result {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(CRIConnection(runtime: .init(wrapping: client), images: .init(wrapping: client)))
        }
    }
}
