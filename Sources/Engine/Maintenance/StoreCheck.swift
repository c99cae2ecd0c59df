import Foundation
import GRDB
import ImageStore
import NativeRuntime
import OCI
import SystemSupport

/// The consistency check of berthd's roots (`berthd --check`, and every daemon start before it
/// serves): what a daemon killed at any point, or a full disk, can leave behind.
///
/// Every write of the store is ordered so that a cut leaves only orphans: files no record names
/// (partial downloads, unpacked layers or blobs of a pull or commit that never recorded its image,
/// a container's or volume's directory made before its row, a removal cut between its row and its
/// files), mounts of a copy cut short. Those are removed.
/// What a cut cannot produce (a record whose files are gone: a disk failure, a hand edit) is
/// reported with what the user can do, never guessed at. Runs only while no daemon uses the root.
public struct StoreCheck: Sendable {
    public let paths: ContainerPaths
    let cgroups: CgroupManager

    public init(root: String, execRoot: String, cgroups: CgroupManager = CgroupManager()) {
        paths = ContainerPaths(root: root, execRoot: execRoot)
        self.cgroups = cgroups
    }

    var root: String { paths.base }

    /// Repairs what is safe to repair; returns everything found, repaired or not.
    public func run() throws -> [StoreFinding] {
        var findings = leftoverMounts()
        findings += leftoverStaging()
        let store = try StateStore(directory: root)
        findings += try databaseIntegrity(store.database)
        findings += try images(store.database)
        findings += try containers(store.database)
        findings += try volumes(store.database)
        return findings
    }

    // MARK: Mounts and staging

    /// The mounts berthd makes in the host's namespace under its root: a stopped container's files
    /// mounted for a copy (its volumes inside), an image's layers merged for a volume's copy-up,
    /// the start's overlay probe. Containers mount theirs in their own namespaces, so with no
    /// daemon running, any of these was cut short. Other mounts (a disk for volumes) are the user's.
    func leftoverMounts() -> [StoreFinding] {
        let mounts = MountTable.mountPoints()
            .filter { $0.hasPrefix(root + "/") && Self.isDaemonsOwnMount(String($0.dropFirst(root.count + 1))) }
        // Deepest first: a copy's volume mounts sit inside the container's root.
        return mounts.sorted { $0.count > $1.count }.map { mountPoint in
            let relative = String(mountPoint.dropFirst(root.count + 1))
            guard umount2(mountPoint, Int32(MNT_DETACH)) == 0 else {
                return StoreFinding("leftover mount \(relative)", .left("unmounting failed (\(SystemError.text(errno))); unmount it by hand"))
            }
            return StoreFinding("leftover mount \(relative)", .repaired("unmounted"))
        }
    }

    static func isDaemonsOwnMount(_ relative: String) -> Bool {
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        switch components.first {
        case "snapshots": return components.count >= 2 && components[1].hasPrefix(".merged-")
        case "containers": return components.count >= 3 && isID(String(components[1]), length: 64) && components[2] == "rootfs"
        case let first?: return first.hasPrefix("overlay-check-") && components.count >= 2 && components[1] == "merged"
        case nil: return false
        }
    }

    /// Downloads and unpacks that never finished, and merged image roots of cut copy-ups.
    func leftoverStaging() -> [StoreFinding] {
        var findings: [StoreFinding] = []
        let ingest = root + "/content/ingest"
        for name in Self.entries(ingest) {
            let size = Self.size(ingest + "/" + name)
            findings.append(removing(ingest + "/" + name, "partial download content/ingest/\(name) (\(size) bytes)"))
        }
        let snapshots = root + "/snapshots"
        for name in Self.entries(snapshots) where name.hasPrefix(".") {
            findings.append(removing(snapshots + "/" + name, "unfinished layer snapshots/\(name)"))
        }
        for name in Self.entries(root) where name.hasPrefix("overlay-check-") {
            findings.append(removing(root + "/" + name, "the start's overlay probe \(name)"))
        }
        return findings
    }

    // MARK: The database

    func databaseIntegrity(_ database: DatabasePool) throws -> [StoreFinding] {
        let verdicts = try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        guard verdicts != ["ok"] else { return [] }
        return [StoreFinding("the database berth.db fails SQLite's integrity check (\(verdicts.prefix(3).joined(separator: "; ")))",
                             .left("restore it from a backup, or move it aside to start with an empty store"))]
    }

    // MARK: Images

