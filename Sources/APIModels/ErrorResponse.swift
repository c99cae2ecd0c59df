/// Docker's error body: `{"message": "..."}`.
public struct ErrorResponse: Codable, Sendable, Equatable {
    public var message: String

    public init(message: String) {
        self.message = message
    }
}
