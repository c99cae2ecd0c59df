import ArgumentParser
import Foundation
import OCI
import SystemSupport

/// Registry credentials saved by `berth login` (or `docker login`) in Docker's `config.json`
/// format, sent to berthd the way the docker CLI sends them: base64url JSON in `X-Registry-Auth`.
enum CredentialStore {
    static var configPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty { return directory + "/config.json" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.docker/config.json"
    }

    /// Saves (or with nil, forgets) credentials for `server`, keeping everything else in the file.
    /// Written to a temp file, fsynced and renamed, mode 0600: the file holds passwords.
    static func store(server: String, username: String?, password: String?) throws {
        var config: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: configPath) {
            guard let existing = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("\(configPath) is not a JSON object; not touching it")
            }
            config = existing
        }
        var auths = config["auths"] as? [String: Any] ?? [:]
        if let username, let password {
            auths[server] = ["auth": Data("\(username):\(password)".utf8).base64EncodedString()]
        } else {
            auths[server] = nil
        }
        config["auths"] = auths
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        let directory = (configPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try AtomicFile.write(data, to: configPath, permissions: 0o600)
    }

    /// The docker CLI's key for Docker Hub in `config.json`.
    static let dockerHubKey = "https://index.docker.io/v1/"

    /// The key credentials for `server` are kept under: Docker Hub's spellings share the docker CLI's.
    static func key(for server: String) -> String {
        let domain = Reference.domain(ofServerAddress: server)
        return domain == Reference.dockerHub ? dockerHubKey : domain
    }

    /// The key of the registry a reference names (Docker Hub's for a name without one).
    static func registry(of reference: String) -> String {
        key(for: (try? Reference(parsing: reference))?.domain ?? "")
    }

    /// The header value for the registry `reference` names, or nil when no credentials are saved.
    static func registryAuthHeader(for reference: String) throws -> String? {
        let server = registry(of: reference)
        guard let data = FileManager.default.contents(atPath: configPath) else { return nil }
        struct Config: Decodable {
            struct Entry: Decodable { var auth: String? }
            var auths: [String: Entry]?
        }
        guard let config = try? JSONDecoder().decode(Config.self, from: data),
              let encoded = config.auths?[server]?.auth, let decoded = Data(base64Encoded: encoded),
              let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":") else { return nil }
        let auth = ["username": String(pair[..<colon]), "password": String(pair[pair.index(after: colon)...]), "serveraddress": server]
        let json = try JSONSerialization.data(withJSONObject: auth, options: [.sortedKeys])
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
