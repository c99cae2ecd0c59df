import APIClient
import APIModels
import ArgumentParser
import Foundation

struct VolumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes.",
        subcommands: [VolumeCreateCommand.self, VolumeListCommand.self, VolumeInspectCommand.self, VolumeRemoveCommand.self,
                      VolumePruneCommand.self])
}

struct VolumeCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "The volume driver (only local).")
    var driver = "local"

    @Option(help: "A label, key=value (repeatable).")
    var label: [String] = []

    @Argument(help: "The volume's name (default: a random one).")
    var name: String?

    func run() async throws {
        let labels = KeyValueArguments.labels(label)
        let volume = try await connection.withClient { client in
            try await client.createVolume(VolumeCreateRequest(Name: name, Driver: driver, Labels: labels.isEmpty ? nil : labels))
        }
        print(volume.Name)
    }
}

struct VolumeListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes.", aliases: ["list"])

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Only names.")
    var quiet = false

    @Option(name: [.short, .long], help: "Filter: name=, label=, dangling=true|false, driver= (repeatable).")
    var filter: [String] = []

    func run() async throws {
        let filters = try KeyValueArguments.filters(filter)
        let volumes = try await connection.withClient { try await $0.volumes(filters: filters) }.Volumes
        if quiet {
            for volume in volumes { print(volume.Name) }
            return
        }
        for line in InfoTable.table(header: ["DRIVER", "VOLUME NAME"], rows: volumes.map { [$0.Driver, $0.Name] }) { print(line) }
    }
}

struct VolumeInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show volumes' details as JSON.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "A Go template applied to each, e.g. '{{.Mountpoint}}'.")
    var format: String?

    @Argument(help: "Volumes, by name.")
    var volumes: [String]

    func run() async throws {
        let template = try format.map(OutputTemplate.init)
        let details = try await connection.withClient { client in
            var all: [JSONValue] = []
            for volume in volumes { all.append(try await client.inspectVolumeRaw(volume)) }
            return all
        }
        try Output.inspect(details, template: template)
    }
}

struct VolumeRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove volumes no container uses.", aliases: ["remove"])

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "No error for volumes that do not exist.")
    var force = false

    @Argument(help: "Volumes, by name.")
    var volumes: [String]

    func run() async throws {
        try await forEach(volumes, connection: connection) { client, name in try await client.removeVolume(name, force: force) }
    }
}

struct VolumePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove anonymous volumes no container uses (with --all, every unused volume).")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Remove named volumes too.")
    var all = false

    @Option(help: "Only volumes with this label, key or key=value (repeatable).")
    var filter: [String] = []

    func run() async throws {
        let labels = try filter.map { text in
            guard text.hasPrefix("label=") else { throw ValidationError("invalid filter '\(text)': only label= filters prune volumes") }
            return String(text.dropFirst(6))
        }
        let report = try await connection.withClient { try await $0.pruneVolumes(all: all, filters: labels.isEmpty ? [:] : ["label": labels]) }
        if !report.VolumesDeleted.isEmpty { print("Deleted Volumes:") }
        for name in report.VolumesDeleted { print(name) }
        print("Total reclaimed space: \(InfoTable.formatBytes(report.SpaceReclaimed))")
    }
}
