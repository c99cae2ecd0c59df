import NIOCore
import SPDY

/// Forwards connections through a PortForward URL as kubectl does (SPDY, protocol
/// portforward.k8s.io): each is an error stream and a data stream naming the pod's port.
public final class PortForwardClient: Sendable {
    private let connection: SPDYConnection
    private let nextRequest = RequestCounter()

    private init(connection: SPDYConnection) {
        self.connection = connection
    }

    /// Connects to the URL PortForward gave.
    public static func connect(_ url: String) async throws -> PortForwardClient {
        let (connection, _) = try await StreamingConnection.open(url, protocols: ["portforward.k8s.io"])
        return PortForwardClient(connection: connection)
    }

    /// One connection to `port` on the pod's loopback: sends `request`, half-closes, and returns all
    /// the pod's side sent back before it closed; throws the server's error for the connection.
    public func exchange(port: Int, request: ByteBuffer) async throws -> ByteBuffer {
        let id = await nextRequest.next()
        let headers: [(String, String)] = [("port", "\(port)"), ("requestID", "\(id)")]
        let errors = try await connection.openStream(SPDYHeaders([("streamType", "error")] + headers))
        try await errors.finish()
        let data = try await connection.openStream(SPDYHeaders([("streamType", "data")] + headers))
        try await data.write(request)
        try await data.finish()
        var reply = ByteBuffer()
        for await var chunk in data.inbound { reply.writeBuffer(&chunk) }
        var message = ""
        for await chunk in errors.inbound { message += String(buffer: chunk) }
        guard message.isEmpty else { throw StreamingClientError.failed("an error occurred forwarding to port \(port): \(message)") }
        return reply
    }

    public func close() async {
        await connection.close()
    }

    private actor RequestCounter {
        private var value = 0
        func next() -> Int {
            defer { value += 1 }
            return value
        }
    }
}
