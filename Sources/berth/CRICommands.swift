import ArgumentParser
import CRIClient
import CRIProtocol
import Foundation
import GRPCCore

/// `berth cri`: speaks to berthd's Kubernetes CRI socket as kubelet would, for debugging nodes
/// (crictl's verbs, crictl's output).
struct CRICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cri", abstract: "Talk to berthd's Kubernetes CRI (runtime.v1) socket, as crictl does.",
        subcommands: [CRIVersionCommand.self, CRIInfoCommand.self, CRIImagesCommand.self, CRIPullCommand.self, CRIRmiCommand.self,
                      CRIRunPodCommand.self, CRIPodsCommand.self, CRIStopPodCommand.self, CRIRemovePodCommand.self,
                      CRICreateCommand.self, CRIStartCommand.self, CRIPsCommand.self, CRIStopCommand.self, CRIRemoveCommand.self,
                      CRIExecCommand.self, CRILogsCommand.self])

    /// crictl takes its endpoint before the verb (`crictl -r unix:///s ps`); `berth cri` does too, by
    /// moving it after the verb, where each command reads it.
    static func movingEndpointAfterVerb(_ arguments: [String]) -> [String] {
        guard arguments.first == "cri", arguments.count > 2 else { return arguments }
        var rest = Array(arguments.dropFirst())
        var endpoint: [String] = []
        while let first = rest.first, first.hasPrefix("-") {
            if first == "-r" || first == "--runtime-endpoint", rest.count > 1 {
                endpoint += rest.prefix(2)
                rest.removeFirst(2)
            } else if first.hasPrefix("--runtime-endpoint=") {
                endpoint.append(first)
                rest.removeFirst()
            } else {
                break
            }
        }
        guard !endpoint.isEmpty, !rest.isEmpty else { return arguments }
        return ["cri", rest[0]] + endpoint + rest.dropFirst()
    }
}

/// `--runtime-endpoint`, shared by every `berth cri` command.
struct CRIConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("r"), .customLong("runtime-endpoint")],
            help: "berthd's CRI socket: a path or unix:///path (default: $BERTH_CRI_SOCKET, else \(CRIConnection.defaultSocket)).")
    var endpoint: String?

    var socket: String {
        let given = endpoint ?? ProcessInfo.processInfo.environment["BERTH_CRI_SOCKET"] ?? CRIConnection.defaultSocket
        return given.hasPrefix("unix://") ? String(given.dropFirst("unix://".count)) : given
    }

    /// Runs `body` on a connection; a call the runtime refuses is one line and exit 1.
    func withConnection<Result: Sendable>(_ body: (CRIConnection) async throws -> Result) async throws -> Result {
        do {
            return try await CRIConnection.with(socket: socket, body)
        } catch let error as RPCError {
            Output.error(error.code == .unavailable ? "cannot reach the CRI socket \(socket): \(error.message)" : error.message)
            throw ExitCode(1)
        }
    }
}

extension CRIConnectionOptions {
    /// Makes `call` for each of `ids` on one connection, printing what crictl prints for each done.
    func each(_ ids: [String], saying: @escaping (String) -> String = { $0 },
              _ call: @escaping (CRIConnection, String) async throws -> Void) async throws {
        try await withConnection { connection in
            for id in ids {
                try await call(connection, id)
                print(saying(id))
            }
        }
    }
}

struct CRIVersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the runtime's name and versions.")

    @OptionGroup var connection: CRIConnectionOptions

    func run() async throws {
        let version = try await connection.withConnection { try await $0.runtime.version(.init()) }
        print("""
            Version:  \(version.version)
            RuntimeName:  \(version.runtimeName)
            RuntimeVersion:  \(version.runtimeVersion)
            RuntimeApiVersion:  \(version.runtimeApiVersion)
            """)
    }
}

struct CRIInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the runtime's conditions and handlers, as JSON.")

    @OptionGroup var connection: CRIConnectionOptions

    func run() async throws {
        var request = Runtime_V1_StatusRequest()
        request.verbose = true
        let status = try await connection.withConnection { try await $0.runtime.status(request) }
        print(try status.jsonString())
    }
}

struct CRIImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images.")

    @OptionGroup var connection: CRIConnectionOptions

    @Flag(name: .shortAndLong, help: "Only show image IDs.")
    var quiet = false

    @Argument(help: "Only this image (a name or an ID).")
    var image: String?

    func run() async throws {
        var request = Runtime_V1_ListImagesRequest()
        if let image { request.filter.image.image = image }
        let images = try await connection.withConnection { try await $0.images.listImages(request) }.images
        if quiet {
            for image in images { print(image.id) }
            return
        }
        var rows: [[String]] = []
        for image in images {
            let shortID = String(image.id.split(separator: ":").last?.prefix(13) ?? "")
            let names = image.repoTags.isEmpty ? ["<none>:<none>"] : image.repoTags
            for name in names {
                let (repository, tag) = splitTag(name)
                rows.append([repository, tag ?? "<none>", shortID, InfoTable.formatBytes(Int64(clamping: image.size))])
            }
        }
        for line in InfoTable.table(header: ["IMAGE", "TAG", "IMAGE ID", "SIZE"], rows: rows) { print(line) }
    }
}

struct CRIPullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image.")

    @OptionGroup var connection: CRIConnectionOptions

    @Option(help: "Credentials for the registry, USERNAME[:PASSWORD].")
    var creds: String?

    @Option(help: "The runtime handler the image is for (its platform: berth-arm64 pulls linux/arm64).")
    var runtimeHandler: String?

    @Argument(help: "The image, as a name or a digest reference.")
    var image: String

    func run() async throws {
        var request = Runtime_V1_PullImageRequest()
        request.image.image = image
        request.image.runtimeHandler = runtimeHandler ?? ""
        if let creds {
            let parts = creds.split(separator: ":", maxSplits: 1).map(String.init)
            request.auth.username = parts[0]
            request.auth.password = parts.count > 1 ? parts[1] : ""
        }
        let response = try await connection.withConnection { try await $0.images.pullImage(request) }
        print("Image is up to date for \(response.imageRef)")
    }
}

struct CRIRmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove images, with all their names.")

    @OptionGroup var connection: CRIConnectionOptions

    @Argument(help: "Images, as names or IDs.")
    var images: [String]

    func run() async throws {
        try await connection.each(images, saying: { "Deleted: \($0)" }) { connection, image in
            _ = try await connection.images.removeImage(.with { $0.image.image = image })
        }
    }
}
