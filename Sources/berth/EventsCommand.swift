import APIClient
import APIModels
import ArgumentParser
import Foundation

struct SystemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system", abstract: "Manage berthd.",
        subcommands: [EventsCommand.self, InfoCommand.self, DiskUsageCommand.self])
}

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Stream events from berthd as they happen.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Show events since a timestamp (Unix seconds, RFC 3339) or a duration ago (10m).")
    var since: String?

    @Option(help: "Stream events until a timestamp or duration, then exit.")
    var until: String?

    @Option(name: [.short, .long], help: "Filter, as key=value (type, event, container, image, volume, network, daemon, label, scope). Repeatable.")
    var filter: [String] = []

    @Option(help: "Output format: table (one line per event) or json (one object per line).")
    var format: OutputFormat = .table

    func run() async throws {
        let filters = try KeyValueArguments.filters(filter)
        try await connection.withClient { client in
            let events = try await client.events(since: since, until: until, filters: filters)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for try await event in events {
                switch format {
                case .json: print(String(decoding: try encoder.encode(event), as: UTF8.self))
                case .table: print(Self.line(for: event))
                }
                fflush(stdout)
            }
        }
    }

    /// Docker's line: `TIME TYPE ACTION ID (key=value, ...)`.
    static func line(for event: EventMessage) -> String {
        let seconds = event.timeNano / 1_000_000_000
        let nanos = event.timeNano % 1_000_000_000
        let formatter = ISO8601DateFormatter()
        let stamp = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            .replacingOccurrences(of: "Z", with: String(format: ".%09dZ", nanos))
        let attributes = event.actor.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var line = "\(stamp) \(event.type) \(event.action) \(event.actor.id)"
        if !attributes.isEmpty { line += " (\(attributes.joined(separator: ", ")))" }
        return line
    }
}
