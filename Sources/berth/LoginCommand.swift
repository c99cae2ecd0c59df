import APIClient
import ArgumentParser
import Foundation

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Log in to a registry; credentials are kept in Docker's config.json.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "User name.")
    var username: String?

    @Option(name: [.short, .long], help: "Password (prefer --password-stdin).")
    var password: String?

    @Flag(help: "Read the password from standard input.")
    var passwordStdin = false

    @Argument(help: "Registry, host[:port] (default: Docker Hub).")
    var server: String = CredentialStore.dockerHubKey

    func run() async throws {
        let server = CredentialStore.key(for: server)
        guard let username else { throw ValidationError("--username is required") }
        var secret = password
        if passwordStdin {
            guard password == nil else { throw ValidationError("--password and --password-stdin are mutually exclusive") }
            secret = readLine(strippingNewline: true)
        }
        guard let secret, !secret.isEmpty else { throw ValidationError("a password is required (--password-stdin)") }
        let status = try await connection.withClient { try await $0.login(server: server, username: username, password: secret) }
        try CredentialStore.store(server: server, username: username, password: secret)
        print(status)
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Forget a registry's credentials.")

    @Argument(help: "Registry, host[:port] (default: Docker Hub).")
    var server: String = CredentialStore.dockerHubKey

    func run() async throws {
        let server = CredentialStore.key(for: server)
        try CredentialStore.store(server: server, username: nil, password: nil)
        print("Removing login credentials for \(server)")
    }
}
