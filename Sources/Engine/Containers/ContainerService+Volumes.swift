import APIModels
import Foundation
import ImageStore
import NativeRuntime

/// The volumes containers mount: the container service answers for which containers use a volume and
/// asks the volume service (`volumes`) to make, fill and delete them, within one actor turn.
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
        let volume = try volumes.create(name: name, labels: request.Labels ?? [:], anonymous: name == nil)
        await volumes.publish("create", volume.name)
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
        try volumes.delete(name)
        await volumes.publish("destroy", name)
    }

    /// Unused volumes: anonymous ones only unless `all`; `labels` filters as Docker's `label=` does.
    public func pruneVolumes(all: Bool, labels: [String]) async throws -> (names: [String], bytes: Int64) {
        let used = try volumesInUse()
        var removed: [String] = []
        var bytes: Int64 = 0
        for volume in try volumes.all() where !used.contains(volume.name) && (all || volume.anonymous) {
            guard labels.allSatisfy({ LabelFilter.matches($0, in: volume.labels) }) else { continue }
            bytes += volumes.size(volume.name)
            try volumes.delete(volume.name)
            await volumes.publish("destroy", volume.name)
            removed.append(volume.name)
        }
        return (removed, bytes)
    }

    public nonisolated func mountpoint(of volume: VolumeRecord) -> String { paths.volumeData(volume.name) }

    /// The volumes any container, running or not, mounts.
    public func volumesInUse() throws -> Set<String> {
        Set(try catalog.all().flatMap { $0.state.mounts ?? [] }.compactMap(\.volume))
    }

    func volumeUsers(_ name: String) throws -> [String] {
        try catalog.all().filter { ($0.state.mounts ?? []).contains { $0.volume == name } }.map(\.id)
    }

    // MARK: Mounts of a new container

    /// Makes what `requested` needs: the volumes it names that do not exist yet, and anonymous ones,
    /// each filled with the image's files at its target unless `nocopy`. Bind sources must exist, and
    /// be directories or regular files for a utility VM (it gets them over 9p, which carries no
    /// sockets or devices).
    /// Returns them with the names of the volumes made; on failure, every volume made here is removed again.
    func prepareMounts(_ requested: [ContainerMount], image: ImageRecord, userNamespace: UserNamespaceMapping?,
                       inUtilityVM: Bool) throws -> (mounts: [ContainerMount], made: [String])
    {
        for mount in requested where mount.kind == .bind {
            var info = stat()
            guard stat(mount.source, &info) == 0 else {
                throw ContainerError.invalid("invalid mount config for type \"bind\": bind source path does not exist: \(mount.source)")
            }
            if inUtilityVM, (info.st_mode & S_IFMT) != S_IFDIR, (info.st_mode & S_IFMT) != S_IFREG {
                throw ContainerError.invalid("invalid mount config for type \"bind\": \(mount.source) is a socket or device, "
                    + "which a container in a utility VM cannot reach (its binds are shared over 9p): bind a directory or a regular file")
            }
        }
        var made: [String] = []
        do {
            var resolved: [ContainerMount] = []
            for var mount in requested {
                if mount.kind == .volume {
                    let existing = try mount.volume.flatMap { try volumes.volume(named: $0) }
                    let volume = try existing ?? volumes.create(name: mount.volume, labels: [:], anonymous: mount.volume == nil)
                    if existing == nil {
                        made.append(volume.name)
                        if let userNamespace {
                            // The container's root is this host id: its volume starts as root's.
                            chown(paths.volumeData(volume.name), userNamespace.hostBase, userNamespace.hostBase)
                        }
                    }
                    mount.unnamedInRequest = mount.volume == nil
                    mount.volume = volume.name
                    if !mount.noCopy, try volumes.isEmpty(volume.name) {
                        try volumes.fill(volume.name, from: image, at: mount.target, idOffset: userNamespace?.hostBase ?? 0)
                    }
                }
                resolved.append(mount)
            }
            return (resolved, made)
        } catch {
            for name in made { try? volumes.delete(name) }
            throw error
        }
    }

    /// `--volumes-from CONTAINER[:ro|:rw]`: that container's volumes and binds at the same targets,
    /// read-only with `ro`, read-write with `rw`, as they are there otherwise; never filled with
    /// image files; targets the new container mounts itself stay its own.
    func volumesFrom(_ references: [String], besides own: [ContainerMount]) throws -> [ContainerMount] {
        var taken = Set(own.map(\.target))
        var shared: [ContainerMount] = []
        for reference in references {
            var name = reference
            var mode: String?
            if let colon = reference.lastIndex(of: ":") {
                name = String(reference[..<colon])
                mode = String(reference[reference.index(after: colon)...])
            }
            guard mode == nil || mode == "ro" || mode == "rw" else {
                throw ContainerError.invalid("invalid mode for volumes-from: \(mode ?? "")")
            }
            // The request's fault, not a missing image: clients pull on a create's 404.
            guard let source = try? find(name) else { throw ContainerError.invalid("No such container: \(name)") }
            for mount in source.state.mounts ?? [] where mount.kind != .tmpfs && !taken.contains(mount.target) {
                var copy = mount
                if let mode { copy.readOnly = mode == "ro" }
                copy.noCopy = true
                shared.append(copy)
                taken.insert(mount.target)
            }
        }
        return shared
    }

    /// Anonymous volumes of a removed container (`rm -v`, `--rm`) that its request did not name
    /// and no other container mounts.
    func removeAnonymousVolumes(of record: ContainerRecord) async {
        for mount in record.state.mounts ?? [] where mount.unnamedInRequest != false {
            guard let name = mount.volume else { continue }
            guard let volume = try? volumes.volume(named: name), volume.anonymous,
                  (try? volumeUsers(name).isEmpty) == true, (try? volumes.delete(name)) != nil else { continue }
            await volumes.publish("destroy", name)
        }
    }
}
