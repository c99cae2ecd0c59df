import APIClient
import APIModels
import ArgumentParser
import Foundation

@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Run OCI images of any platform: natively, or in a utility VM of their architecture.",
        version: BerthVersion.version,
        subcommands: [
            VersionCommand.self, InfoCommand.self, SystemCommand.self, EventsCommand.self, PullCommand.self, PushCommand.self,
            ImagesCommand.self, RmiCommand.self, TagCommand.self, HistoryCommand.self, SaveCommand.self, LoadCommand.self, ImportCommand.self,
            ImageCommand.self, LoginCommand.self, LogoutCommand.self, BuildCommand.self,
            RunCommand.self, CreateCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self, KillCommand.self,
            RmCommand.self, WaitCommand.self, PsCommand.self, LogsCommand.self, ContainerInspectCommand.self,
            ExecCommand.self, AttachCommand.self, PauseCommand.self, UnpauseCommand.self, RenameCommand.self, UpdateCommand.self,
            CommitCommand.self, TopCommand.self, StatsCommand.self, DiffCommand.self, ExportCommand.self, CopyCommand.self,
            ContainerCommand.self, VolumeCommand.self, NetworkCommand.self, PortCommand.self, SearchCommand.self, CRICommand.self,
        ])

    /// Accepts Docker's global `-H ADDR` before the command (`berth -H unix:///s version`) by
    /// handing it to the command through `BERTH_HOST`, then runs the command as usual.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // Global flags before the command, as docker's: the daemon's address and its TLS.
        let valued = ["--host": "BERTH_HOST", "--tlscacert": "BERTH_TLS_CACERT", "--tlscert": "BERTH_TLS_CERT", "--tlskey": "BERTH_TLS_KEY"]
        let switches = ["--tls": "BERTH_TLS", "--tlsverify": "BERTH_TLS_VERIFY"]
        while let first = arguments.first {
            let name = first.hasPrefix("-H") ? "--host" : String(first.prefix { $0 != "=" })
            if let variable = switches[name] {
                let value = first.contains("=") ? String(first.drop { $0 != "=" }.dropFirst()) : "true"
                if value == "false" { unsetenv(variable) } else { setenv(variable, "1", 1) }
                arguments.removeFirst()
            } else if let variable = valued[name] {
                if first.hasPrefix("-H"), first.count > 2 {
                    setenv(variable, String(first.dropFirst(2)), 1)
                    arguments.removeFirst()
                } else if first.contains("=") {
                    setenv(variable, String(first.drop { $0 != "=" }.dropFirst()), 1)
                    arguments.removeFirst()
                } else if arguments.count > 1 {
                    setenv(variable, arguments[1], 1)
                    arguments.removeFirst(2)
                } else {
                    break
                }
            } else {
                break
            }
        }
        arguments = BuildCommand.spellingBarePull(arguments)
        arguments = CRICommand.movingEndpointAfterVerb(arguments)
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// `-H/--host`, shared by every command that talks to berthd; TLS comes from the global flags
/// (`--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`, `--tlskey`) or `BERTH_TLS_VERIFY` and `BERTH_CERT_PATH`.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("H"), .long], help: "Daemon address: unix:///path or tcp://host:port (default: $BERTH_HOST, else unix:///run/berth/berth.sock).")
    var host: String?

    /// Runs `body` with a client, closing it after, and turns failures into one line and exit 1.
    func withClient<Result>(_ body: (BerthClient) async throws -> Result) async throws -> Result {
        try await withClient(exitCode: { _ in 1 }, body)
    }

    /// The same, with the exit status for a daemon's refusal chosen by `exitCode`.
    private func withClient<Result>(exitCode: (ClientError) -> Int32, _ body: (BerthClient) async throws -> Result)
        async throws -> Result
    {
        let address: DaemonAddress
        do {
            address = try DaemonAddress.resolve(flag: host, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let tls = ClientTLS.resolve(environment: ProcessInfo.processInfo.environment)
        do {
            try tls?.check()
        } catch {
            Output.error("\(error)")
            throw ExitCode(1)
        }
        let client = BerthClient(address: address, tls: tls)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch let error as ClientError {
            await client.shutdown()
            Output.error("\(error)")
            throw ExitCode(exitCode(error))
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

enum Output {
    static func json<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// `inspect`: the objects as a JSON array, or one line per object through `--format`.
    static func inspect(_ objects: [JSONValue], template: OutputTemplate?) throws {
        guard let template else { return try json(objects) }
        for object in objects { print(template.render(object)) }
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("berth: \(message)\n".utf8))
    }
}

extension ConnectionOptions {
    /// Like `withClient`, with Docker's exit codes for `run`/`create`/`exec`: 125 when the daemon
    /// refuses, 126 when the command cannot be executed, 127 when it is not found.
    func withDockerExitCodes(_ body: (BerthClient) async throws -> Int32) async throws -> Int32 {
        try await withClient(exitCode: { error in
            let text = "\(error)"
            if text.contains("executable file not found") || text.contains("no such file or directory") { return 127 }
            if text.contains("permission denied") || text.contains("is a directory") { return 126 }
            return 125
        }, body)
    }
}
