import Foundation
import ImageStore
import SystemSupport

/// Volumes of the `local` driver: their rows and directories, their events, and Docker's copy-up of
/// an image's content into a new one. Which containers mount a volume is the container service's to
/// know; it calls these from its own actor, so a volume in use is never removed between its check and
/// its removal.
struct VolumeService: Sendable {
    let catalog: VolumeCatalog
    let paths: ContainerPaths
    let images: ImageService
    let events: EventBus

    func all() throws -> [VolumeRecord] { try catalog.all() }

    func volume(named name: String) throws -> VolumeRecord? { try catalog.volume(named: name) }

    /// The directory first, then the row: a crash in between leaves an empty directory that the
    /// next volume of that name takes over.
    func create(name: String?, labels: [String: String], anonymous: Bool) throws -> VolumeRecord {
        let name = name ?? ContainerService.newID()
        var labels = labels
        if anonymous { labels[VolumeRecord.anonymousLabel] = "" }
        try FileManager.default.createDirectory(atPath: paths.volumesRoot, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o701])
        try FileManager.default.createDirectory(atPath: paths.volumeData(name), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let volume = VolumeRecord(name: name, created: Date(), labels: labels, anonymous: anonymous)
        try catalog.insert(volume)
        return volume
    }

    /// The row first, then the data: a crash in between leaves a directory no volume names.
    func delete(_ name: String) throws {
        try catalog.delete(name)
        try? FileManager.default.removeItem(atPath: paths.volumeDirectory(name))
    }

    /// Bytes of the volume's data.
    func size(_ name: String) -> Int64 { ContainerService.directorySize(paths.volumeData(name)) }

    func isEmpty(_ name: String) throws -> Bool {
        try FileManager.default.contentsOfDirectory(atPath: paths.volumeData(name)).isEmpty
    }

    /// Docker's volume events: `create` and `destroy`, the volume's name as the actor.
    func publish(_ action: String, _ name: String) async {
        await events.publish(EngineEvent(type: "volume", action: action, actorID: name, attributes: ["driver": "local"]))
    }

    /// Docker's copy-up: the image's directory at `target` (resolved inside the image, never through
    /// a symlink out of it), with owners and modes, becomes the new volume's content. For a container
    /// with its own user namespace the owners move up by `idOffset`, into the ids it maps.
    func fill(_ name: String, from image: ImageRecord, at target: String, idOffset: UInt32) throws {
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
            throw ContainerError.invalid("filling volume \(name): \(SystemError.text(errno))")
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
