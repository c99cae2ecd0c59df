import APIModels
import Foundation
import NativeRuntime

/// How one kind of container runs: natively on the host kernel, or in a utility VM. The
/// container service owns records, names, networks, volumes, restart policies and events; a
/// runtime owns the container's process and what it runs in. The service picks the runtime once
/// per container, from its platform decision.
public protocol ContainerRuntime: Sendable {
    var capabilities: ContainerRuntimeCapabilities { get }

    /// At creation: what a start should find ready; a native container's cgroups, nil for none.
    func prepare(_ record: ContainerRecord) throws -> ContainerCgroup?

    /// Sets the container's process up, held before its command until `process(of:).start()`.
    /// A failed launch (or a start that failed before it) is followed by `cleanUp(after:)`, which
    /// releases what the state holds; the launch itself leaves nothing the state does not name.
    func launch(_ record: ContainerRecord, plan: ContainerLaunchPlan, networks: [NetworkRecord]) async throws -> LaunchedContainer

    /// The process of a launched container.
    func process(of id: String) -> any ContainerProcess

    /// How the container's last process ended, if it recorded an end (a reason when the runtime,
    /// not the process, ended it).
    func recordedExit(of id: String) -> ExitRecord?

    /// After a daemon restart: whether the container's process is still there to follow.
    func isStillRunning(_ record: ContainerRecord) -> Bool

    /// After the process ended (or its launch failed): ends what is left of it and releases what
    /// it ran in (the state's cgroups); returns whether the kernel's OOM killer ended it.
    func cleanUp(after record: ContainerRecord) async -> Bool

    /// At removal: whatever of the container's runtime is left, its disks included.
    func remove(_ record: ContainerRecord) async

    /// Sets up an exec's process in the running container, held until its `start()`.
    func launchExec(_ record: ContainerRecord, plan: ContainerLaunchPlan, config: ExecConfig, execID: String) async throws
        -> any ContainerProcess

    /// The process of an exec set up earlier.
    func execProcess(containerID: String, execID: String) -> any ContainerProcess

    /// How an exec ended, if it recorded it yet.
    func recordedExecExit(containerID: String, execID: String) -> Int32?

    /// An exec's files, once its end is recorded.
    func removeExecFiles(containerID: String, execID: String)

    /// Freezes or thaws the container's processes (requires `.pause`).
    func setFrozen(_ frozen: Bool, _ record: ContainerRecord) throws

    /// Applies the record's resource limits to the running container (`docker update`).
    func updateResources(of record: ContainerRecord) throws

    /// Joins the running container to one more network, whose attachment the network controller
    /// has addressed: for a runtime whose containers' networks are not host namespaces (a VM's
    /// card is plugged in and its guest told the address). Native veths are the controller's own.
    func plugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, into record: ContainerRecord) async throws

    /// Takes the running container off a network `plugNetwork` (or its start) joined it to.
    func unplugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, from record: ContainerRecord) async throws

    /// Runs `body` with the container's files (`cp`, `export`) when the runtime reaches them itself
    /// (a VM container's, through an agent: its own while it runs, a helper VM's with its disks while
    /// it is stopped); nil when the host reads its root. `body` runs on a thread of its own: it may
    /// wait for the guest for as long as a copy takes.
    func withFiles<T: Sendable>(of record: ContainerRecord, plan: ContainerLaunchPlan, _ body: @escaping @Sendable (any ContainerFiles) throws -> T) async throws -> T?

    /// The entries of the container's writable layer (`diff`) when the runtime reads them itself (a
    /// VM container's, in a guest); nil when the host reads the upper directory.
    func writableLayerEntries(of record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> [WritableLayerEntry]?

    /// Writes the container's writable layer as an OCI layer tar at `path` (`commit`), leaving out
    /// `placeholders` that are empty files, when the runtime writes it itself; false when the host
    /// writes it from the upper directory.
    func writeLayer(of record: ContainerRecord, plan: ContainerLaunchPlan, placeholders: Set<String>, to path: String) async throws -> Bool

    /// The running container's processes, for `top`.
    func processes(of record: ContainerRecord) throws -> [ContainerProcessEntry]

    /// The container's resource counters, when it has any now.
    func usage(of record: ContainerRecord) -> ContainerResourceUsage?

    /// What the runtime saw of a container that ended badly (a VM's last console lines), to add
    /// to its error; empty when there is nothing to say.
    func failureDetail(of record: ContainerRecord) -> String
}

/// What a launch leaves running, for the container's state.
public struct LaunchedContainer: Sendable {
    /// The container's process as the host sees it (QEMU's for a container in a VM).
    public var pid: Int32
    /// The process that holds the container and outlives berthd.
    public var supervisorPID: Int32
    public var cgroup: ContainerCgroup?
    public var utilityVM: ContainerRuntimeDetails.UtilityVM?
}
