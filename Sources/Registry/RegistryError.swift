import OCI

public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case unauthorized(String)
    case notFound(String)
    case http(status: Int, url: String, message: String)
    case unreachable(String, String)
    case badManifest(String)
    case noMatchingPlatform(reference: String, wanted: Platform, available: [Platform])
    case tooLarge(String, Int)
    case localContent(String)

    public var description: String {
        switch self {
        case .unauthorized(let detail): return "unauthorized: \(detail)"
        case .notFound(let detail): return "not found: \(detail)"
        case .http(let status, let url, let message): return "\(url): HTTP \(status)\(message.isEmpty ? "" : ": \(message)")"
        case .unreachable(let url, let reason): return "cannot reach \(url): \(reason)"
        case .badManifest(let detail): return "invalid manifest: \(detail)"
        case .noMatchingPlatform(let reference, let wanted, let available):
            return "no matching manifest for \(wanted) in the manifest list entries of \(reference) (it has: \(available.map(\.description).joined(separator: ", ")))"
        case .tooLarge(let what, let limit): return "\(what) is larger than \(limit) bytes"
        case .localContent(let detail): return "local content: \(detail)"
        }
    }
}