    /// Images whose files are gone, then blobs and layers no image names.
    func images(_ database: DatabasePool) throws -> [StoreFinding] {
        var findings: [StoreFinding] = []
        let content = root + "/content/blobs/sha256"
        let snapshots = root + "/snapshots"
        let catalog = ImageCatalog(database: database)
        let all = try catalog.all()
        for image in all {
            var missing: [String] = []
            for blob in [image.id, image.manifestDigest] + image.layers.map(\.blob)
            where !FileManager.default.fileExists(atPath: content + "/" + blob.encoded) {
                missing.append("blob \(blob)")
            }
            for layer in image.layers where !FileManager.default.fileExists(atPath: snapshots + "/" + layer.chainID.encoded + "/diff") {
                missing.append("unpacked layer \(layer.chainID)")
            }
            guard let first = missing.first else { continue }
            let name = image.tags.first.map(Reference.familiar) ?? String(image.id.encoded.prefix(12))
            findings.append(StoreFinding("image \(name) lacks its \(first)\(missing.count > 1 ? " and \(missing.count - 1) more" : "")",
                                         .left("remove it (berth rmi -f \(name)) and pull or build it again")))
        }
        let referenced = try catalog.referenced()
        for name in Self.entries(content) {
            guard let digest = try? Digest(sha256: name), !referenced.blobs.contains(digest) else { continue }
            findings.append(removing(content + "/" + name, "blob \(digest) that no image names (\(Self.size(content + "/" + name)) bytes)"))
        }
        for name in Self.entries(snapshots) {
            guard let chainID = try? Digest(sha256: name), !referenced.chainIDs.contains(chainID) else { continue }
            findings.append(removing(snapshots + "/" + name, "unpacked layer \(chainID) that no image names"))
        }
        return findings
    }

    // MARK: Containers

    /// Directories of containers with no row (a create cut before its row, a removal after it),
    /// with their cgroups, runtime files and VM files; rows with no directory are reported.
    func containers(_ database: DatabasePool) throws -> [StoreFinding] {
        var findings: [StoreFinding] = []
        let records = try ContainerCatalog(database: database).all()
        let ids = Set(records.map(\.id))
        for id in Self.entries(paths.root) where Self.isID(id, length: 64) && !ids.contains(id) {
            findings.append(removing(paths.directory(id), "directory containers/\(id.prefix(12)) of no container"))
            let cgroup = cgroups.cgroup(forID: id)
            if cgroup.procsFiles.contains(where: { FileManager.default.fileExists(atPath: $0) }) {
                cgroups.remove(cgroup)
                let left = cgroup.procsFiles.contains { FileManager.default.fileExists(atPath: $0) }
                findings.append(StoreFinding("cgroup berth/\(id.prefix(12)) of no container",
                                             left ? .left("processes are still in it; end them and remove the cgroup") : .repaired("removed")))
            }
        }
        for record in records where !FileManager.default.fileExists(atPath: paths.directory(record.id)) {
            findings.append(StoreFinding("container \(record.name) (\(record.id.prefix(12))) has no directory under containers/",
                                         .left("its files are lost; remove it (berth rm -f \(record.name))")))
        }
        // Runtime and VM directories are named by the ID's first 24 characters (the seccomp cache beside them is not).
        let prefixes = Set(records.map { String($0.id.prefix(24)) })
        for name in Self.entries(paths.execRoot) where Self.isID(name, length: 24) && !prefixes.contains(name) {
            let socket = paths.execRoot + "/" + name + "/shim.sock"
            if SocketCheck.isListening(socket) {
                findings.append(StoreFinding("a shim runs for \(name), a container with no record",
                                             .left("stop it (kill the berth-shim serving \(socket))")))
                continue
            }
            findings.append(removing(paths.execRoot + "/" + name, "runtime directory of no container (\(name))"))
        }
        for name in Self.entries(paths.vmRoot) where Self.isID(name, length: 24) && !prefixes.contains(name) {
            findings.append(removing(paths.vmRoot + "/" + name, "utility VM files of no container (vms/\(name))"))
        }
        return findings
    }

    // MARK: Volumes

    /// Directories with no row (a create cut before its row, a removal after it), copy-ups cut
    /// short, and rows whose data directory is gone (made again, empty).
    func volumes(_ database: DatabasePool) throws -> [StoreFinding] {
        var findings: [StoreFinding] = []
        let records = try VolumeCatalog(database: database).all()
        let names = Set(records.map(\.name))
        for name in Self.entries(paths.volumesRoot) where !names.contains(name) {
            findings.append(removing(paths.volumeDirectory(name), "directory volumes/\(name) of no volume"))
        }
        for volume in records {
            let scratch = paths.volumeDirectory(volume.name) + "/.copy-up"
            if FileManager.default.fileExists(atPath: scratch) {
                findings.append(removing(scratch, "an unfinished copy-up in volume \(volume.name)"))
            }
            var isDirectory: ObjCBool = false
            guard !FileManager.default.fileExists(atPath: paths.volumeData(volume.name), isDirectory: &isDirectory) else { continue }
            do {
                try FileManager.default.createDirectory(atPath: paths.volumeData(volume.name), withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o755])
                findings.append(StoreFinding("volume \(volume.name) has no data directory", .repaired("made again, empty")))
            } catch {
                findings.append(StoreFinding("volume \(volume.name) has no data directory", .left("making it failed: \(error)")))
            }
        }
        return findings
    }

    // MARK: Helpers

    /// Never through a mount: a shareable container's /dev/shm, a pod VM's share with host paths bound in it.
    private func removing(_ path: String, _ problem: String) -> StoreFinding {
        do {
            try MountTable.removeUnmounted(path)
            return StoreFinding(problem, .repaired("removed"))
        } catch {
            return StoreFinding(problem, .left("removing it failed (\(error)); remove \(path) by hand"))
        }
    }

    static func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func isID(_ name: String, length: Int) -> Bool {
        name.utf8.count == length && name.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
