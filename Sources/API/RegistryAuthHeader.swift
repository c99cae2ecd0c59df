import Foundation
import NIOHTTP1
import Registry

/// Decodes `X-Registry-Auth`: base64url JSON `{"username", "password", "serveraddress"}` as the docker CLI sends it.
enum RegistryAuthHeader {
    static func credentials(from headers: HTTPHeaders) throws -> RegistryCredentials? {
        guard let header = headers.first(name: "X-Registry-Auth"), !header.isEmpty else { return nil }
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        struct AuthConfig: Decodable {
            var username: String?
            var password: String?
            var identitytoken: String?
        }
        guard let data = Data(base64Encoded: base64), let config = try? JSONDecoder().decode(AuthConfig.self, from: data) else {
            throw APIError.badRequest("invalid X-Registry-Auth header")
        }
        if let username = config.username, !username.isEmpty {
            return RegistryCredentials(username: username, password: config.password ?? "")
        }
        if let token = config.identitytoken, !token.isEmpty {
            return RegistryCredentials(username: "<token>", password: token)
        }
        return nil
    }
}
