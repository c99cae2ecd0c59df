import APIModels
import Engine
import Foundation
import HostModel
import SystemSupport

/// Assembles `GET /info` from the state store, the host report and the live process.
enum InfoBuilder {
    static func info(context: DaemonContext) async throws -> SystemInfo {
        let host = await context.host.current()
        let counts = try context.store.counts()
        let controllers = Set(host.cgroups.v1Controllers + host.cgroups.v2Controllers)
        let memoryRoot = host.cgroups.layout == .v2 ? nil : "/sys/fs/cgroup/memory"
        let cpuRoot = host.cgroups.layout == .v2 ? nil : "/sys/fs/cgroup/cpu"
        let exists = { (path: String) in FileManager.default.fileExists(atPath: path) }

        return SystemInfo(
            ID: try context.store.daemonID(),
            Containers: counts.containers,
            ContainersRunning: counts.running,
            ContainersPaused: counts.paused,
            ContainersStopped: counts.stopped,
            Images: counts.images,
            Driver: "overlay2",
            DriverStatus: [
                ["Backing Filesystem", backingFilesystem(of: context.root)],
                ["Supports d_type", "true"],
                ["Using metacopy", "false"],
                ["Native Overlay Diff", "true"],
            ],
            Plugins: [
                "Volume": ["local"],
                "Network": ["bridge", "host", "none"],
                "Log": ["json-file"],
            ],
            MemoryLimit: controllers.contains("memory"),
            SwapLimit: memoryRoot.map { exists($0 + "/memory.memsw.limit_in_bytes") } ?? controllers.contains("memory"),
            CpuCfsPeriod: cpuRoot.map { exists($0 + "/cpu.cfs_period_us") } ?? controllers.contains("cpu"),
            CpuCfsQuota: cpuRoot.map { exists($0 + "/cpu.cfs_quota_us") } ?? controllers.contains("cpu"),
            CPUShares: controllers.contains("cpu"),
            CPUSet: controllers.contains("cpuset"),
            PidsLimit: controllers.contains("pids"),
            IPv4Forwarding: readTrimmed("/proc/sys/net/ipv4/ip_forward") == "1",
            Debug: context.debug,
            NFd: ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count,
            NGoroutines: threadCount(),
            SystemTime: rfc3339Now(),
            LoggingDriver: "json-file",
            CgroupDriver: "cgroupfs",
            CgroupVersion: host.cgroups.dockerVersion,
            NEventsListener: await context.events.subscriberCount,
            KernelVersion: host.kernelVersion,
            OperatingSystem: host.operatingSystem,
            OSVersion: host.osVersion,
            OSType: "linux",
            Architecture: host.machine,
            IndexServerAddress: RegistryService.indexServerAddress,
            RegistryConfig: context.registry.configuration,
            NCPU: host.cpus,
            MemTotal: host.memoryBytes,
            DockerRootDir: context.root,
            Name: ProcessInfo.processInfo.hostName,
            Labels: [],
            ExperimentalBuild: false,
            ServerVersion: BerthVersion.version,
            // Native containers run under berth-shim; they outlive the daemon (live restore), and
            // get the built-in seccomp policy. Utility VMs are reported under `Berth`.
            Runtimes: ["berth": .init(path: "berth-shim"), "runc": .init(path: "berth-shim"), "berth-vm": .init(path: "berth-shim")],
            DefaultRuntime: "berth",
            Swarm: .init(),
            LiveRestoreEnabled: true,
            Isolation: "",
            InitBinary: "",
            SecurityOptions: ["name=seccomp,profile=builtin"],
            Warnings: warnings(host: host),
            Berth: .init(ExecRoot: context.execRoot, Socket: context.socketPath, Host: host, VMTemplates: context.vmTemplates?()))
    }

    /// Things a user should know before relying on this host, in Docker's `WARNING:` style.
    static func warnings(host: HostReport) -> [String] {
        var warnings: [String] = []
        if !host.overlayfs.available { warnings.append("WARNING: overlayfs is not usable: \(host.overlayfs.detail)") }
        if !host.seccomp.available { warnings.append("WARNING: seccomp is not available: \(host.seccomp.detail)") }
        if host.accelerator.kind != .kvm {
            warnings.append("WARNING: utility VMs run without KVM (\(host.accelerator.kind.rawValue)): \(host.accelerator.reason)")
        }
        if !host.binfmt.mounted {
            warnings.append("WARNING: binfmt_misc is not mounted: user-mode emulation is unavailable")
        }
        if !host.vmFileAccess.available {
            warnings.append("WARNING: utility VMs cannot start: \(host.vmFileAccess.detail)")
        }
        if !host.libvirt.reachable {
            warnings.append("WARNING: libvirt is not reachable at \(host.libvirt.uri): \(host.libvirt.error ?? "unknown error")")
        }
        return warnings
    }

    /// The filesystem type of the mount holding `path`, in Docker's words (`extfs` for ext2/3/4).
    static func backingFilesystem(of path: String) -> String {
        let mountInfo = ProcFile.text("/proc/self/mountinfo") ?? ""
        var best: (mountPoint: String, type: String)?
        for line in mountInfo.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count > dash + 1 else { continue }
            let mountPoint = fields[4]
            let covers = mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if covers, mountPoint.count >= (best?.mountPoint.count ?? 0) {
                best = (mountPoint, fields[dash + 1])
            }
        }
        guard let type = best?.type else { return "unknown" }
        return type.hasPrefix("ext") ? "extfs" : type
    }

    static func threadCount() -> Int {
        let status = ProcFile.text("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
        return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    static func readTrimmed(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func rfc3339Now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
