import ArgumentParser
import CRIClient
import CRIProtocol
import Foundation
import NIOCore

/// crictl's container verbs: create, start, ps, stop, rm, exec, logs.
struct CRICreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container in a pod, and print its ID.")

    @OptionGroup var connection: CRIConnectionOptions

    @Argument(help: "The pod's ID.")
    var pod: String

    @Argument(help: "A ContainerConfig as JSON.")
    var containerConfig: String

    @Argument(help: "The pod's PodSandboxConfig as JSON.")
    var podConfig: String

    func run() async throws {
        var request = Runtime_V1_CreateContainerRequest()
        request.podSandboxID = pod
        request.config = try CRIConfigFile.read(containerConfig, as: Runtime_V1_ContainerConfig.self)
        request.sandboxConfig = try CRIConfigFile.read(podConfig, as: Runtime_V1_PodSandboxConfig.self)
        print(try await connection.withConnection { try await $0.runtime.createContainer(request) }.containerID)
    }
}

struct CRIStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start created containers.")

    @OptionGroup var connection: CRIConnectionOptions

    @Argument(help: "Container IDs.")
    var containers: [String]

    func run() async throws {
        try await connection.each(containers) { connection, id in
            _ = try await connection.runtime.startContainer(.with { $0.containerID = id })
        }
    }
}

struct CRIPsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers (running ones, unless --all).")

    @OptionGroup var connection: CRIConnectionOptions

    @Flag(name: .shortAndLong, help: "Containers in every state.")
    var all = false

    @Flag(name: .shortAndLong, help: "Only show container IDs.")
    var quiet = false

    @Option(name: .shortAndLong, help: "Only containers of this pod.")
    var pod: String?

    func run() async throws {
        var request = Runtime_V1_ListContainersRequest()
        if let pod { request.filter.podSandboxID = pod }
        if !all { request.filter.state = .with { $0.state = .containerRunning } }
        let (containers, pods) = try await connection.withConnection { connection in
            (try await connection.runtime.listContainers(request).containers, try await connection.runtime.listPodSandbox(.init()).items)
        }
        let podNames = Dictionary(pods.map { ($0.id, $0.metadata.name) }, uniquingKeysWith: { first, _ in first })
        let sorted = containers.sorted { $0.createdAt > $1.createdAt }
        if quiet {
            for container in sorted { print(container.id) }
            return
        }
        let rows = sorted.map { container in
            [String(container.id.prefix(13)), container.image.image, PsCommand.ago(container.createdAt / 1_000_000_000),
             Self.state(container.state), container.metadata.name, "\(container.metadata.attempt)",
             String(container.podSandboxID.prefix(13)), podNames[container.podSandboxID] ?? ""]
        }
        let header = ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"]
        for line in InfoTable.table(header: header, rows: rows) { print(line) }
    }

    static func state(_ state: Runtime_V1_ContainerState) -> String {
        switch state {
        case .containerCreated: "Created"
        case .containerRunning: "Running"
        case .containerExited: "Exited"
        default: "Unknown"
        }
    }
}

struct CRIStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop running containers.")

    @OptionGroup var connection: CRIConnectionOptions

    @Option(name: .shortAndLong, help: "Seconds to wait before killing.")
    var timeout: Int64 = 10

    @Argument(help: "Container IDs.")
    var containers: [String]

    func run() async throws {
        let timeout = timeout
        try await connection.each(containers) { connection, id in
            _ = try await connection.runtime.stopContainer(.with { $0.containerID = id; $0.timeout = timeout })
        }
    }
}

struct CRIRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers.")

    @OptionGroup var connection: CRIConnectionOptions

    @Argument(help: "Container IDs.")
    var containers: [String]

    func run() async throws {
        try await connection.each(containers) { connection, id in
            _ = try await connection.runtime.removeContainer(.with { $0.containerID = id })
        }
    }
}

