import APIModels
import Foundation
import NativeRuntime

/// Containers on the host's own kernel: namespaces and cgroups set up by the container's shim,
/// the overlay mounted inside its mount namespace, Docker's default confinement.
public struct NativeContainerRuntime: ContainerRuntime {
    let cgroups: CgroupManager
    let shims: ShimHost
    let paths: ContainerPaths

    public init(cgroups: CgroupManager, launcher: ShimLauncher, paths: ContainerPaths) {
        self.cgroups = cgroups
        self.paths = paths
        shims = ShimHost(launcher: launcher, paths: paths)
    }

    public var capabilities: ContainerRuntimeCapabilities {
        [.pause, .processList, .hostFileAccess, .liveNetworkChanges, .hostNetworkNamespace]
    }

    /// The cgroups are made at creation, so that start only has to move the container in.
    public func prepare(_ record: ContainerRecord) throws -> ContainerCgroup? {
        let cgroup = try cgroups.create(id: record.id, limits: ContainerLaunchPlan.cgroupLimits(record.hostConfig),
                                        privileged: record.hostConfig.Privileged == true)
        // A start usually follows at once (docker run): by then the lock is ready for the shim.
        cgroups.beginAttachGracePeriod()
        return cgroup
    }

    public func launch(_ record: ContainerRecord, plan: ContainerLaunchPlan, networks: [NetworkRecord]) async throws
        -> LaunchedContainer
    {
        // An exit removes the cgroups; a restart makes them again.
        let madeNow = record.state.cgroup == nil
        let cgroup = try record.state.cgroup
            ?? cgroups.create(id: record.id, limits: plan.cgroupLimits, privileged: record.hostConfig.Privileged == true)
        do {
            // Not before the mkdirs above: the kernel holds its cgroup mutex through the wait.
            if madeNow { cgroups.beginAttachGracePeriod() }
            let filter = plan.securityOptions.seccomp
                ? try seccompFilter(capabilities: try plan.capabilities, architecture: plan.hostArchitecture) : nil
            var spec = try plan.launchSpec(cgroup: cgroup, seccompFilter: filter)
            if !record.attachments.isEmpty { spec.networkNamespace = paths.networkNamespace(record.id) }
            let process = try await shims.launch(spec, containerID: record.id)
            return LaunchedContainer(pid: process.containerPID, supervisorPID: process.shimPID, cgroup: cgroup, utilityVM: nil)
        } catch {
            // Those made at creation are the state's, which `cleanUp(after:)` removes.
            if madeNow { cgroups.remove(cgroup) }
            throw error
        }
    }

    public func process(of id: String) -> any ContainerProcess { shims.process(of: id) }

    public func recordedExit(of id: String) -> ContainerExit? { shims.recordedExit(of: id) }

    public func isStillRunning(_ record: ContainerRecord) -> Bool { shims.isStillRunning(record) }

    /// The container's init is gone; anything it left (it should have taken all with it) goes too.
    public func cleanUp(after record: ContainerRecord) async -> Bool {
        guard let cgroup = record.state.cgroup else { return false }
        let oomKilled = cgroups.oomKilled(cgroup)
        for pid in cgroups.processes(cgroup) { Glibc.kill(pid, SIGKILL) }
        cgroups.remove(cgroup)
        return oomKilled
    }

    /// A container created and never started still has the cgroups made for it.
    public func remove(_ record: ContainerRecord) async {
        if let cgroup = record.state.cgroup { cgroups.remove(cgroup) }
    }

    /// An exec joins the container's namespaces and cgroups, under the container's confinement.
    public func launchExec(_ record: ContainerRecord, plan: ContainerLaunchPlan, config: ExecConfig, execID: String) async throws
        -> any ContainerProcess
    {
        guard let cgroup = record.state.cgroup else { throw ContainerError.conflict("Container \(record.id) is not running") }
        let filter = plan.securityOptions.seccomp && config.Privileged != true
            ? try seccompFilter(capabilities: try plan.capabilities, architecture: plan.hostArchitecture) : nil
        let spec = try plan.nativeExecSpec(config, execID: execID, containerPID: record.state.pid, cgroup: cgroup, seccompFilter: filter)
        return try await shims.launchExec(spec, containerID: record.id, execID: execID)
    }

    public func execProcess(containerID: String, execID: String) -> any ContainerProcess {
        shims.execProcess(containerID: containerID, execID: execID)
    }

    public func recordedExecExit(containerID: String, execID: String) -> Int32? {
        shims.recordedExecExit(containerID: containerID, execID: execID)
    }

    public func removeExecFiles(containerID: String, execID: String) {
        shims.removeExecFiles(containerID: containerID, execID: execID)
    }

    public func setFrozen(_ frozen: Bool, _ record: ContainerRecord) throws {
        guard let cgroup = record.state.cgroup else { throw ContainerError.conflict("Container \(record.id) is not running") }
        try cgroups.setFrozen(frozen, cgroup)
    }

    public func processIDs(of record: ContainerRecord) -> [Int32] {
        record.state.cgroup.map { cgroups.processes($0) } ?? []
    }

    public func usage(of record: ContainerRecord) -> ContainerResourceUsage? {
        record.state.cgroup.map { ContainerResourceUsage(cgroups.stats($0)) }
    }

    public func failureDetail(of record: ContainerRecord) -> String { "" }

    /// Compiled once per capability set and architecture.
    func seccompFilter(capabilities: CapabilitySet, architecture: String) throws -> String {
        let path = "\(paths.seccompCache)/\(String(capabilities.rawValue, radix: 16))-\(architecture).bpf"
        if !FileManager.default.fileExists(atPath: path) {
            try SeccompProfile.default(capabilities: capabilities, architecture: architecture).writeFilter(to: path)
        }
        return path
    }
}
