import Foundation
import Synchronization

/// The streaming requests issued and not yet used, by token. A token is good once, for a minute,
/// as kubelet's own streaming server has it: the URL is a capability, handed out over the CRI
/// socket only root may reach.
final class StreamingRequestCache: Sendable {
    static let lifetime: Duration = .seconds(60)
    /// Far above what kubelet keeps outstanding; a flood of calls cannot grow the cache without end.
    static let capacity = 1000

    private struct Entry {
        let request: StreamingRequest
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Stores `request` and returns its new token.
    func insert(_ request: StreamingRequest) throws -> String {
        let token = Self.newToken()
        let now = ContinuousClock.now
        try entries.withLock { entries in
            entries = entries.filter { $0.value.expires > now }
            guard entries.count < Self.capacity else { throw CRIError.exhausted("too many streaming requests outstanding") }
            entries[token] = Entry(request: request, expires: now + Self.lifetime)
        }
        return token
    }

    /// The request of `token`, which is used up; nil for an unknown or expired token.
    func take(_ token: String) -> StreamingRequest? {
        entries.withLock { entries in
            guard let entry = entries.removeValue(forKey: token), entry.expires > .now else { return nil }
            return entry.request
        }
    }

    /// 128 random bits, URL-safe.
    private static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
