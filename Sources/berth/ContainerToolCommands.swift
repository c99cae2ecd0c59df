import APIClient
import APIModels
import ArgumentParser
import Foundation

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Run in the background.")
    var detach = false

    @Flag(name: .short, help: "Keep standard input open.")
    var interactive = false

    @Flag(name: .short, help: "Give the command a terminal.")
    var tty = false

    @Option(name: [.short, .long], help: "User: name|uid[:group|gid].")
    var user: String?

    @Option(name: [.short, .customLong("workdir")], help: "Working directory.")
    var workingDirectory: String?

    @Option(name: [.short, .customLong("env")], help: "Environment variable NAME=value. Repeatable.")
    var environment: [String] = []

    @Flag(help: "Give the command every capability.")
    var privileged = false

    @Argument(help: "Container, by name or ID.")
    var container: String

    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.")
    var command: [String]

    func run() async throws {
        var config = ExecConfig()
        config.Cmd = command
        config.Tty = tty
        if tty { config.ConsoleSize = WindowSizeWatcher.consoleSize }
        config.AttachStdin = interactive && !detach
        config.AttachStdout = !detach
        config.AttachStderr = !detach
        config.User = user
        config.WorkingDir = workingDirectory
        config.Env = environment.isEmpty ? nil : environment
        config.Privileged = privileged
        let code = try await connection.withDockerExitCodes { client in
            let execID = try await client.createExec(container, config)
            if detach {
                try await client.startExecDetached(execID)
                return 0
            }
            let stream = try await client.startExecAttached(execID, tty: tty)
            _ = try await AttachSession(stream: stream, tty: tty, forwardInput: interactive) { rows, columns in
                try? await client.resize("/exec/\(execID)/resize", rows: rows, columns: columns)
            }.run()
            return Int32(try await client.inspectExec(execID).ExitCode ?? 0)
        }
        throw ExitCode(code)
    }
}

struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attach", abstract: "Attach to a running container's input and output.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .customLong("no-stdin"), help: "Do not attach standard input.")
    var noStdin = false

    @Argument(help: "Container, by name or ID.")
    var container: String

    func run() async throws {
        let code = try await connection.withDockerExitCodes { client in
            let details = try await client.inspectContainer(container)
            let stdin = !noStdin && details.Config.OpenStdin == true
            let stream = try await client.attach(details.Id, stdin: stdin)
            let exit = try await client.beginWait(details.Id, condition: "next-exit")
            let id = details.Id
            let session = AttachSession(stream: stream, tty: details.Config.Tty == true, forwardInput: stdin) { rows, columns in
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

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Freeze every process of containers.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Containers, by name or ID.") var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection) { client, id in try await client.post("/containers/\(id)/pause") }
    }
}

struct UnpauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Thaw paused containers.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Containers, by name or ID.") var containers: [String]

    func run() async throws {
        try await forEach(containers, connection: connection) { client, id in try await client.post("/containers/\(id)/unpause") }
    }
}

struct RenameCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a container.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Container, by name or ID.") var container: String
    @Argument(help: "New name.") var name: String

    func run() async throws {
        try await connection.withClient { try await $0.post("/containers/\(container)/rename", query: [("name", name)]) }
    }
}

struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Update the resource limits and restart policy of one or more containers.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Memory limit, e.g. 64m.")
    var memory: String?

    @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit; -1 for unlimited swap.")
    var memorySwap: String?

    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit.")
    var memoryReservation: String?

    @Option(help: "CPUs, e.g. 1.5.")
    var cpus: Double?

    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "Relative CPU weight.")
    var cpuShares: Int64?

    @Option(name: .customLong("cpuset-cpus"), help: "CPUs the container may use (0-3, 0,1).")
    var cpusetCpus: String?

    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes the container may use.")
    var cpusetMems: String?

    @Option(name: .customLong("pids-limit"), help: "Most processes at once (-1 for no limit).")
    var pidsLimit: Int64?

    @Option(help: "Restart policy: no, always, unless-stopped, on-failure[:max-retries].")
    var restart: String?

    @Argument(help: "Containers, by name or ID.") var containers: [String]

    func run() async throws {
        var update = ContainerUpdateRequest()
        update.Memory = try memory.map(ContainerOptions.parseBytes)
        update.MemorySwap = try memorySwap.map { $0 == "-1" ? -1 : try ContainerOptions.parseBytes($0) }
        update.MemoryReservation = try memoryReservation.map(ContainerOptions.parseBytes)
        update.NanoCpus = cpus.map { Int64($0 * 1_000_000_000) }
        update.CpuShares = cpuShares
        update.CpusetCpus = cpusetCpus
        update.CpusetMems = cpusetMems
        update.PidsLimit = pidsLimit
        update.RestartPolicy = try restart.map(ContainerOptions.restartPolicy)
        try await forEach(containers, connection: connection) { client, container in try await client.update(container, update) }
    }
}

