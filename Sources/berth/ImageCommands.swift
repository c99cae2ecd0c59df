import APIClient
import APIModels
import ArgumentParser
import Foundation
import OCI

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Download an image from a registry (Docker Hub unless it names another).")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Platform to pull from a multi-platform image, e.g. linux/arm64 (default: the host's).")
    var platform: String?

    @Flag(name: [.short, .long], help: "Print only the image reference when done.")
    var quiet = false

    @Argument(help: "Image reference: [registry/]repository[:tag|@digest]; a name without a registry is Docker Hub's.")
    var image: String

    func run() async throws {
        try await connection.withClient { client in
            try await ImagePull.pull(image, platform: platform, client: client, destination: .standardOutput, quiet: quiet)
        }
    }
}

/// A pull as the docker CLI shows it: the registry's progress; for `pull` itself also the default
/// tag named when none was given and the full name pulled at the end (`named`).
enum ImagePull {
    static func pull(_ image: String, platform: String?, client: BerthClient, destination: FileHandle, quiet: Bool,
                     named: Bool = true) async throws {
        let reference = try? Reference(parsing: image)
        if named, !quiet, let reference, reference.tag == nil, reference.digest == nil {
            destination.write(Data("Using default tag: \(Reference.defaultTag)\n".utf8))
        }
        let auth = try CredentialStore.registryAuthHeader(for: image)
        try await ProgressDisplay(destination: destination).follow(try await client.pull(image, platform: platform, registryAuth: auth), quiet: quiet)
        if named { destination.write(Data("\(reference?.withDefaultTag.description ?? image)\n".utf8)) }
    }
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push", abstract: "Upload an image to a registry.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Argument(help: "Image to push: registry/repository[:tag].")
    var image: String

    func run() async throws {
        let (repository, tag) = splitTag(image)
        let auth = try CredentialStore.registryAuthHeader(for: image)
        try await connection.withClient { client in
            try await ProgressDisplay().follow(try await client.push(repository, tag: tag, registryAuth: auth), quiet: quiet)
        }
    }
}

struct SaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "save", abstract: "Write images to a tar archive (docker-archive with an OCI layout).")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "File to write (default: standard output, if it is not a terminal).")
    var output: String?

    @Argument(help: "Images, by name or ID.")
    var images: [String]

    func run() async throws {
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output + ".partial", contents: nil),
                  let file = FileHandle(forWritingAtPath: output + ".partial") else {
                throw ValidationError("cannot write \(output)")
            }
            handle = file
        } else {
            guard isatty(STDOUT_FILENO) == 0 else {
                throw ValidationError("refusing to write an archive to a terminal: use -o FILE or redirect")
            }
            handle = FileHandle.standardOutput
        }
        do {
            try await connection.withClient { try await $0.save(images, to: handle) }
        } catch {
            if let output { unlink(output + ".partial") }
            throw error
        }
        if let output {
            try handle.synchronize()
            try handle.close()
            guard rename(output + ".partial", output) == 0 else { throw ValidationError("cannot write \(output)") }
        }
    }
}

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Load images from a tar archive (docker-archive or OCI layout).")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Archive to read.")
    var input: String

    func run() async throws {
        guard FileManager.default.isReadableFile(atPath: input) else { throw ValidationError("cannot read \(input)") }
        let lines = try await connection.withClient { try await $0.load(from: input) }
        for line in lines { print(line) }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import the contents from a tarball to create a filesystem image.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR).")
    var change: [String] = []

    @Option(name: [.short, .long], help: "Commit message for the imported image.")
    var message = ""

    @Option(help: "Set platform if the archive is for another one (os/arch[/variant]).")
    var platform: String?

    @Argument(help: "A tar archive (plain or compressed), or - for standard input.")
    var file: String

    @Argument(help: "REPOSITORY[:TAG] to name the image.")
    var repository: String?

    func run() async throws {
        var path = file
        var spooled: String?
        if file == "-" {
            // The upload needs a length up front: standard input goes through a temp file.
            let temp = NSTemporaryDirectory() + "berth-import-\(UUID().uuidString).tar"
            FileManager.default.createFile(atPath: temp, contents: nil, attributes: [.posixPermissions: 0o600])
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: temp))
            while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
            try output.close()
            path = temp
            spooled = temp
        }
        defer { if let spooled { try? FileManager.default.removeItem(atPath: spooled) } }
        guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("cannot read \(file)") }
        let id = try await connection.withClient {
            try await $0.importImage(from: path, repository: repository, message: message, changes: change, platform: platform)
        }
        print(id)
    }
}

struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Only show image IDs.")
    var quiet = false

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let images = try await connection.withClient { try await $0.images() }
        if format == .json { return try Output.json(images) }
        if quiet {
            for image in images { print(shortID(image.Id)) }
            return
        }
        var rows: [[String]] = []
        for image in images {
            let names = image.RepoTags.isEmpty ? ["<none>:<none>"] : image.RepoTags
            for name in names {
                let (repository, tag) = splitTag(name)
                rows.append([repository, tag ?? "<none>", image.Platform ?? "", shortID(image.Id), created(image.Created),
                             InfoTable.formatBytes(image.Size)])
            }
        }
        for line in InfoTable.table(header: ["REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "CREATED", "SIZE"], rows: rows) {
            print(line)
        }
    }

    func shortID(_ id: String) -> String {
        String(id.split(separator: ":").last?.prefix(12) ?? "")
    }

    func created(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove images.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Remove the image even when several names point at it.")
    var force = false

    @Argument(help: "Images to remove, by name or ID.")
    var images: [String]

    func run() async throws {
        try await connection.withClient { client in
            for image in images {
                for item in try await client.removeImage(image, force: force) {
                    if let name = item.Untagged { print("Untagged: \(name)") }
                    if let id = item.Deleted { print("Deleted: \(id)") }
                }
            }
        }
    }
}

struct TagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The image, by name or ID.")
    var source: String

    @Argument(help: "The new name, repository[:tag].")
    var target: String

    func run() async throws {
        let (repository, tag) = splitTag(target)
        try await connection.withClient { try await $0.tagImage(source, repository: repository, tag: tag) }
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show how an image was built.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The image, by name or ID.")
    var image: String

    func run() async throws {
        let entries = try await connection.withClient { try await $0.history(image) }
        let rows = entries.map { entry -> [String] in
            let id = entry["Id"]?.stringValue ?? ""
            let size: String
            if case .number(let bytes) = entry["Size"] ?? .null { size = InfoTable.formatBytes(Int64(bytes)) } else { size = "0B" }
            return [id == "<missing>" ? id : String(id.split(separator: ":").last?.prefix(12) ?? ""),
                    entry["CreatedBy"]?.stringValue ?? "", size]
        }
        for line in InfoTable.table(header: ["IMAGE", "CREATED BY", "SIZE"], rows: rows) { print(line) }
    }
}

struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images.",
        subcommands: [ImageInspectCommand.self, ImageListCommand.self, PullCommand.self, PushCommand.self, ImageRemoveCommand.self,
                      TagCommand.self, HistoryCommand.self, SaveCommand.self, LoadCommand.self, ImagePruneCommand.self])
}

struct ImagePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unnamed images (with --all, every unused image).")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Remove all images no container uses, not just unnamed ones.")
    var all = false

    func run() async throws {
        let report = try await connection.withClient { try await $0.pruneImages(all: all) }
        for id in report.deleted { print("Deleted: \(id)") }
        print("Total reclaimed space: \(InfoTable.formatBytes(report.reclaimed))")
    }
}

/// `berth image ls`, the same as `berth images`.
struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.", aliases: ["list"])

    @OptionGroup var list: ImagesCommand

    func run() async throws { try await list.run() }
}

/// `berth image rm`, the same as `berth rmi`.
struct ImageRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images.")

    @OptionGroup var remove: RmiCommand

    func run() async throws { try await remove.run() }
}

struct ImageInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show an image's details as JSON.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "A Go template applied to each, e.g. '{{.Architecture}}'.")
    var format: String?

    @Argument(help: "Images, by name or ID.")
    var images: [String]

    func run() async throws {
        let template = try format.map(OutputTemplate.init)
        let details = try await connection.withClient { client in
            var details: [JSONValue] = []
            for image in images { details.append(try await client.inspectImage(image)) }
            return details
        }
        try Output.inspect(details, template: template)
    }
}

/// `repository[:tag]` → (repository, tag); a colon before the last `/` is a registry port.
func splitTag(_ name: String) -> (repository: String, tag: String?) {
    guard let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") else { return (name, nil) }
    return (String(name[..<colon]), String(name[name.index(after: colon)...]))
}
