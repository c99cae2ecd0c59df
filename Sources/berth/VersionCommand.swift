import APIClient
import APIModels
import ArgumentParser
import Foundation

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Show the client's and the daemon's versions.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let server = try await connection.withClient { try await $0.version() }
        let client = ClientVersion(
            Version: BerthVersion.version, ApiVersion: APIVersion.current.description, Os: "linux", Arch: Self.arch)
        switch format {
        case .json:
            try Output.json(VersionReport(Client: client, Server: server))
        case .table:
            print("""
                Client:
                 Version:           \(client.Version)
                 API version:       \(client.ApiVersion)
                 OS/Arch:           \(client.Os)/\(client.Arch)

                Server: \(server.Platform.Name)
                 Engine:
                  Version:          \(server.Version)
                  API version:      \(server.ApiVersion) (minimum version \(server.MinAPIVersion))
                  Built with:       \(server.GoVersion)
                  OS/Arch:          \(server.Os)/\(server.Arch)
                  Kernel:           \(server.KernelVersion)
                """)
        }
    }

    static var arch: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}

struct ClientVersion: Encodable {
    var Version: String
    var ApiVersion: String
    var Os: String
    var Arch: String
}

struct VersionReport: Encodable {
    var Client: ClientVersion
    var Server: SystemVersion
}
