/// Where one container's cgroups live: a directory per v1 controller and/or one in cgroup2.
public struct ContainerCgroup: Sendable, Equatable, Codable {
    /// v1 controller name → directory.
    public var v1: [String: String]
    /// The cgroup2 directory (without controllers on a hybrid host).
    public var unified: String?
    /// Whether cgroup2 holds the controllers (a pure v2 host).
    public var unifiedHasControllers: Bool

    public init(v1: [String: String], unified: String?, unifiedHasControllers: Bool) {
        self.v1 = v1
        self.unified = unified
        self.unifiedHasControllers = unifiedHasControllers
    }

    /// The `cgroup.procs` files a new process joins, one per distinct directory.
    public var procsFiles: [String] {
        var directories = Set(v1.values)
        if let unified { directories.insert(unified) }
        return directories.sorted().map { $0 + "/cgroup.procs" }
    }

    /// The directory holding `controller`'s files, whichever version provides it.
    func directory(for controller: String) -> (path: String, v2: Bool)? {
        if let path = v1[controller] { return (path, false) }
        if unifiedHasControllers, let unified { return (unified, true) }
        return nil
    }
}
