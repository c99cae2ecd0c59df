import APIModels
import Foundation
import ImageStore
import NativeRuntime
import SystemSupport

extension ContainerService {
    /// `path` in the container, as `docker cp` checks it, and, given an `output`, a tar of it there.
    public func archive(_ reference: String, path: String, to output: String?) async throws -> ContainerPathStat {
        try await ContainerError.translatingErrors {
            let stat = try await withFiles(reference) { root in
                let stat = try root.stat(path)
                if let output { try root.archive(path, to: output) }
                return stat
            }
            return ContainerPathStat(name: stat.name, size: stat.size, mode: stat.mode, mtime: ContainerTime.rfc3339(stat.modified),
                                     linkTarget: stat.linkTarget)
        }
    }

    /// Unpacks the tar at `archive` into the directory `path` of the container, every entry kept inside its root.
    public func extract(_ reference: String, archive: String, into path: String) async throws {
        try await ContainerError.translatingErrors {
            try await withFiles(reference) { try $0.extract(archive, into: path) }
        }
    }

    /// The container's whole filesystem as a tar at `output` (`docker export`).
    public func export(_ reference: String, to output: String) async throws {
        try await ContainerError.translatingErrors {
            try await withFiles(reference) { try $0.archive("/", to: output) }
        }
    }

    /// Runs `body` with the container's files: a running native container's through its init, a
    /// stopped one's overlay mounted for the call (in the daemon's namespace) and unmounted after,
    /// a VM container's through a guest agent (its own, or a helper VM's while it is stopped).
    func withFiles<T: Sendable>(_ reference: String, _ body: @escaping @Sendable (any ContainerFiles) throws -> T) async throws -> T {
        let record = try find(reference)
        let plan = try launchPlan(record)
        if let result = try await runtime(for: record).withFiles(of: record, plan: plan, body) { return result }
        if record.state.isActive, record.state.pid > 0 {
            let fd = open("/proc/\(record.state.pid)/root", RootedFiles.rootOpenFlags)
            guard fd >= 0 else { throw ContainerError.conflict("the root of container \(record.id) is not reachable") }
            defer { close(fd) }
            return try body(RootedFiles(rootFD: fd, idOffset: record.state.userNamespace?.hostBase ?? 0))
        }
        let mountPoint = paths.rootfs(record.id)
        let options = LaunchSpec.overlayOptions(lower: plan.layers, upper: paths.upper(record.id), work: paths.work(record.id))
        guard mount("overlay", mountPoint, "overlay", 0, options) == 0 else {
            throw ContainerError.conflict("mounting the root of container \(record.id): \(SystemError.text(errno))")
        }
        // Detaching the root takes the volumes and binds mounted inside it along.
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let fd = open(mountPoint, RootedFiles.rootOpenFlags)
        guard fd >= 0 else { throw ContainerError.conflict("opening the root of container \(record.id)") }
        defer { close(fd) }
        try mountVolumes(of: record, inRoot: fd)
        return try body(RootedFiles(rootFD: fd))
    }

    /// A stopped container's volumes and binds at their places in its mounted root, as dockerd
    /// mounts them for `docker cp`: each target resolved inside the root (made when missing), the
    /// mount made through its descriptor, so no symlink in the container's files leads outside.
    private func mountVolumes(of record: ContainerRecord, inRoot root: Int32) throws {
        for mount in record.state.mounts ?? [] where mount.kind != .tmpfs {
            let source = mount.kind == .volume ? paths.volumeData(mount.volume ?? "") : mount.source
            var info = stat_t()
            guard stat(source, &info) == 0 else { continue }
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            let target: Int32
            do {
                target = try RootedFiles(rootFD: root).mountPoint(mount.target, directory: isDirectory)
            } catch {
                throw ContainerError.conflict("mount point \(mount.target) of container \(record.id): \(error)")
            }
            defer { close(target) }
            guard Glibc.mount(source, "/proc/self/fd/\(target)", nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
                throw ContainerError.conflict("mounting \(mount.target) of container \(record.id): \(SystemError.text(errno))")
            }
        }
    }

    /// Docker's `changes`: paths added (1), changed (0) or deleted (2) in the container's writable
    /// layer: its upper directory on the host, or a VM container's disk, read in a guest.
    public func changes(_ reference: String) async throws -> [(path: String, kind: Int)] {
        let record = try find(reference)
        let plan = try launchPlan(record)
        if let entries = try await runtime(for: record).writableLayerEntries(of: record, plan: plan) { return Self.changes(entries) }
        // The upper directory is the container's to change meanwhile: walked by descriptors only.
        var found: [(path: String, kind: WritableLayerEntry.Kind)] = []
        try? DirectoryWalk.visit(paths.upper(record.id)) { item in
            let type = item.info.st_mode & S_IFMT
            let kind: WritableLayerEntry.Kind = type == S_IFCHR && item.info.st_rdev == 0 ? .whiteout
                : type == S_IFREG ? (item.info.st_size == 0 ? .emptyFile : .file) : type == S_IFDIR ? .directory : .other
            found.append(("/" + item.path, kind))
        }
        let inImage = plan.layers.reduce(into: Set<String>()) { $0.formUnion(DirectoryWalk.existing(found.map(\.path), in: $1)) }
        return Self.changes(found.map { WritableLayerEntry(path: $0.path, kind: $0.kind, inImage: inImage.contains($0.path)) })
    }

    /// The files the runtime made for its own mounts (empty until bound over), not the container's changes.
    static let mountPlaceholders: Set<String> = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]

    /// Docker's kinds for a writable layer's entries, sorted by path.
    static func changes(_ entries: [WritableLayerEntry]) -> [(path: String, kind: Int)] {
        var result: [(String, Int)] = []
        // Directories in the upper layer only to hold the mount points of /etc/hosts and the like:
        // the container changed nothing there unless something else below them shows up.
        var placeholderParents: Set<String> = []
        for entry in entries {
            if entry.kind == .emptyFile, mountPlaceholders.contains(entry.path) {
                placeholderParents.insert((entry.path as NSString).deletingLastPathComponent)
                continue
            }
            result.append((entry.path, entry.kind == .whiteout ? 2 : entry.inImage ? 0 : 1))
        }
        let found = result
        result.removeAll { entry in
            entry.1 == 0 && placeholderParents.contains(entry.0) && !found.contains { $0.0.hasPrefix(entry.0 + "/") }
        }
        return result.sorted { $0.0 < $1.0 }
    }
}
