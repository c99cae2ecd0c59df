import APIModels
import Foundation
import NIOCore
import NIOHTTP1

/// A response: a complete body, or a stream of chunks written as they come (events, logs).
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes(ByteBuffer)
        case stream(AsyncStream<ByteBuffer>)
        /// A file sent in chunks as fast as the client reads; removed afterwards when asked.
        case file(path: String, removeAfter: Bool)
        /// The connection is handed to the closure after the head (101 or 200); it ends the connection.
        case hijack(@Sendable (HijackedConnection) async throws -> Void)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: Body = .bytes(ByteBuffer())) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func json<Value: Encodable>(_ value: Value, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        do {
            var data = try encoder.encode(value)
            data.append(UInt8(ascii: "\n"))
            return HTTPResponse(
                status: status, headers: ["Content-Type": "application/json"], body: .bytes(ByteBuffer(bytes: data)))
        } catch {
            return .error(.internalServerError, "encoding the response failed: \(error)")
        }
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(ByteBuffer(string: text)))
    }

    /// Docker's error shape, `{"message": ...}`.
    public static func error(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        json(ErrorResponse(message: message), status: status)
    }
}
