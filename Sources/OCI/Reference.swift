/// An image reference: `[domain[:port]/]path[:tag][@digest]`, checked against the distribution
/// grammar. A reference without a domain is a local name; Berth has no implicit default registry.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// `registry.example:5000`, or nil for a local name.
    public var domain: String?
    /// `library/busybox`, `berth-test/busybox`.
    public var path: String
    public var tag: String?
    public var digest: Digest?

    public static let defaultTag = "latest"

    public init(domain: String?, path: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws {
        guard !text.isEmpty, text.utf8.count <= 4096 else { throw ReferenceError.malformed(text, "empty or too long") }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do {
                digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            } catch {
                throw ReferenceError.malformed(text, "\(error)")
            }
            rest = rest[..<at]
        }
        var tag: String?
        // A colon after the last slash separates the tag (a colon before it is a port).
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard let tag, Self.isValidTag(tag) else {
                throw ReferenceError.malformed(text, "invalid tag \"\(tag ?? "")\"")
            }
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain: String?
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
            guard Self.isValidDomain(first) else { throw ReferenceError.malformed(text, "invalid registry \"\(first)\"") }
            domain = first
            components.removeFirst()
        }
        guard !components.isEmpty, components.allSatisfy(Self.isValidPathComponent) else {
            if components.contains(where: { $0.contains(where: \.isUppercase) }) {
                throw ReferenceError.malformed(text, "repository name must be lowercase")
            }
            throw ReferenceError.malformed(text, "invalid repository name")
        }
        let path = components.joined(separator: "/")
        guard ((domain.map { $0.count + 1 } ?? 0) + path.count) <= 255 else {
            throw ReferenceError.malformed(text, "repository name longer than 255 characters")
        }
        self.init(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// `domain/path` or `path`.
    public var repository: String {
        domain.map { "\($0)/\(path)" } ?? path
    }

    /// With `latest` filled in when there is neither tag nor digest.
    public var withDefaultTag: Reference {
        var copy = self
        if tag == nil && digest == nil { copy.tag = Self.defaultTag }
        return copy
    }

    public var description: String {
        var text = repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.unicodeScalars.first, tag.unicodeScalars.count <= 128 else { return false }
        let word = { (scalar: Unicode.Scalar) in scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_") }
        return word(first) && tag.unicodeScalars.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if let colon = domain.lastIndex(of: ":") {
            guard let port = Int(domain[domain.index(after: colon)...]), (1...65535).contains(port) else { return false }
            host = domain[..<colon]
        }
        guard !host.isEmpty else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var index = 0
        while index < bytes.count {
            if isAlphanumeric(bytes[index]) { index += 1; continue }
            // A separator run: one '.', one or two '_', or any number of '-'.
            let start = index
            while index < bytes.count, !isAlphanumeric(bytes[index]) { index += 1 }
            let separator = bytes[start..<index]
            let valid = separator.elementsEqual([UInt8(ascii: ".")]) || separator.elementsEqual([UInt8(ascii: "_")])
                || separator.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")]) || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            if !valid { return false }
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

public enum ReferenceError: Error, Equatable, CustomStringConvertible {
    case malformed(String, String)

    public var description: String {
        switch self {
        case .malformed(let text, let reason): return "invalid reference format \"\(text)\": \(reason)"
        }
    }
}
