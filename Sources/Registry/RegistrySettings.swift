import Foundation
import OCI

/// Which hosts serve each registry's images and how they are spoken to: Docker Hub's mirrors
/// (`--registry-mirror`, `registry-mirrors`) and the registries reached over plain HTTP
/// (`--insecure-registry`, `insecure-registries`: `host[:port]` or a CIDR), as dockerd reads them.
/// A mirror written `REGISTRY=URL` serves another registry's images, as containerd's and podman's
/// mirror settings do (an offline node's `registry.k8s.io=http://127.0.0.1:5000`).
public struct RegistrySettings: Sendable, Equatable {
    /// Docker Hub's mirror base URLs without a trailing slash: `http://127.0.0.1:5000`.
    public private(set) var mirrors: [String]
    /// Other registries' mirrors, by the registry's name (`registry.k8s.io`).
    public private(set) var registryMirrors: [String: [String]]
    /// `host[:port]` names spoken to over HTTP.
    public private(set) var insecureRegistries: [String]
    /// Address ranges whose registries are spoken to over HTTP; loopback always is.
    public private(set) var insecureCIDRs: [AddressRange]

    /// Docker Hub's registry API, where `docker.io` images come from when no mirror has them.
    public static let dockerHubRegistry = Reference.dockerHubRegistryHost
    /// Docker Hub's index, whose v1 search API answers `search` for bare terms.
    public static let dockerHubIndex = "index.docker.io"
    /// What dockerd reports as its index server.
    public static let indexServerAddress = "https://index.docker.io/v1/"

    /// Checks and normalises the values as dockerd does; an error names the value at fault.
    public init(mirrors: [String] = [], insecureRegistries: [String] = []) throws {
        var hubMirrors: [String] = [], registryMirrors: [String: [String]] = [:]
        for entry in mirrors {
            guard let equals = entry.firstIndex(of: "="), !entry[..<equals].contains("://") else {
                hubMirrors.append(try Self.normaliseMirror(entry))
                continue
            }
            let registry = String(entry[..<equals]).lowercased()
            guard Self.isValidHost(registry) else { throw RegistrySettingsError.invalid("invalid mirror: \"\(registry)\" is not a registry name") }
            let url = try Self.normaliseMirror(String(entry[entry.index(after: equals)...]))
            if Reference.domain(ofServerAddress: registry) == Reference.dockerHub {
                hubMirrors.append(url)
            } else {
                registryMirrors[registry, default: []].append(url)
            }
        }
        self.mirrors = hubMirrors
        self.registryMirrors = registryMirrors
        var names: [String] = []
        var ranges = [try AddressRange(parsing: "::1/128"), try AddressRange(parsing: "127.0.0.0/8")]
        for entry in insecureRegistries {
            guard !entry.contains("://") else {
                throw RegistrySettingsError.invalid("insecure registry \(entry) should not contain '://'")
            }
            if entry.contains("/") {
                let range = try AddressRange(parsing: entry)
                if !ranges.contains(range) { ranges.append(range) }
            } else {
                guard Self.isValidHost(entry) else { throw RegistrySettingsError.invalid("invalid insecure registry \(entry)") }
                if !names.contains(entry.lowercased()) { names.append(entry.lowercased()) }
            }
        }
        self.insecureRegistries = names
        self.insecureCIDRs = ranges
    }

    /// The hosts to try for a registry, in order: its mirrors, then the registry itself.
    public func pullEndpoints(for domain: String) -> [RegistryEndpoint] {
        let mirrored = domain == Reference.dockerHub ? mirrors : registryMirrors[domain.lowercased()] ?? []
        return mirrored.map { RegistryEndpoint(baseURL: $0, isMirror: true) } + [endpoint(for: domain)]
    }

    /// The registry itself, never a mirror: pushes, logins and manifests sent to one host.
    public func endpoint(for domain: String) -> RegistryEndpoint {
        let host = Self.host(for: domain)
        return RegistryEndpoint(baseURL: (isInsecure(host) ? "http://" : "https://") + host, isMirror: false)
    }

    /// The host a registry's API answers on: Docker Hub's names map to its registry host.
    public static func host(for domain: String) -> String {
        Reference.domain(ofServerAddress: domain) == Reference.dockerHub ? dockerHubRegistry : domain
    }

    /// Whether a registry is reached over plain HTTP: loopback, a listed name, or an address in a
    /// listed range (a name is looked up only when a range other than loopback is configured).
    public func isInsecure(_ domain: String) -> Bool {
        let lowered = domain.lowercased()
        if insecureRegistries.contains(lowered) { return true }
        let host = Self.hostPart(of: lowered)
        if insecureRegistries.contains(host) { return true }
        if host == "localhost" { return true }
        if let address = IPAddress(host) { return insecureCIDRs.contains { $0.contains(address) } }
        guard insecureCIDRs.count > 2 else { return false }
        return IPAddress.resolve(host).contains { address in insecureCIDRs.contains { $0.contains(address) } }
    }

    /// `host` from `host`, `host:port` or `[v6]:port`.
    static func hostPart(of domain: String) -> String {
        if domain.hasPrefix("[") { return String(domain.dropFirst().prefix(while: { $0 != "]" })) }
        return String(domain.split(separator: ":", maxSplits: 1).first ?? "")
    }

    /// dockerd's rules: an http or https URL with nothing but a host, port and an optional `/`.
    static func normaliseMirror(_ text: String) throws -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw RegistrySettingsError.invalid("invalid mirror: \"\(text)\" is not a valid URI (http:// or https:// and a host)")
        }
        guard components.user == nil, components.password == nil else {
            throw RegistrySettingsError.invalid("invalid mirror: \"\(text)\": credentials belong in the daemon's login, not the URL")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil else {
            throw RegistrySettingsError.invalid("invalid mirror: path, query or fragment are not allowed in \"\(text)\"")
        }
        let port = components.port.map { ":\($0)" } ?? ""
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed.lowercased())\(port)"
    }

    static func isValidHost(_ text: String) -> Bool {
        var host = Substring(text)
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return false }
            host = text[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { return IPAddress(String(host.dropFirst().dropLast())) != nil }
        return !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
    }

    /// dockerd's `IndexConfigs` for `/info`: Docker Hub with its mirrors, then each insecure name.
    public var indexConfigs: [String: IndexConfig] {
        var configs = [Reference.dockerHub: IndexConfig(name: Reference.dockerHub, mirrors: mirrors.map { $0 + "/" }, secure: true, official: true)]
        for name in insecureRegistries {
            configs[name] = IndexConfig(name: name, mirrors: [], secure: false, official: false)
        }
        for (name, urls) in registryMirrors {
            configs[name] = IndexConfig(name: name, mirrors: urls.map { $0 + "/" }, secure: !isInsecure(name), official: false)
        }
        return configs
    }

    public struct IndexConfig: Sendable, Equatable {
        public var name: String
        public var mirrors: [String]
        public var secure: Bool
        public var official: Bool
    }
}

/// One host to send registry requests to.
public struct RegistryEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `https://registry-1.docker.io`, `http://127.0.0.1:5000`: no trailing slash.
    public var baseURL: String
    public var isMirror: Bool

    public init(baseURL: String, isMirror: Bool) {
        self.baseURL = baseURL
        self.isMirror = isMirror
    }

    /// `host[:port]`, the key for tokens and credentials.
    public var host: String {
        String(baseURL.drop(while: { $0 != ":" }).dropFirst(3))
    }

    public var description: String { baseURL }
}

public enum RegistrySettingsError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): return message
        }
    }
}
