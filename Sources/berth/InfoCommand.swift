import APIClient
import APIModels
import ArgumentParser
import Foundation
import HostModel

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the daemon's host, storage and every platform it can run.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let info = try await connection.withClient { try await $0.info() }
        switch format {
        case .json: try Output.json(info)
        case .table: print(InfoTable.render(info))
        }
    }
}

/// `berth info`'s human layout: Docker's sections, then Berth's host capabilities and platforms.
enum InfoTable {
    static func render(_ info: SystemInfo) -> String {
        let host = info.Berth.Host
        var lines = [
            "Server:",
            " Containers: \(info.Containers)",
            "  Running: \(info.ContainersRunning)",
            "  Paused: \(info.ContainersPaused)",
            "  Stopped: \(info.ContainersStopped)",
            " Images: \(info.Images)",
            " Server Version: \(info.ServerVersion)",
            " Storage Driver: \(info.Driver)",
            " Logging Driver: \(info.LoggingDriver)",
            " Cgroup Driver: \(info.CgroupDriver)",
            " Cgroup Version: \(info.CgroupVersion) (layout: \(host.cgroups.layout.rawValue))",
            " Kernel Version: \(info.KernelVersion)",
            " Operating System: \(info.OperatingSystem)",
            " OSType: \(info.OSType)",
            " Architecture: \(info.Architecture)",
            " CPUs: \(info.NCPU)",
            " Total Memory: \(formatBytes(info.MemTotal))",
            " Name: \(info.Name)",
            " ID: \(info.ID)",
            " Root Dir: \(info.DockerRootDir)",
            " Exec Root: \(info.Berth.ExecRoot)",
            " Insecure Registries:",
        ]
        lines += info.RegistryConfig.IndexConfigs.values.filter { !$0.Secure }.map(\.Name).sorted().map { "  " + $0 }
        lines += info.RegistryConfig.InsecureRegistryCIDRs.map { "  " + $0 }
        if !info.RegistryConfig.Mirrors.isEmpty {
            lines.append(" Registry Mirrors:")
            lines += info.RegistryConfig.Mirrors.map { "  " + $0 }
        }
        lines += [
            "",
            "Host:",
            " Overlayfs: \(check(host.overlayfs))",
            " Seccomp: \(check(host.seccomp))",
            " User namespaces: \(check(host.userNamespaces))",
            " binfmt_misc: \(host.binfmt.mounted ? "mounted, \(host.binfmt.handlers.filter { $0.platform != nil && $0.enabled }.count) qemu handlers" : "not mounted")",
            " libvirt: \(host.libvirt.reachable ? "reachable at \(host.libvirt.uri) (libvirt \(host.libvirt.version ?? "?"))" : "unreachable at \(host.libvirt.uri): \(host.libvirt.error ?? "unknown error")")",
            " Accelerator: \(host.accelerator.kind.rawValue) (\(host.accelerator.reason))",
            "",
            "Platforms:",
        ]
        lines += table(
            header: ["PLATFORM", "HOW", "VIA", "ACCELERATOR", "GUEST KERNEL"],
            rows: host.platforms.map { row in
                [row.platform.description, describe(row.mode), row.via, row.accelerator?.rawValue ?? "-",
                 row.mode == .systemVM ? row.guestKernel ?? "none yet" : "-"]
            }
        ).map { " " + $0 }
        lines += ["", "VM templates:" + (info.Berth.VMTemplates == nil ? " off (berthd --no-vm-templates)" : "")]
        if let templates = info.Berth.VMTemplates {
            let pooled = templates.contains { $0.Pooled != nil }
            lines += templates.isEmpty ? [" none yet (made after a kind's first cold boot)"] : table(
                header: ["ARCHITECTURE", "MEMORY", "VCPUS", "KERNEL", "MADE"] + (pooled ? ["POOL"] : []),
                rows: templates.map { template in
                    let made = (try? Date(template.Created, strategy: .iso8601)).map { PsCommand.ago(Int64($0.timeIntervalSince1970)) }
                    return [template.Architecture, "\(template.MemoryMiB) MiB", "\(template.VCPUs)", template.Kernel, made ?? template.Created]
                        + (pooled ? ["\(template.Pooled ?? 0) waiting"] : [])
                }
            ).map { " " + $0 }
        }
        if !info.Warnings.isEmpty {
            lines.append("")
            lines += info.Warnings
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ mode: PlatformSupport.Mode) -> String {
        switch mode {
        case .native: return "native"
        case .systemVM: return "system VM"
        case .userEmulation: return "user-mode emulation"
        }
    }

    static func check(_ feature: FeatureCheck) -> String {
        (feature.available ? "yes" : "no") + " (\(feature.detail))"
    }

    static func table(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }
    }

    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.2f%@", value, units[unit])
    }
}
