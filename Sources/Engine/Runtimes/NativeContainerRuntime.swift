import APIModels
import Foundation
import NativeRuntime
import SystemSupport

/// Containers on the host's own kernel: namespaces and cgroups set up by the container's shim,
/// the overlay mounted inside its mount namespace, Docker's default confinement.
struct NativeContainerRuntime: ShimHostedRuntime {
    let cgroups: CgroupManager
    let shims: ShimHost
    let paths: ContainerPaths

    init(cgroups: CgroupManager, launcher: ShimLauncher, paths: ContainerPaths) {
        self.cgroups = cgroups
        self.paths = paths
        shims = ShimHost(launcher: launcher, paths: paths)
    }

    var capabilities: ContainerRuntimeCapabilities {
        [.pause, .hostProcesses, .liveNetworkChanges, .hostNetworkNamespace]
    }

    /// The cgroups are made at creation, so that start only has to move the container in.
    func prepare(_ record: ContainerRecord) throws -> ContainerCgroup? {
        let cgroup = try cgroups.create(id: record.id, limits: ContainerLaunchPlan.cgroupLimits(record.hostConfig),
                                        privileged: record.hostConfig.Privileged == true)
        // A start usually follows at once (docker run): by then the lock is ready for the shim.
        cgroups.beginAttachGracePeriod()
        return cgroup
    }

    func launch(_ record: ContainerRecord, plan: ContainerLaunchPlan, networks: [NetworkRecord]) async throws
        -> LaunchedContainer
    {
        // An exit removes the cgroups; a restart makes them again.
        let madeNow = record.state.cgroup == nil
        let cgroup = try record.state.cgroup
            ?? cgroups.create(id: record.id, limits: plan.cgroupLimits, privileged: record.hostConfig.Privileged == true)
        do {
            // Not before the mkdirs above: the kernel holds its cgroup mutex through the wait.
            if madeNow { cgroups.beginAttachGracePeriod() }
            let filter = try plan.seccompFilter(from: paths.seccompFilters, architecture: plan.hostArchitecture)
            var spec = try plan.launchSpec(cgroup: cgroup, seccompFilter: filter)
            if !record.attachments.isEmpty { spec.networkNamespace = paths.networkNamespace(record.id) }
            if let joined = plan.joinedNetwork { spec.networkNamespace = joined.namespace }
            if record.hostConfig.IpcMode == "shareable" { try mountSharedMemory(record.id, size: plan.sharedMemorySize) }
            let process = try await shims.launch(spec, containerID: record.id)
            return LaunchedContainer(pid: process.containerPID, supervisorPID: process.shimPID, cgroup: cgroup, utilityVM: nil)
        } catch {
            // Those made at creation are the state's, which `cleanUp(after:)` removes.
            if madeNow { cgroups.remove(cgroup) }
            unmountSharedMemory(record.id)
            throw error
        }
    }

    /// `--ipc shareable`: /dev/shm is a tmpfs on the host, which the container and those that join
    /// its IPC namespace bind (a mount in its own mount namespace could not be bound from another).
    private func mountSharedMemory(_ id: String, size: Int64) throws {
        let path = paths.sharedMemory(id)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("shm", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=1777,size=\(size)") == 0 else {
            throw ContainerError.startFailed(code: 125, message: "mounting /dev/shm for a shareable IPC namespace: \(SystemError.text(errno))")
        }
    }

    private func unmountSharedMemory(_ id: String) {
        umount2(paths.sharedMemory(id), Int32(MNT_DETACH))
    }

    /// The container's init is gone; anything it left (it should have taken all with it) goes too.
    func cleanUp(after record: ContainerRecord) async -> Bool {
        guard let cgroup = record.state.cgroup else { return false }
        let oomKilled = cgroups.oomKilled(cgroup)
        for pid in cgroups.processes(cgroup) { Glibc.kill(pid, SIGKILL) }
        cgroups.remove(cgroup)
        unmountSharedMemory(record.id)
        return oomKilled
    }

    /// A container created and never started still has the cgroups made for it.
    func remove(_ record: ContainerRecord) async {
        if let cgroup = record.state.cgroup { cgroups.remove(cgroup) }
    }

    /// An exec joins the container's namespaces and cgroups, under the container's confinement.
    func launchExec(_ record: ContainerRecord, plan: ContainerLaunchPlan, config: ExecConfig, execID: String) async throws
        -> any ContainerProcess
    {
        guard let cgroup = record.state.cgroup else { throw ContainerError.conflict("Container \(record.id) is not running") }
        let filter = try plan.seccompFilter(from: paths.seccompFilters, architecture: plan.hostArchitecture,
                                            privilegedExec: config.Privileged == true)
        let spec = try plan.nativeExecSpec(config, execID: execID, containerPID: record.state.pid, cgroup: cgroup, seccompFilter: filter)
        return try await shims.launchExec(spec, containerID: record.id, execID: execID)
    }

    func updateResources(of record: ContainerRecord) throws {
        guard let cgroup = record.state.cgroup else { return }
        do {
            try cgroups.apply(ContainerLaunchPlan.cgroupLimits(record.hostConfig), to: cgroup)
        } catch {
            throw ContainerError.invalid("Cannot update container \(record.id): \(error)")
        }
    }

    func setFrozen(_ frozen: Bool, _ record: ContainerRecord) throws {
        guard let cgroup = record.state.cgroup else { throw ContainerError.conflict("Container \(record.id) is not running") }
        try cgroups.setFrozen(frozen, cgroup)
    }

    /// The network controller plumbs a native container's veths into its namespace itself.
    func plugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, into record: ContainerRecord) async throws {}

    func unplugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, from record: ContainerRecord) async throws {}

    func withFiles<T: Sendable>(of record: ContainerRecord, plan: ContainerLaunchPlan, _ body: @escaping @Sendable (any ContainerFiles) throws -> T) async throws -> T? {
        nil
    }

    func writableLayerEntries(of record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> [WritableLayerEntry]? { nil }

    func writeLayer(of record: ContainerRecord, plan: ContainerLaunchPlan, placeholders: Set<String>, to path: String) async throws -> Bool { false }

    func processes(of record: ContainerRecord) throws -> [ContainerProcessEntry] {
        (record.state.cgroup.map { cgroups.processes($0) } ?? []).compactMap { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
            var info = stat_t()
            let uid = lstat("/proc/\(pid)", &info) == 0 ? info.st_uid : 0
            let command = ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "")
                .split(separator: "\0").joined(separator: " ")
            return ContainerProcessEntry(stat: stat, uid: uid, command: command)
        }
    }

    func usage(of record: ContainerRecord) -> ContainerResourceUsage? {
        guard let cgroup = record.state.cgroup else { return nil }
        var usage = ContainerResourceUsage(cgroups.stats(cgroup))
        // Its init's view of /proc/net is its network namespace's.
        if !record.attachments.isEmpty, record.state.pid > 0,
           let text = ProcFile.text("/proc/\(record.state.pid)/net/dev") {
            usage.networks = ContainerResourceUsage.interfaces(text)
        }
        return usage
    }

    func failureDetail(of record: ContainerRecord) -> String { "" }
}
