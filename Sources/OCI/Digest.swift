/// A content digest, `algorithm:hex`. Berth produces and verifies sha256 only, as the image spec
/// requires registries to support; other algorithms are refused when parsed.
public struct Digest: Hashable, Sendable, Codable, Comparable, LosslessStringConvertible {
    public let algorithm: String
    public let encoded: String

    public init(sha256 hex: String) throws {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy(Self.isLowerHex) else {
            throw DigestError.malformed("sha256:" + hex)
        }
        algorithm = "sha256"
        encoded = hex
    }

    public init(parsing text: String) throws {
        guard text.hasPrefix("sha256:") else {
            if let colon = text.firstIndex(of: ":"), !text[..<colon].isEmpty {
                throw DigestError.unsupportedAlgorithm(String(text[..<colon]))
            }
            throw DigestError.malformed(text)
        }
        do {
            try self.init(sha256: String(text.dropFirst("sha256:".count)))
        } catch {
            throw DigestError.malformed(text)
        }
    }

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String { "\(algorithm):\(encoded)" }

    /// The first 12 hex digits, as Docker shows image and layer IDs.
    public var shortID: String { String(encoded.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

public enum DigestError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupportedAlgorithm(String)

    public var description: String {
        switch self {
        case .malformed(let text): return "invalid digest \"\(text)\": expected sha256:<64 hex digits>"
        case .unsupportedAlgorithm(let algorithm): return "unsupported digest algorithm \"\(algorithm)\": only sha256 is supported"
        }
    }
}
