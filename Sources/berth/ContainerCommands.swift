import APIClient
import APIModels
import ArgumentParser
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Create and start a container; wait for it unless detached.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Run in the background and print the container ID.")
    var detach = false

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let request = try options.request()
        let code = try await connection.withDockerExitCodes { client in
            let created = try await options.createContainer(request, client: client)
            for warning in created.Warnings { Output.error("warning: \(warning)") }
            if detach {
                try await client.startContainer(created.Id)
                print(created.Id)
                return 0
            }
            let stream = try await client.attach(created.Id, stdin: options.interactive)
            let exit = try await client.beginWait(created.Id, condition: options.rm ? "removed" : "next-exit")
            do {
                try await client.startContainer(created.Id)
            } catch {
                await stream.close()
                if options.rm { _ = try? await exit.result() }
                throw error
            }
            let id = created.Id
            let session = AttachSession(stream: stream, tty: options.tty, forwardInput: options.interactive) { rows, columns in
                try? await client.resize("/containers/\(id)/resize", rows: rows, columns: columns)
            }
            if try await session.run() == .detached {
                return 0
            }
            return Int32(try await exit.result().StatusCode)
        }
        throw ExitCode(code)
    }
}

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container without starting it.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let request = try options.request()
        _ = try await connection.withDockerExitCodes { client in
            let created = try await options.createContainer(request, client: client)
            for warning in created.Warnings { Output.error("warning: \(warning)") }
            print(created.Id)
            return 0
        }
    }
}

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start containers.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Attach to the output and wait for the exit (one container).")
    var attach = false

    @Flag(name: [.short, .long], help: "Attach standard input.")
    var interactive = false

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        if attach || interactive {
            guard containers.count == 1 else { throw ValidationError("you cannot start and attach multiple containers at once") }
            let id = containers[0]
            let code = try await connection.withDockerExitCodes { client in
                let tty = try await client.inspectContainer(id).Config.Tty == true
                let stream = try await client.attach(id, stdin: interactive)
                let exit = try await client.beginWait(id, condition: "next-exit")
                try await client.startContainer(id)
                if try await AttachSession(stream: stream, tty: tty, forwardInput: interactive).run() == .detached { return 0 }
                return Int32(try await exit.result().StatusCode)
            }
            throw ExitCode(code)
        }
        try await forEach(containers, connection: connection) { client, id in try await client.startContainer(id) }
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop containers: the stop signal, then SIGKILL after a timeout.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Seconds to wait before killing (default: the container's, else 10).")
    var time: Int?

    @Option(name: [.short, .long], help: "Signal to send first.")
    var signal: String?

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection) { client, id in
            try await client.stopContainer(id, timeout: time, signal: signal)
        }
    }
}

struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart containers.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Seconds to wait for the stop before killing.")
    var time: Int?

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection) { client, id in try await client.restartContainer(id, timeout: time) }
    }
}

struct KillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to containers (SIGKILL by default).")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Signal to send.")
    var signal: String?

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection) { client, id in try await client.killContainer(id, signal: signal) }
    }
}

struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Kill and remove running containers.")
    var force = false

    @Flag(name: [.short, .long], help: "Remove the containers' anonymous volumes too.")
    var volumes = false

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection) { client, id in
            try await client.removeContainer(id, force: force, volumes: volumes)
        }
    }
}

struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait", abstract: "Wait for containers to stop; print their exit codes.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection, printName: false) { client, id in
            print(try await client.waitContainer(id, condition: "not-running").StatusCode)
        }
    }
}

struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Show all containers, not only running ones.")
    var all = false

    @Flag(name: [.short, .long], help: "Only show IDs.")
    var quiet = false

    @Option(name: [.short, .long], help: "Filter KEY=value: id, name, status, exited, ancestor, label. Repeatable.")
    var filter: [String] = []

    @Option(help: "table (the default), json, or a Go template such as '{{.ID}} {{.Names}}' ('table ...' adds a header).")
    var format: String?

    func run() async throws {
        let filters = try KeyValueArguments.filters(filter)
        let containers = try await connection.withClient { try await $0.containers(all: all, filters: filters) }
        if format == "json" { return try Output.json(containers) }
        if let format, format != "table" {
            let template = try OutputTemplate(format)
            for line in template.lines(containers.map(templateFields), titles: ["ID": "CONTAINER ID", "RunningFor": "CREATED",
                                                                              "CreatedAt": "CREATED AT"]) {
                print(line)
            }
            return
        }
        if quiet {
            for container in containers { print(String(container.Id.prefix(12))) }
            return
        }
        let rows = containers.map { container -> [String] in
            let command = container.Command.count > 20 ? String(container.Command.prefix(19)) + "…" : container.Command
            return [String(container.Id.prefix(12)), container.Image, "\"\(command)\"", Self.ago(container.Created),
                    container.Status, container.Names.first.map { String($0.dropFirst()) } ?? ""]
        }
        for line in InfoTable.table(header: ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"], rows: rows) {
            print(line)
        }
    }

    /// The fields Docker's `ps --format` offers, as its templates see them.
    private func templateFields(_ container: ContainerSummary) -> JSONValue {
        let created = Date(timeIntervalSince1970: TimeInterval(container.Created))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss Z 'UTC'"
        let labels = container.Labels.keys.sorted().map { "\($0)=\(container.Labels[$0] ?? "")" }.joined(separator: ",")
        return .object([
            "ID": .string(String(container.Id.prefix(12))), "Image": .string(container.Image),
            "Command": .string("\"\(container.Command)\""), "CreatedAt": .string(formatter.string(from: created)),
            "RunningFor": .string(Self.ago(container.Created)), "Ports": .string(""), "State": .string(container.State),
            "Status": .string(container.Status), "Size": .string(container.SizeRw.map { InfoTable.formatBytes($0) } ?? "0B"),
            "Names": .string(container.Names.map { String($0.dropFirst()) }.joined(separator: ",")),
            "Labels": .string(labels), "Mounts": .string(""), "Networks": .string(container.HostConfig.NetworkMode),
        ])
    }

    /// "3 minutes ago" for a time in seconds since the epoch; `info` says a template's age the same way.
    static func ago(_ seconds: Int64) -> String {
        let elapsed = Int(Date().timeIntervalSince1970) - Int(seconds)
        if elapsed < 60 { return "\(max(elapsed, 1)) seconds ago" }
        if elapsed < 3600 { return "\(elapsed / 60) minutes ago" }
        if elapsed < 86400 { return "\(elapsed / 3600) hours ago" }
        return "\(elapsed / 86400) days ago"
    }
}

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Show a container's output.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Keep following the output.")
    var follow = false

    @Option(name: [.customShort("n"), .long], help: "Only the last N lines, or all.")
    var tail: String?

    @Option(help: "Only output after this time (seconds since the epoch).")
    var since: String?

    @Option(help: "Only output before this time (seconds since the epoch).")
    var until: String?

    @Flag(name: [.short, .long], help: "Prefix each line with its time.")
    var timestamps = false

    @Argument(help: "Container, by name or ID.")
    var container: String

    func run() async throws {
        try await connection.withClient { client in
            let tty = try await client.inspectContainer(container).Config.Tty == true
            let body = try await client.logs(container, follow: follow, tail: tail, since: since, until: until, timestamps: timestamps)
            var demux = StreamDemultiplexer(tty: tty)
            for try await chunk in body { demux.feed(chunk) }
        }
    }
}

struct ContainerInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show containers' details as JSON.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "A Go template applied to each, e.g. '{{.State.Pid}}'.")
    var format: String?

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() async throws {
        let template = try format.map(OutputTemplate.init)
        let details = try await connection.withClient { client in
            var all: [JSONValue] = []
            for container in containers { all.append(try await client.inspectContainerRaw(container)) }
            return all
        }
        try Output.inspect(details, template: template)
    }
}

struct ContainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers.",
        subcommands: [RunCommand.self, CreateCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self,
                      KillCommand.self, RmCommand.self, WaitCommand.self, PsCommand.self, LogsCommand.self,
                      ContainerInspectCommand.self, ExecCommand.self, AttachCommand.self, PauseCommand.self,
                      UnpauseCommand.self, RenameCommand.self, UpdateCommand.self, CommitCommand.self, TopCommand.self, StatsCommand.self,
                      DiffCommand.self, ExportCommand.self, CopyCommand.self, ContainerPruneCommand.self])
}

/// Runs `body` for each container, printing each name as Docker does; failures are reported
/// one by one and make the exit status 1.
func forEach(_ containers: [String], connection: ConnectionOptions, printName: Bool = true,
             _ body: @escaping (BerthClient, String) async throws -> Void) async throws {
    let failed = try await connection.withClient { client in
        var failed = false
        for container in containers {
            do {
                try await body(client, container)
                if printName { print(container) }
            } catch let error as ClientError {
                Output.error("\(error)")
                failed = true
            }
        }
        return failed
    }
    if failed { throw ExitCode.failure }
}
