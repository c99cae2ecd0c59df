import CArchive
import CLinux
import Foundation
import OCI

/// Writes a directory in overlayfs' format (a container's upper directory) as an OCI layer: a
/// plain tar in path order, whiteout devices as `.wh.<name>` files, opaque directories marked
/// with `.wh..wh..opq`, hard links kept.
public enum LayerWriter {
    public struct Result: Sendable, Equatable {
        /// The digest of the tar, which is both its blob digest and its diff ID (uncompressed).
        public var digest: Digest
        public var size: Int64
    }

    /// `placeholders` are paths (relative, like `etc/hosts`) skipped when they are empty files:
    /// mount points the runtime made, not content.
    public static func write(directory: String, to path: String, placeholders: Set<String> = []) throws -> Result {
        guard let archive = archive_write_new() else { throw UnpackError.library("archive_write_new failed") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        guard archive_write_open_filename(archive, path) == ARCHIVE_OK else {
            throw UnpackError.library("writing \(path): \(LayerUnpacker.message(archive))")
        }
        var links: [String: String] = [:]
        try DirectoryWalk.visit(directory) { item in try add(item, placeholders: placeholders, archive: archive, links: &links) }
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw UnpackError.library("finishing \(path): \(LayerUnpacker.message(archive))")
        }
        return try measure(path)
    }

    /// The digest and size of a layer tar written elsewhere (a VM container's, by its guest agent).
    public static func measure(_ path: String) throws -> Result {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArchiveError.unreadable(path) }
        defer { try? handle.close() }
        var hasher = DigestHasher()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        return Result(digest: hasher.finalize(), size: size)
    }

    /// The upper directory is the container's: read by descriptors only (`DirectoryWalk`), never by path.
    private static func add(_ item: DirectoryWalk.Entry, placeholders: Set<String>, archive: OpaquePointer,
                            links: inout [String: String]) throws {
        var info = item.info
        let type = info.st_mode & S_IFMT
        if type == S_IFREG, info.st_size == 0, placeholders.contains(item.path) { return }
        if type == S_IFCHR && info.st_rdev == 0 {
            let whiteout = item.path.dropLast(item.name.count) + ".wh." + item.name
            try writeEntry(archive, name: whiteout, info: info, fileType: EntryType.regular, size: 0, mode: 0o644)
            return
        }
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_copy_stat(entry, &info)
        archive_entry_copy_pathname(entry, type == S_IFDIR ? item.path + "/" : item.path)
        let linkKey = "\(info.st_dev):\(info.st_ino)"
        if type == S_IFREG, info.st_nlink > 1, let first = links[linkKey] {
            archive_entry_set_size(entry, 0)
            archive_entry_copy_hardlink(entry, first)
            try ArchiveOutput.writeHeader(archive, entry)
            return
        }
        if type == S_IFREG, info.st_nlink > 1 { links[linkKey] = item.path }
        if type == S_IFLNK { archive_entry_copy_symlink(entry, try item.linkTarget()) }
        if type != S_IFREG { archive_entry_set_size(entry, 0) }
        try ArchiveOutput.writeHeader(archive, entry)
        if type == S_IFREG { try ArchiveOutput.copy(item.openForReading(), to: archive) }
        if type == S_IFDIR, item.attribute("trusted.overlay.opaque") == [UInt8(ascii: "y")] {
            try writeEntry(archive, name: item.path + "/.wh..wh..opq", info: info, fileType: EntryType.regular, size: 0, mode: 0o644)
        }
    }

    private static func writeEntry(_ archive: OpaquePointer, name: String, info: stat, fileType: UInt32, size: Int64, mode: mode_t) throws {
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, name)
        archive_entry_set_filetype(entry, fileType)
        archive_entry_set_perm(entry, mode)
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, info.st_mtim.tv_sec, info.st_mtim.tv_nsec)
        try ArchiveOutput.writeHeader(archive, entry)
    }
}
