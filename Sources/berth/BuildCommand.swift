import APIClient
import APIModels
import ArgumentParser
import Foundation

/// `berth build`: sends the context (tar(1) packs it) to berthd's builder and shows each step with
/// its output and how long it took; a step the cache answered shows as CACHED.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build", abstract: "Build an image from a Dockerfile.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .customLong("tag")], help: "Name the image, name:tag (repeatable).")
    var tags: [String] = []

    @Option(name: [.short, .customLong("file")], help: "The Dockerfile (default: CONTEXT/Dockerfile).")
    var file: String?

    @Option(name: .customLong("build-arg"), help: "A build argument, NAME=value (repeatable).")
    var buildArguments: [String] = []

    @Option(help: "Build up to this stage.")
    var target: String?

    @Flag(name: .customLong("no-cache"), help: "Run every step, whatever the cache holds.")
    var noCache = false

    @Option(help: "When base images come from their registry: always (a bare --pull), missing (when not here) or never.")
    var pull: PullPolicy = .missing

    @Option(help: "Build for this platform, e.g. linux/arm64.")
    var platform: String?

    @Option(help: "A label for the image, key=value (repeatable).")
    var label: [String] = []

    @Flag(name: [.short, .long], help: "Print only the image's ID.")
    var quiet = false

    @Argument(help: "The build context's directory.")
    var context: String

    /// `docker build --pull` takes no value; `--pull=never` names a policy. A bare `--pull` after
    /// `build` becomes `--pull=always` before the arguments are parsed.
    static func spellingBarePull(_ arguments: [String]) -> [String] {
        guard let command = arguments.firstIndex(where: { !$0.hasPrefix("-") }), arguments[command] == "build" else { return arguments }
        var rewritten = arguments
        var index = command + 1
        while index < rewritten.count {
            if rewritten[index] == "--" { break }
            let next = index + 1 < rewritten.count ? rewritten[index + 1] : nil
            if rewritten[index] == "--pull", !(next.map { PullPolicy(rawValue: $0) != nil } ?? false) {
                rewritten[index] = "--pull=always"
            }
            index += 1
        }
        return rewritten
    }

    func run() async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: context, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("unable to prepare context: path \"\(context)\" not found")
        }
        let scratch = NSTemporaryDirectory() + "berth-build-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let archive = scratch + "/context.tar"
        try CopyCommand.tar(["-cf", archive, "-C", context, "."])
        var dockerfile = "Dockerfile"
        if let file {
            let contextPath = URL(fileURLWithPath: context).standardizedFileURL.path
            let filePath = URL(fileURLWithPath: file).standardizedFileURL.path
            if filePath.hasPrefix(contextPath + "/") {
                dockerfile = String(filePath.dropFirst(contextPath.count + 1))
            } else {
                // A Dockerfile outside the context travels in the archive under a name of its own.
                dockerfile = ".berth-dockerfile-\(UUID().uuidString)"
                try FileManager.default.copyItem(atPath: filePath, toPath: scratch + "/" + dockerfile)
                try CopyCommand.tar(["-rf", archive, "-C", scratch, dockerfile])
            }
        }
        var query: [(String, String)] = [("dockerfile", dockerfile)] + tags.map { ("t", $0) }
        let arguments = Dictionary(buildArguments.map { text -> (String, String) in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : ProcessInfo.processInfo.environment[parts[0]] ?? "")
        }, uniquingKeysWith: { $1 })
        if !arguments.isEmpty { query.append(("buildargs", String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self))) }
        let labels = KeyValueArguments.labels(label)
        if !labels.isEmpty { query.append(("labels", String(decoding: try JSONEncoder().encode(labels), as: UTF8.self))) }
        if let target { query.append(("target", target)) }
        if let platform { query.append(("platform", platform)) }
        if noCache { query.append(("nocache", "1")) }
        if pull != .missing { query.append(("pull", pull == .always ? "1" : pull.rawValue)) }
        let quiet = self.quiet
        try await connection.withClient { client in
            var stepStarted: Date?
            func finishStep() {
                if let started = stepStarted, !quiet { print(String(format: " ---- %.2f s", Date().timeIntervalSince(started))) }
                stepStarted = nil
            }
            for try await message in try await client.build(contextArchive: archive, query: query) {
                if let id = message.aux?["ID"], quiet { print(id) }
                guard let text = message.stream, !quiet else { continue }
                if text.hasPrefix("Step ") {
                    finishStep()
                    stepStarted = Date()
                } else if text.hasPrefix("Successfully built") {
                    finishStep()
                }
                print(text == " ---> Using cache\n" ? " ---> CACHED" : text, terminator: "")
                fflush(stdout)
            }
        }
    }
}
