import APIClient
import APIModels
import ArgumentParser
import Foundation

/// `berth search`: Docker Hub for a bare term; `host[:port]/term` searches that registry's catalog.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search Docker Hub, or a registry's catalog (host[:port]/term), for images.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Most results to show (1-100).")
    var limit = 25

    @Option(name: [.short, .long], help: "Filter: is-official=true|false, is-automated=true|false, stars=N. Repeatable.")
    var filter: [String] = []

    @Flag(name: .customLong("no-trunc"), help: "Show whole descriptions.")
    var noTrunc = false

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Argument(help: "What to look for: a term, or host[:port]/term.")
    var term: String

    func run() async throws {
        let filters = try KeyValueArguments.filters(filter)
        let auth = term.contains("/") ? try CredentialStore.registryAuthHeader(for: term) : nil
        let results = try await connection.withClient { try await $0.searchImages(term, limit: limit, filters: filters, registryAuth: auth) }
        if format == .json { return try Output.json(results) }
        let rows = results.map { result -> [String] in
            var description = result.description.replacingOccurrences(of: "\n", with: " ")
            if !noTrunc, description.count > 45 { description = description.prefix(44) + "…" }
            return [result.name, description, "\(result.star_count)", result.is_official ? "[OK]" : ""]
        }
        for line in InfoTable.table(header: ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"], rows: rows) { print(line) }
    }
}
