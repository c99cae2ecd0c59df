import APIModels
import OCI
import Registry

/// Registries as the daemon's clients reach them apart from pulls and pushes: `login`, `search`,
/// and the settings `info` reports. Failures come out as `ImageError`s.
public struct RegistryService: Sendable {
    let client: RegistryClient

    public init(client: RegistryClient) {
        self.client = client
    }

    /// Checks the credentials against the registry at `domain` (Docker Hub's is `docker.io`).
    public func login(domain: String, credentials: RegistryCredentials) async throws {
        try await ImageError.translatingErrors { try await client.login(domain: domain, credentials: credentials) }
    }

    /// Docker Hub's index for a bare term, a registry's catalog for `host[:port]/term`.
    public func search(_ term: String, limit: Int, credentials: RegistryCredentials?) async throws -> [SearchResult] {
        try await ImageError.translatingErrors { try await client.search(term, limit: limit, credentials: credentials) }
    }

    /// Mirrors, insecure ranges and index configurations, in `info`'s shape.
    public var configuration: SystemInfo.RegistryServiceConfig {
        let settings = client.settings
        return .init(
            InsecureRegistryCIDRs: settings.insecureCIDRs.map(\.description),
            IndexConfigs: settings.indexConfigs.mapValues {
                .init(Name: $0.name, Mirrors: $0.mirrors, Secure: $0.secure, Official: $0.official)
            },
            Mirrors: settings.mirrors.map { $0 + "/" })
    }

    /// Docker Hub's index address, as dockerd reports it.
    public static let indexServerAddress = RegistrySettings.indexServerAddress
}