struct CommitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commit", abstract: "Make an image of a container's changes.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Commit message.")
    var message: String?

    @Option(name: [.short, .long], help: "Author.")
    var author: String?

    @Option(name: [.short, .long], help: "A Dockerfile instruction for the image: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE. Repeatable.")
    var change: [String] = []

    @Flag(name: [.short, .customLong("pause")], inversion: .prefixedNo, help: "Pause the container while committing.")
    var pause = true

    @Argument(help: "Container, by name or ID.") var container: String
    @Argument(help: "Image name: [registry/]repository[:tag].") var image: String?

    func run() async throws {
        let (repository, tag) = image.map(splitTag) ?? (nil, nil)
        let id = try await connection.withClient { client in
            try await client.commit(container, repository: repository, tag: tag, comment: message, author: author,
                                    changes: change, pause: pause)
        }
        print(id)
    }
}

struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Show a container's processes.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Container, by name or ID.") var container: String

    func run() async throws {
        let top = try await connection.withClient { try await $0.top(container) }
        guard case .object(let fields) = top, case .array(let titles)? = fields["Titles"], case .array(let rows)? = fields["Processes"] else {
            throw ValidationError("unexpected answer from the daemon")
        }
        func strings(_ value: JSONValue) -> [String] {
            guard case .array(let items) = value else { return [] }
            return items.map { if case .string(let text) = $0 { text } else { "" } }
        }
        for line in InfoTable.table(header: strings(.array(titles)), rows: rows.map(strings)) { print(line) }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show containers' resource use, refreshed every second until interrupted.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .customLong("no-stream"), help: "Print one reading and exit.") var noStream = false
    @Argument(help: "Containers, by name or ID (default: all running).") var containers: [String] = []

    static let header = ["CONTAINER", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]

    func run() async throws {
        try await connection.withClient { client in
            let names = containers.isEmpty ? try await client.containers(all: false, filters: [:]).map(\.Id) : containers
            if noStream {
                var rows: [[String]] = []
                for name in names { rows.append(Self.row(try await client.stats(name))) }
                for line in InfoTable.table(header: Self.header, rows: rows) { print(line) }
                return
            }
            try await stream(names, client: client)
        }
    }

    /// One stream per container; the table is redrawn each second with the latest of each, in
    /// place on a terminal, one table after another otherwise (as Docker does). Ends when every
    /// container has stopped.
    private func stream(_ names: [String], client: BerthClient) async throws {
        let streams = try await withThrowingTaskGroup(of: (Int, AsyncThrowingStream<JSONValue, Error>).self) { group in
            for (index, name) in names.enumerated() { group.addTask { (index, try await client.statsStream(name)) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        let latest = StatsBoard(count: names.count)
        let terminal = isatty(STDOUT_FILENO) == 1
        await withTaskGroup(of: Void.self) { group in
            for (index, readings) in streams {
                group.addTask {
                    do { for try await reading in readings { await latest.set(index, Self.row(reading)) } } catch {}
                    await latest.finish(index)
                }
            }
            group.addTask {
                while await !latest.allFinished {
                    let rows = await latest.rows
                    if !rows.isEmpty {
                        if terminal { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                        for line in InfoTable.table(header: Self.header, rows: rows) { print(line) }
                        fflush(stdout)
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    static func row(_ reading: JSONValue) -> [String] {
        func value(_ path: [String]) -> Double {
            var current = reading
            for key in path {
                guard case .object(let fields) = current, let next = fields[key] else { return 0 }
                current = next
            }
            if case .number(let number) = current { return number }
            return 0
        }
        func text(_ key: String) -> String {
            if case .object(let fields) = reading, case .string(let string)? = fields[key] { return string }
            return ""
        }
        let cpuDelta = value(["cpu_stats", "cpu_usage", "total_usage"]) - value(["precpu_stats", "cpu_usage", "total_usage"])
        let systemDelta = value(["cpu_stats", "system_cpu_usage"]) - value(["precpu_stats", "system_cpu_usage"])
        let cpus = max(value(["cpu_stats", "online_cpus"]), 1)
        let cpu = systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * cpus * 100 : 0
        let usage = value(["memory_stats", "usage"]) - value(["memory_stats", "stats", "total_inactive_file"])
        let limit = value(["memory_stats", "limit"])
        return [String(text("id").prefix(12)), String(text("name").dropFirst()), String(format: "%.2f%%", cpu),
                "\(InfoTable.formatBytes(Int64(usage))) / \(InfoTable.formatBytes(Int64(limit)))",
                String(format: "%.2f%%", limit > 0 ? usage / limit * 100 : 0), String(Int(value(["pids_stats", "current"])))]
    }
}

/// The latest row of each streamed container, and which streams have ended.
actor StatsBoard {
    private var latest: [[String]?]
    private var finished: Set<Int> = []

    init(count: Int) {
        latest = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ row: [String]) { latest[index] = row }
    func finish(_ index: Int) { finished.insert(index) }
    var rows: [[String]] { latest.compactMap { $0 } }
    var allFinished: Bool { finished.count == latest.count }
}

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "List files a container added (A), changed (C) or deleted (D).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Container, by name or ID.") var container: String

    func run() async throws {
        let changes = try await connection.withClient { try await $0.changes(container) }
        for change in changes {
            guard case .object(let fields) = change, case .string(let path)? = fields["Path"], case .number(let kind)? = fields["Kind"] else { continue }
            print("\(["C", "A", "D"][min(max(Int(kind), 0), 2)]) \(path)")
        }
    }
}

struct ContainerPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove every stopped container.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Do not ask for confirmation (Berth never asks).")
    var force = false

    func run() async throws {
        let result = try await connection.withClient { try await $0.pruneContainers() }
        print("Deleted Containers:")
        if case .object(let fields) = result, case .array(let ids)? = fields["ContainersDeleted"] {
            for case .string(let id) in ids { print(id) }
        }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a container's filesystem as a tar archive.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "File to write (default: standard output, if it is not a terminal).")
    var output: String?

    @Argument(help: "Container, by name or ID.") var container: String

    func run() async throws {
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) else {
                throw ValidationError("cannot write \(output)")
            }
            handle = file
        } else {
            guard isatty(STDOUT_FILENO) == 0 else { throw ValidationError("refusing to write an archive to a terminal: use -o FILE or redirect") }
            handle = FileHandle.standardOutput
        }
        try await connection.withClient { try await $0.export(container, to: handle) }
    }
}

/// `berth cp CONTAINER:PATH DEST` and `berth cp SOURCE CONTAINER:PATH`, through tar archives
/// (tar(1) packs and unpacks on this side).
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cp", abstract: "Copy files between a container and this host.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "CONTAINER:PATH or a local path.") var source: String
    @Argument(help: "A local path or CONTAINER:PATH.") var destination: String

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if let (container, path) = Self.split(source), Self.split(destination) == nil {
            let archive = scratch + "/archive.tar"
            FileManager.default.createFile(atPath: archive, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: archive))
            try await connection.withClient { try await $0.copyFrom(container, path: path, to: handle) }
            try handle.close()
            try Self.tar(["-xf", archive, "-C", scratch + "/"])
            let name = (path.hasSuffix("/") ? String(path.dropLast()) : path as String)
            let extracted = scratch + "/" + ((name as NSString).lastPathComponent)
            var isDirectory: ObjCBool = false
            let target = FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory) && isDirectory.boolValue
                ? destination + "/" + (extracted as NSString).lastPathComponent : destination
            if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
            try FileManager.default.moveItem(atPath: extracted, toPath: target)
        } else if let (container, path) = Self.split(destination), Self.split(source) == nil {
            guard FileManager.default.fileExists(atPath: source) else { throw ValidationError("no such file or directory: \(source)") }
            let archive = scratch + "/archive.tar"
            let parent = (source as NSString).deletingLastPathComponent
            let name = (source as NSString).lastPathComponent
            try await connection.withClient { client in
                // As Docker: into an existing directory under its own name, otherwise as the destination's name.
                var directory = path
                var arguments = ["-cf", archive, "-C", parent.isEmpty ? "." : parent]
                if try await client.pathIsDirectory(container, path: path) != true {
                    guard !path.hasSuffix("/") else {
                        Output.error("no such directory in container \(container): \(path)")
                        throw ExitCode(1)
                    }
                    directory = (path as NSString).deletingLastPathComponent
                    let newName = (path as NSString).lastPathComponent
                    arguments += ["--transform", "s|^\(Self.sedEscaped(name))|\(Self.sedEscaped(newName, replacement: true))|"]
                }
                try Self.tar(arguments + [name])
                try await client.copyTo(container, path: directory.isEmpty ? "/" : directory, archive: archive)
            }
        } else {
            throw ValidationError("one of source and destination must be CONTAINER:PATH, the other a local path")
        }
    }

    static func split(_ argument: String) -> (String, String)? {
        guard !argument.hasPrefix("/"), !argument.hasPrefix("."), let colon = argument.firstIndex(of: ":") else { return nil }
        return (String(argument[..<colon]), String(argument[argument.index(after: colon)...]))
    }

    /// `text` as a literal in a tar --transform expression: the pattern, or (`replacement`) the new text.
    static func sedEscaped(_ text: String, replacement: Bool = false) -> String {
        let special = replacement ? "\\|&" : "\\|.*[]^$"
        return text.reduce(into: "") { result, character in
            if special.contains(character) { result.append("\\") }
            result.append(character)
        }
    }

    static func tar(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("tar \(arguments.joined(separator: " ")) failed") }
    }
}
