import APIModels
import Foundation
import ImageStore
import NativeRuntime

/// Volumes of the `local` driver, and the mounts containers make of them. They live here, with the
/// containers, so that a volume in use can never be removed between the check and the removal.
extension ContainerService {
    // MARK: Volumes

    /// Docker's `volume create`: an existing volume of that name is returned as it is.
    public func createVolume(_ request: VolumeCreateRequest) async throws -> VolumeRecord {
        if let driver = request.Driver, !driver.isEmpty, driver != "local" {
            throw ContainerError.notFound("error looking up volume plugin \(driver): plugin \"\(driver)\" not found")
        }
        if let options = request.DriverOpts, !options.isEmpty {
            throw ContainerError.invalid("the local driver's options (\(options.keys.sorted().joined(separator: ", "))) are not supported")
        }
        let name = try request.Name.flatMap { $0.isEmpty ? nil : try VolumeRecord.checkedName($0) }
        if let name, let existing = try volumes.volume(named: name) { return existing }
        let volume = try makeVolume(name: name, labels: request.Labels ?? [:], anonymous: name == nil)
        await publishVolume("create", volume.name)
        return volume
    }

    public func listVolumes() throws -> [VolumeRecord] { try volumes.all() }

    public func volume(_ name: String) throws -> VolumeRecord {
        guard let volume = try volumes.volume(named: name) else { throw ContainerError.notFound("get \(name): no such volume") }
        return volume
    }

    /// Refused while any container, running or not, mounts it (as Docker does, even with force).
    public func removeVolume(_ name: String, force: Bool) async throws {
        guard try volumes.volume(named: name) != nil else {
            if force { return }
            throw ContainerError.notFound("get \(name): no such volume")
        }
        let users = try volumeUsers(name)
        guard users.isEmpty else { throw ContainerError.conflict("remove \(name): volume is in use - [\(users.joined(separator: ", "))]") }
        try deleteVolume(name)
        await publishVolume("destroy", name)
    }

    /// Unused volumes: anonymous ones only unless `all`; `labels` filters as Docker's `label=` does.
    public func pruneVolumes(all: Bool, labels: [String]) async throws -> (names: [String], bytes: Int64) {
        let used = try volumesInUse()
        var removed: [String] = []
        var bytes: Int64 = 0
        for volume in try volumes.all() where !used.contains(volume.name) && (all || volume.anonymous) {
            guard labels.allSatisfy({ LabelFilter.matches($0, in: volume.labels) }) else { continue }
            bytes += Self.directorySize(paths.volumeData(volume.name))
            try deleteVolume(volume.name)
            await publishVolume("destroy", volume.name)
            removed.append(volume.name)
        }
        return (removed, bytes)
    }

    public nonisolated func mountpoint(of volume: VolumeRecord) -> String { paths.volumeData(volume.name) }

    /// Docker's volume events: `create` and `destroy`, the volume's name as the actor.
    func publishVolume(_ action: String, _ name: String) async {
        await events.publish(EngineEvent(type: "volume", action: action, actorID: name, attributes: ["driver": "local"]))
    }

    /// The volumes any container, running or not, mounts.
    public func volumesInUse() throws -> Set<String> {
        Set(try catalog.all().flatMap { $0.state.mounts ?? [] }.compactMap(\.volume))
    }

    func volumeUsers(_ name: String) throws -> [String] {
        try catalog.all().filter { ($0.state.mounts ?? []).contains { $0.volume == name } }.map(\.id)
    }

    /// The directory first, then the row: a crash in between leaves an empty directory that the
    /// next volume of that name takes over.
    private func makeVolume(name: String?, labels: [String: String], anonymous: Bool) throws -> VolumeRecord {
        let name = name ?? Self.newID()
        var labels = labels
        if anonymous { labels[VolumeRecord.anonymousLabel] = "" }
        try FileManager.default.createDirectory(atPath: paths.volumesRoot, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o701])
        try FileManager.default.createDirectory(atPath: paths.volumeData(name), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let volume = VolumeRecord(name: name, created: Date(), labels: labels, anonymous: anonymous)
        try volumes.insert(volume)
        return volume
    }

    /// The row first, then the data: a crash in between leaves a directory no volume names.
    func deleteVolume(_ name: String) throws {
        try volumes.delete(name)
        try? FileManager.default.removeItem(atPath: paths.volumeDirectory(name))
    }

    // MARK: Mounts of a new container

