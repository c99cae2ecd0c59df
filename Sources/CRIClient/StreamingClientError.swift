/// Why a streaming URL's session failed.
public enum StreamingClientError: Error, CustomStringConvertible {
    case invalidURL(String)
    case badResponse(String)
    /// The server answered the upgrade with another status: its status and its words.
    case refused(status: Int, message: String)
    case connectionClosed
    /// The server's error stream said the command failed, not why it exited.
    case failed(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid streaming URL \(url)"
        case .badResponse(let reason): "bad response from the streaming server: \(reason)"
        case .refused(let status, let message): "unable to upgrade connection (\(status)): \(message)"
        case .connectionClosed: "the streaming connection closed"
        case .failed(let message): message
        }
    }
}
