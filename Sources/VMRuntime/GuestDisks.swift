import Foundation
import SystemSupport

/// The disks a VM container's root is made of: one read-only ext4 image per image layer, built
/// once from the layer's snapshot and kept by chain ID, and an empty writable ext4 disk per
/// container holding the overlay's `upper` and `work` directories.
public struct GuestDisks: Sendable {
    /// Where layer disks are cached.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The disk for one layer, made from its snapshot directory on first use (temp file, fsync,
    /// rename, so a crash never leaves a half-made disk under its final name).
    public func layerDisk(snapshot: String, chainID: String) throws -> String {
        let name = chainID.replacingOccurrences(of: ":", with: "-")
        let path = "\(directory)/\(name).ext4"
        if FileManager.default.fileExists(atPath: path) { return path }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(directory)/.\(name)-\(UUID().uuidString).ext4"
        defer { unlink(temporary) }
        // Overlay whiteouts (0/0 devices, trusted.overlay xattrs) are copied as they are; no journal
        // for a disk that is never written.
        let (bytes, inodes) = try Self.footprint(of: snapshot)
        try Self.makeFilesystem(at: temporary, populatedFrom: snapshot, bytes: bytes, inodes: inodes, journal: false)
        try Self.sync(temporary)
        guard rename(temporary, path) == 0 else { throw GuestDiskError.failed("renaming \(temporary)", SystemError.text(errno)) }
        return path
    }

    /// A container's writable disk: sparse, ext4 with a journal, `upper` and `work` made.
    public static func makeWritableDisk(at path: String, sizeMiB: Int) throws {
        let template = path + ".template"
        try FileManager.default.createDirectory(atPath: template + "/upper", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: template + "/work", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: template) }
        try makeFilesystem(at: path, populatedFrom: template, bytes: Int64(sizeMiB) << 20, inodes: nil, journal: true)
    }

    /// Bytes and inodes the tree needs as ext4 with 4 KiB blocks.
    static func footprint(of directory: String) throws -> (bytes: Int64, inodes: Int) {
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw GuestDiskError.failed("reading \(directory)", "not a directory")
        }
        var bytes: Int64 = 0
        var inodes = 1
        while let relative = walker.nextObject() as? String {
            var info = stat()
            guard lstat(directory + "/" + relative, &info) == 0 else { continue }
            bytes += (Int64(info.st_size) + 4095) / 4096 * 4096 + 4096
            inodes += 1
        }
        return (bytes, inodes)
    }

    private static func makeFilesystem(at path: String, populatedFrom source: String, bytes: Int64, inodes: Int?, journal: Bool) throws {
        // Metadata, reserved blocks and slack: a quarter more than the files, and at least 16 MiB.
        let size = max(bytes + bytes / 4, 16 << 20)
        guard FileManager.default.createFile(atPath: path, contents: nil), truncate(path, off_t(size)) == 0 else {
            throw GuestDiskError.failed("making \(path)", SystemError.text(errno))
        }
        var arguments = ["-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-d", source, "-E", "root_owner=0:0"]
        // A new sparse file reads as zeros already: zeroing its journal and inode tables only writes
        // ~65 MiB per container for the host to flush.
        if journal { arguments[arguments.count - 1] += ",lazy_itable_init=1,lazy_journal_init=1" } else { arguments += ["-O", "^has_journal"] }
        if let inodes { arguments += ["-N", String(inodes + inodes / 4 + 64)] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/sbin/mkfs.ext4")
        process.arguments = arguments + [path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            unlink(path)
            throw GuestDiskError.failed("mkfs.ext4 -d \(source)", message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else { throw GuestDiskError.failed("syncing \(path)", SystemError.text(errno)) }
        close(fd)
    }
}

public enum GuestDiskError: Error, CustomStringConvertible, Equatable {
    case failed(String, String)

    public var description: String {
        switch self {
        case .failed(let operation, let reason): return "\(operation): \(reason)"
        }
    }
}
