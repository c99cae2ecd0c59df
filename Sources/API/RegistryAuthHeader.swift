import Foundation
import NIOHTTP1
import OCI

/// Decodes `X-Registry-Auth`: base64url JSON `{"username", "password", "serveraddress"}` as the docker CLI sends it.
/// `X-Registry-Config` (builds): the same, one entry per registry address.
enum RegistryAuthHeader {
    struct AuthConfig: Decodable {
        var username: String?
        var password: String?
        var identitytoken: String?

        var credentials: RegistryCredentials? {
            if let username, !username.isEmpty { return RegistryCredentials(username: username, password: password ?? "") }
            if let identitytoken, !identitytoken.isEmpty { return RegistryCredentials(username: "<token>", password: identitytoken) }
            return nil
        }
    }

    static func credentials(from headers: HTTPHeaders) throws -> RegistryCredentials? {
        guard let header = headers.first(name: "X-Registry-Auth"), !header.isEmpty else { return nil }
        guard let data = decode(header), let config = try? JSONDecoder().decode(AuthConfig.self, from: data) else {
            throw APIError.badRequest("invalid X-Registry-Auth header")
        }
        return config.credentials
    }

    /// Keyed by registry domain as references name them: Docker Hub's `https://index.docker.io/v1/` is `docker.io`.
    static func credentialsByRegistry(from headers: HTTPHeaders) throws -> [String: RegistryCredentials] {
        guard let header = headers.first(name: "X-Registry-Config"), !header.isEmpty else { return [:] }
        guard let data = decode(header), let configs = try? JSONDecoder().decode([String: AuthConfig].self, from: data) else {
            throw APIError.badRequest("invalid X-Registry-Config header")
        }
        var byRegistry: [String: RegistryCredentials] = [:]
        for (address, config) in configs {
            guard let credentials = config.credentials else { continue }
            byRegistry[Reference.domain(ofServerAddress: address)] = credentials
        }
        return byRegistry
    }

    /// Base64url (the docker CLI's) or standard base64, padding optional.
    private static func decode(_ header: String) -> Data? {
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
