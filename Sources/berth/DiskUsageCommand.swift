import APIModels
import ArgumentParser
import Foundation

/// `berth system df`: what images, containers and volumes hold, and what removing the unused
/// ones would give back, in `docker system df`'s table.
struct DiskUsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df", abstract: "Show disk usage.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let usage = try await connection.withClient { try await $0.diskUsage() }
        if format == .json { return try Output.json(usage) }
        let activeImages = usage.Images.filter { $0.Containers > 0 }
        let imagesReclaimable = usage.Images.filter { $0.Containers == 0 }.reduce(Int64(0)) { $0 + $1.Size - max($1.SharedSize, 0) }
        let running = usage.Containers.filter { $0.State == "running" }
        let containersSize = usage.Containers.reduce(Int64(0)) { $0 + ($1.SizeRw ?? 0) }
        let stoppedSize = usage.Containers.filter { $0.State != "running" }.reduce(Int64(0)) { $0 + ($1.SizeRw ?? 0) }
        let volumesSize = usage.Volumes.reduce(Int64(0)) { $0 + ($1.UsageData?.Size ?? 0) }
        let unusedVolumes = usage.Volumes.filter { ($0.UsageData?.RefCount ?? 0) == 0 }
        let rows: [[String]] = [
            ["Images", "\(usage.Images.count)", "\(activeImages.count)", Self.bytes(usage.LayersSize),
             Self.reclaimable(imagesReclaimable, of: usage.LayersSize)],
            ["Containers", "\(usage.Containers.count)", "\(running.count)", Self.bytes(containersSize),
             Self.reclaimable(stoppedSize, of: containersSize)],
            ["Local Volumes", "\(usage.Volumes.count)", "\(usage.Volumes.count - unusedVolumes.count)", Self.bytes(volumesSize),
             Self.reclaimable(unusedVolumes.reduce(Int64(0)) { $0 + ($1.UsageData?.Size ?? 0) }, of: volumesSize)],
            ["Build Cache", "0", "0", "0B", "0B"],
        ]
        for line in InfoTable.table(header: ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows: rows) { print(line) }
    }

    static func bytes(_ count: Int64) -> String { InfoTable.formatBytes(count) }

    static func reclaimable(_ part: Int64, of whole: Int64) -> String {
        "\(bytes(part)) (\(whole > 0 ? part * 100 / whole : 0)%)"
    }
}
