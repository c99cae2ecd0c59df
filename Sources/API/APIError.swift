import Foundation
import NIOHTTP1
import SystemSupport

/// An error a route throws to answer with a status and Docker's `{"message": ...}` body.
public struct APIError: Error, CustomStringConvertible {
    public var status: HTTPResponseStatus
    public var message: String

    public init(_ status: HTTPResponseStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// A system call of the server's own failed: `operation` and errno's words.
    static func systemCall(_ operation: String, _ code: Int32) -> APIError {
        APIError(.internalServerError, "\(operation): \(SystemError.text(code))")
    }

    public var description: String { message }
}
