/// Where a container's files live: persistent ones under `--root`, runtime ones under `--exec-root`.
public struct ContainerPaths: Sendable {
    public let root: String
    public let execRoot: String
    /// berthd's `--root` itself.
    public let base: String

    public init(root: String, execRoot: String) {
        self.root = root + "/containers"
        self.execRoot = execRoot + "/containers"
        base = root
    }

    /// Utility VMs' files (writable disk, console log, agent socket), where QEMU may reach them.
    public var vmRoot: String { base + "/vms" }
    /// Short enough for the agent socket's path under a temporary root.
    public func vmDirectory(_ id: String) -> String { "\(vmRoot)/\(id.prefix(24))" }

    /// Volumes of the local driver: each one's files are in `<name>/_data`, as Docker lays them out.
    public var volumesRoot: String { base + "/volumes" }
    public func volumeDirectory(_ name: String) -> String { "\(volumesRoot)/\(name)" }
    public func volumeData(_ name: String) -> String { volumeDirectory(name) + "/_data" }

    public func directory(_ id: String) -> String { "\(root)/\(id)" }
    public func upper(_ id: String) -> String { directory(id) + "/upper" }
    public func work(_ id: String) -> String { directory(id) + "/work" }
    /// The empty mount point of the overlay, mounted only inside the container's namespace.
    public func rootfs(_ id: String) -> String { directory(id) + "/rootfs" }
    public func hostname(_ id: String) -> String { directory(id) + "/hostname" }
    public func hosts(_ id: String) -> String { directory(id) + "/hosts" }
    public func resolvConf(_ id: String) -> String { directory(id) + "/resolv.conf" }
    public func log(_ id: String) -> String { directory(id) + "/\(id)-json.log" }
    /// Where the container's output is kept: its json-file log, or the file a cri-file log's `path` names.
    public func log(of record: ContainerRecord) -> String {
        guard record.hostConfig.LogConfig?.Type == ContainerLogs.criFileDriver, let path = record.hostConfig.LogConfig?.Config?["path"] else {
            return log(record.id)
        }
        return path
    }
    public func exit(_ id: String) -> String { directory(id) + "/exit" }

    public func runtimeDirectory(_ id: String) -> String { "\(execRoot)/\(id.prefix(24))" }
    public func spec(_ id: String) -> String { runtimeDirectory(id) + "/spec" }
    /// Short enough for a unix socket path (108 bytes) under a temporary exec root.
    public func socket(_ id: String) -> String { runtimeDirectory(id) + "/shim.sock" }
    /// The native container's network namespace, pinned while it runs.
    public func networkNamespace(_ id: String) -> String { runtimeDirectory(id) + "/netns" }
    /// `--ipc shareable`: the container's /dev/shm, a tmpfs on the host so that joiners can bind it too.
    public func sharedMemory(_ id: String) -> String { runtimeDirectory(id) + "/shm" }
    public func shimDiagnostics(_ id: String) -> String { runtimeDirectory(id) + "/shim.log" }
    public func execSpec(_ id: String, _ execID: String) -> String { runtimeDirectory(id) + "/exec-\(execID.prefix(12)).spec" }
    public func execSocket(_ id: String, _ execID: String) -> String { runtimeDirectory(id) + "/exec-\(execID.prefix(12)).sock" }
    public func execExit(_ id: String, _ execID: String) -> String { runtimeDirectory(id) + "/exec-\(execID.prefix(12)).exit" }
    public var seccompCache: String { execRoot + "/seccomp" }
    var seccompFilters: SeccompFilterCache { SeccompFilterCache(directory: seccompCache) }
}
