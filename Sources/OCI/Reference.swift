/// An image reference: `[domain[:port]/]path[:tag][@digest]`, checked against the distribution
/// grammar and normalised as Docker does: a first component is a registry only if it holds a `.` or
/// a `:` or is `localhost`; anything else lives on Docker Hub (`docker.io`), and a one-component
/// Docker Hub name is an official image under `library/`. `alpine`, `library/alpine`,
/// `docker.io/library/alpine` and `index.docker.io/library/alpine` are one reference.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// `docker.io`, `registry.example:5000`, `localhost`.
    public var domain: String
    /// `library/busybox`, `berth-test/busybox`.
    public var path: String
    public var tag: String?
    public var digest: Digest?

    public static let defaultTag = "latest"
    /// Docker Hub, the registry of names that give none.
    public static let dockerHub = "docker.io"
    /// The namespace of Docker Hub's official images.
    static let officialNamespace = "library"
    /// Docker Hub's legacy name, read as `docker.io`.
    static let legacyDockerHub = "index.docker.io"
    /// Docker Hub's registry API host, where its images are served from.
    public static let dockerHubRegistryHost = "registry-1.docker.io"

    /// The registry a server address names, as `docker login` reads it: `https://host:port/v2/` or
    /// `host:port` is `host:port`; Docker Hub's addresses (its index, its registry host), and none,
    /// are `docker.io`.
    public static func domain(ofServerAddress address: String) -> String {
        var text = Substring(address)
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        let host = String(text.split(separator: "/").first ?? "")
        return ["", dockerHub, legacyDockerHub, dockerHubRegistryHost].contains(host) ? dockerHub : host
    }

    public init(domain: String, path: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws {
        guard !text.isEmpty, text.utf8.count <= 4096 else { throw ReferenceError.malformed(text, "empty or too long") }
        if text.utf8.count == 64, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            throw ReferenceError.malformed(text, "cannot specify 64-byte hexadecimal strings")
        }
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
        var domain = Self.dockerHub
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
            guard Self.isValidDomain(first) else { throw ReferenceError.malformed(text, "invalid registry \"\(first)\"") }
            domain = first == Self.legacyDockerHub ? Self.dockerHub : first
            components.removeFirst()
        }
        guard !components.isEmpty, components.allSatisfy(Self.isValidPathComponent) else {
            if components.contains(where: { $0.contains(where: \.isUppercase) }) {
                throw ReferenceError.malformed(text, "repository name must be lowercase")
            }
            throw ReferenceError.malformed(text, "invalid repository name")
        }
        if domain == Self.dockerHub && components.count == 1 { components.insert(Self.officialNamespace, at: 0) }
        let path = components.joined(separator: "/")
        guard domain.count + 1 + path.count <= 255 else {
            throw ReferenceError.malformed(text, "repository name longer than 255 characters")
        }
        self.init(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// `domain/path`, as stored and as sent to registries: `docker.io/library/alpine`.
    public var repository: String {
        "\(domain)/\(path)"
    }

    /// The repository as Docker shows it: Docker Hub's domain and `library/` left out (`alpine`,
    /// `berth-test/busybox`), other registries' names in full.
    public var familiarRepository: String {
        guard domain == Self.dockerHub else { return repository }
        let namespace = Self.officialNamespace + "/"
        if path.hasPrefix(namespace), !path.dropFirst(namespace.count).contains("/") {
            return String(path.dropFirst(namespace.count))
        }
        return path
    }

    /// Whether the image lives on Docker Hub.
    public var isDockerHub: Bool { domain == Self.dockerHub }

    /// With `latest` filled in when there is neither tag nor digest.
    public var withDefaultTag: Reference {
        var copy = self
        if tag == nil && digest == nil { copy.tag = Self.defaultTag }
        return copy
    }

    /// The full, normalised name: `docker.io/library/alpine:latest`.
    public var description: String {
        repository + suffix
    }

    /// The name as Docker shows it: `alpine:latest`, `registry.example:5000/x:v1`.
    public var familiarDescription: String {
        familiarRepository + suffix
    }

    /// A stored (normalised) name as Docker shows it; text that is no reference is kept as is.
    public static func familiar(_ name: String) -> String {
        (try? Reference(parsing: name))?.familiarDescription ?? name
    }

    private var suffix: String {
        var text = ""
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
