import APIModels
import Engine
import Foundation
import NIOHTTP1
import OCI

/// `POST /auth`: checks credentials against a registry, as `docker login` asks the daemon to.
public enum AuthRoutes {
    struct AuthConfig: Decodable {
        var username: String?
        var password: String?
        var serveraddress: String?
    }

    struct AuthResponse: Encodable {
        var Status: String
        var IdentityToken: String
    }

    public static func register(on router: inout Router, registry: RegistryService) {
        router.add(.POST, "/auth") { request in
            guard let config = try? JSONDecoder().decode(AuthConfig.self, from: Data(request.body.readableBytesView)) else {
                throw APIError.badRequest("invalid auth configuration in the request body")
            }
            // No address is Docker Hub, as in Docker.
            let server = Reference.domain(ofServerAddress: config.serveraddress ?? "")
            guard let username = config.username, !username.isEmpty else { throw APIError.badRequest("username is required") }
            do {
                try await registry.login(domain: server, credentials: RegistryCredentials(username: username, password: config.password ?? ""))
            } catch ImageError.unauthorized(let message) {
                throw APIError(.unauthorized, "login to \(server) failed: \(message)")
            } catch {
                throw APIError(.internalServerError, "login to \(server) failed: \(error)")
            }
            return .json(AuthResponse(Status: "Login Succeeded", IdentityToken: ""))
        }
    }
}