    /// Makes what `requested` needs: the volumes it names that do not exist yet, and anonymous ones,
    /// each filled with the image's files at its target unless `nocopy`. Bind sources must exist, and
    /// be directories for a utility VM (it gets them over 9p, and a single file has no share of its own).
    /// Returns them with the names of the volumes made; on failure, every volume made here is removed again.
    func prepareMounts(_ requested: [ContainerMount], image: ImageRecord, userNamespace: UserNamespaceMapping?,
                       inUtilityVM: Bool) throws -> (mounts: [ContainerMount], made: [String])
    {
        for mount in requested where mount.kind == .bind {
            var info = stat()
            guard stat(mount.source, &info) == 0 else {
                throw ContainerError.invalid("invalid mount config for type \"bind\": bind source path does not exist: \(mount.source)")
            }
            if inUtilityVM, (info.st_mode & S_IFMT) != S_IFDIR {
                throw ContainerError.invalid("cannot bind the file \(mount.source) into a utility-VM container: bind its directory")
            }
        }
        var made: [String] = []
        do {
            var resolved: [ContainerMount] = []
            for var mount in requested {
                if mount.kind == .volume {
                    let existing = try mount.volume.flatMap { try volumes.volume(named: $0) }
                    let volume = try existing ?? makeVolume(name: mount.volume, labels: [:], anonymous: mount.volume == nil)
                    if existing == nil {
                        made.append(volume.name)
                        if let userNamespace {
                            // The container's root is this host id: its volume starts as root's.
                            chown(paths.volumeData(volume.name), userNamespace.hostBase, userNamespace.hostBase)
                        }
                    }
                    mount.volume = volume.name
                    if !mount.noCopy, try isEmptyDirectory(paths.volumeData(volume.name)) {
                        try copyImageContent(image, at: mount.target, into: volume.name, idOffset: userNamespace?.hostBase ?? 0)
                    }
                }
                resolved.append(mount)
            }
            return (resolved, made)
        } catch {
            for name in made { try? deleteVolume(name) }
            throw error
        }
    }

    /// Anonymous volumes of a removed container (`rm -v`, `--rm`) that no other container mounts.
    func removeAnonymousVolumes(of record: ContainerRecord) async {
        for name in (record.state.mounts ?? []).compactMap(\.volume) {
            guard let volume = try? volumes.volume(named: name), volume.anonymous,
                  (try? volumeUsers(name).isEmpty) == true, (try? deleteVolume(name)) != nil else { continue }
            await publishVolume("destroy", name)
        }
    }

    private func isEmptyDirectory(_ path: String) throws -> Bool {
        try FileManager.default.contentsOfDirectory(atPath: path).isEmpty
    }

    /// Docker's copy-up: the image's directory at `target` (resolved inside the image, never through
    /// a symlink out of it), with owners and modes, becomes the new volume's content. For a container
    /// with its own user namespace the owners move up by `idOffset`, into the ids it maps.
    private func copyImageContent(_ image: ImageRecord, at target: String, into name: String, idOffset: UInt32) throws {
        let scratch = paths.volumeDirectory(name) + "/.copy-up"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let found: RootedFiles.PathStat?
        do {
            found = try images.withMergedRoot(image) { root in
                guard let root else { return nil }
                return try copy(target, from: root, into: scratch, volume: name)
            }
        } catch let error as ImageError {
            throw ContainerError.invalid("copying the image's \(target) into volume \(name): \(error)")
        }
        guard let found else { return }
        // The archive's one top entry is the directory itself, with its owner and mode: it becomes _data.
        let data = paths.volumeData(name)
        guard rmdir(data) == 0, Glibc.rename(scratch + "/staging/" + found.name, data) == 0 else {
            throw ContainerError.invalid("filling volume \(name): \(String(cString: strerror(errno)))")
        }
        if idOffset > 0 {
            let relatives = [""] + (FileManager.default.subpaths(atPath: data) ?? []).map { "/" + $0 }
            for relative in relatives {
                var info = stat()
                guard lstat(data + relative, &info) == 0 else { continue }
                lchown(data + relative, info.st_uid &+ idOffset, info.st_gid &+ idOffset)
            }
        }
    }

    /// The image's `target` directory (found inside `root`, never through a symlink out of it) as
    /// `scratch/staging/NAME`, owners and modes kept; nil when it is no directory.
    private func copy(_ target: String, from root: String, into scratch: String, volume: String) throws -> RootedFiles.PathStat? {
        let rootFD = open(root, RootedFiles.rootOpenFlags)
        guard rootFD >= 0 else { throw ContainerError.invalid("opening the image to copy \(target) into volume \(volume)") }
        defer { close(rootFD) }
        let files = RootedFiles(rootFD: rootFD)
        guard let found = try? files.stat(target), found.mode & (1 << 31) != 0 else { return nil }
        let archive = scratch + "/content.tar"
        let staging = scratch + "/staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        do {
            try files.archive(target, to: archive)
            let stagingFD = open(staging, RootedFiles.rootOpenFlags)
            guard stagingFD >= 0 else { throw ContainerError.invalid("opening \(staging)") }
            defer { close(stagingFD) }
            try RootedFiles(rootFD: stagingFD).extract(archive, into: "/")
        } catch let error as ContainerError {
            throw error
        } catch {
            throw ContainerError.invalid("copying the image's \(target) into volume \(volume): \(error)")
        }
        return found
    }
}
