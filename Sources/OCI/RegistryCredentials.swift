/// A user name and password (or identity token) for one registry, as `berth login` stores them
/// and as the docker CLI sends them in `X-Registry-Auth`.
public struct RegistryCredentials: Sendable, Equatable, Codable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}