struct CRIExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container.")

    @OptionGroup var connection: CRIConnectionOptions

    @Flag(name: .shortAndLong, help: "Keep standard input open and send it.")
    var interactive = false

    @Flag(name: .shortAndLong, help: "Give the command a terminal.")
    var tty = false

    @Flag(name: .shortAndLong, help: "Run it with ExecSync: no streams, the output once it has ended.")
    var sync = false

    @Option(help: "With --sync, seconds before the command is killed (0: none).")
    var timeout: Int64 = 0

    @Argument(help: "The container's ID.")
    var container: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
    var command: [String]

    func run() async throws {
        if sync {
            let response = try await connection.withConnection { connection in
                try await connection.runtime.execSync(.with { $0.containerID = container; $0.cmd = command; $0.timeout = timeout })
            }
            FileHandle.standardOutput.write(response.stdout)
            FileHandle.standardError.write(response.stderr)
            if response.exitCode != 0 { throw ExitCode(response.exitCode) }
            return
        }
        let url = try await connection.withConnection { connection in
            try await connection.runtime.exec(.with {
                $0.containerID = container; $0.cmd = command
                $0.stdin = interactive; $0.stdout = true; $0.stderr = !tty; $0.tty = tty
            }).url
        }
        let terminal = tty && interactive && isatty(STDIN_FILENO) == 1 ? RawTerminal() : nil
        defer { terminal?.restore() }
        let (sizes, sizesIn) = AsyncStream<(columns: Int, rows: Int)>.makeStream()
        let watcher = tty ? WindowSizeWatcher { rows, columns in sizesIn.yield((columns: columns, rows: rows)) } : nil
        defer { watcher?.stop() }
        let client = RemoteCommandClient(stdin: interactive ? Self.standardInput() : nil, tty: tty, terminalSizes: tty ? sizes : nil)
        let code: Int32
        do {
            code = try await client.run(url) { stream, bytes in
                let handle = stream == .stderr ? FileHandle.standardError : FileHandle.standardOutput
                handle.write(Data(bytes.readableBytesView))
            }
        } catch {
            terminal?.restore()
            Output.error("\(error)")
            throw ExitCode(1)
        }
        sizesIn.finish()
        if code != 0 { throw ExitCode(code) }
    }

    /// This process's standard input, read off the cooperative pool, until it ends.
    static func standardInput() -> AsyncStream<ByteBuffer> {
        let (stream, input) = AsyncStream<ByteBuffer>.makeStream()
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while case let count = read(STDIN_FILENO, &buffer, buffer.count), count > 0 {
                input.yield(ByteBuffer(bytes: buffer[0..<count]))
            }
            input.finish()
        }
        return stream
    }
}

struct CRILogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's log, from the file kubelet named.")

    @OptionGroup var connection: CRIConnectionOptions

    @Option(help: "Only the last N lines.")
    var tail: Int?

    @Flag(help: "Show each line's timestamp.")
    var timestamps = false

    @Argument(help: "The container's ID.")
    var container: String

    func run() async throws {
        let path = try await connection.withConnection { connection in
            try await connection.runtime.containerStatus(.with { $0.containerID = container }).status.logPath
        }
        guard !path.isEmpty, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Output.error("container \(container) has no log file")
            throw ExitCode(1)
        }
        var lines = CRILogLine.lines(of: text)
        if let tail { lines = Array(lines.suffix(max(tail, 0))) }
        for line in lines {
            let handle = line.stream == "stderr" ? FileHandle.standardError : FileHandle.standardOutput
            handle.write(Data(((timestamps ? line.time + " " : "") + line.content).utf8))
        }
    }
}

/// A line of a log in the CRI's format: `TIME STREAM TAG CONTENT`, the tag P for a part of a line
/// that goes on in the next, F for its end.
struct CRILogLine {
    let time: String
    let stream: String
    var content: String

    /// The log's lines, parts joined; what is not in the format is skipped.
    static func lines(of text: String) -> [CRILogLine] {
        var lines: [CRILogLine] = []
        var partial: CRILogLine?
        for record in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = record.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { continue }
            let content = fields.count == 4 ? String(fields[3]) : ""
            var line = partial ?? CRILogLine(time: String(fields[0]), stream: String(fields[1]), content: "")
            line.content += content
            if fields[2] == "P" {
                partial = line
            } else {
                line.content += "\n"
                lines.append(line)
                partial = nil
            }
        }
        return lines
    }
}
