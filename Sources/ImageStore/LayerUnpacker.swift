import CArchive
import CLinux
import Foundation
import OCI
import SystemSupport

/// Unpacks one layer blob (gzip, zstd or plain tar) into an empty directory, in overlayfs' format.
///
/// libarchive decompresses (one `raw` reader) and parses the tar (a second reader fed by the
/// first), so the layer streams through in bounded memory while its uncompressed digest (the diff
/// ID) is computed. Every entry is checked before libarchive writes it: no absolute paths, no `..`,
/// no writing through a symlink, no hardlink leaving the layer. OCI whiteouts become overlayfs
/// whiteouts (0/0 character devices) and opaque markers (`trusted.overlay.opaque`).
public struct LayerUnpacker: Sendable {
    /// Uncompressed bytes allowed per layer: a gzip bomb stops here.
    public var maximumUncompressedSize: Int64

    public init(maximumUncompressedSize: Int64 = 64 << 30) {
        self.maximumUncompressedSize = maximumUncompressedSize
    }

    /// What unpacking a layer found: its uncompressed digest and size.
    public struct Result: Sendable, Equatable {
        public var diffID: Digest
        public var size: Int64
    }

    /// Unpacks `blob` into `directory` (which must exist and be empty). Errors name the layer.
    public func unpack(blob: String, layer: Digest, into directory: String) throws -> Result {
        do {
            return try unpackEntries(blob: blob, layer: layer, into: directory)
        } catch let error as UnpackError {
            switch error {
            case .unsafePath, .layer: throw error
            case .corrupt, .tooLarge, .library: throw UnpackError.layer(layer, error.description)
            }
        }
    }

    private func unpackEntries(blob: String, layer: Digest, into directory: String) throws -> Result {
        guard let resolvedRoot = realpath(directory, nil) else { throw SystemError.call("realpath \(directory)", errno) }
        let root = String(cString: resolvedRoot)
        free(resolvedRoot)

        let source = try DecompressedSource(blob: blob, limit: maximumUncompressedSize)
        defer { source.close() }
        guard let tar = archive_read_new() else { throw UnpackError.library("archive_read_new failed") }
        defer { archive_read_free(tar) }
        archive_read_support_format_tar(tar)
        let client = Unmanaged.passUnretained(source).toOpaque()
        let opened = archive_read_open(tar, client, nil, { _, client, output in
            let source = Unmanaged<DecompressedSource>.fromOpaque(client!).takeUnretainedValue()
            let count = source.next()
            output?.pointee = source.chunk
            return count
        }, nil)
        guard opened == ARCHIVE_OK else {
            throw source.failure ?? UnpackError.layer(layer, "not a tar archive: \(Self.message(tar))")
        }
        guard let disk = archive_write_disk_new() else { throw UnpackError.library("archive_write_disk_new failed") }
        defer { archive_write_free(disk) }
        archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME
            | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
            | ARCHIVE_EXTRACT_UNLINK)

        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(tar, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else {
                throw source.failure ?? UnpackError.layer(layer, "reading the tar stream: \(Self.message(tar))")
            }
            let rawPath = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            guard let path = try Self.safeRelativePath(rawPath, layer: layer) else { continue }
            try Self.refuseSymlinkParents(of: path, root: root, layer: layer, shownAs: rawPath)

            let name = (path as NSString).lastPathComponent
            if name.hasPrefix(".wh.") {
                try Self.applyWhiteout(path: path, root: root, layer: layer, shownAs: rawPath)
                continue
            }
            if let link = archive_entry_hardlink(entry).map({ String(cString: $0) }) {
                guard let target = try Self.safeRelativePath(link, layer: layer) else {
                    throw UnpackError.unsafePath(layer, rawPath, "hardlink to the layer root")
                }
                try Self.refuseSymlinkParents(of: target, root: root, layer: layer, shownAs: link)
                var info = stat()
                guard lstat(root + "/" + target, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else {
                    throw UnpackError.unsafePath(layer, rawPath, "hardlink to \"\(link)\", which is not a file earlier in this layer")
                }
                archive_entry_set_hardlink(entry, root + "/" + target)
            }
            archive_entry_set_pathname(entry, root + "/" + path)
            guard archive_write_header(disk, entry) >= ARCHIVE_WARN else {
                throw UnpackError.unsafePath(layer, rawPath, Self.message(disk))
            }
            try Self.copyData(from: tar, to: disk, source: source, layer: layer, path: rawPath)
            guard archive_write_finish_entry(disk) >= ARCHIVE_WARN else {
                throw UnpackError.layer(layer, "\"\(rawPath)\": \(Self.message(disk))")
            }
        }
        try source.drain()
        return Result(diffID: source.digest(), size: source.total)
    }

    private static func copyData(from tar: OpaquePointer, to disk: OpaquePointer, source: DecompressedSource, layer: Digest, path: String) throws {
        var block: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let status = archive_read_data_block(tar, &block, &size, &offset)
            if status == ARCHIVE_EOF { return }
            guard status >= ARCHIVE_WARN else {
                throw source.failure ?? UnpackError.layer(layer, "\"\(path)\": \(message(tar))")
            }
            guard archive_write_data_block(disk, block, size, offset) >= ARCHIVE_WARN else {
                throw UnpackError.layer(layer, "writing \"\(path)\": \(message(disk))")
            }
        }
    }

    /// The entry's path relative to the layer root, or nil for the root itself.
    static func safeRelativePath(_ raw: String, layer: Digest) throws -> String? {
        if raw.hasPrefix("/") { throw UnpackError.unsafePath(layer, raw, "absolute path") }
        var components: [Substring] = []
        for component in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": throw UnpackError.unsafePath(layer, raw, "path escapes the layer root")
            default: components.append(component)
            }
        }
        if raw.utf8.contains(0) { throw UnpackError.unsafePath(layer, raw, "NUL in path") }
        return components.isEmpty ? nil : components.joined(separator: "/")
    }

    /// Refuses a path whose existing parent inside the layer is a symlink: writing there would land
    /// wherever the link points.
    static func refuseSymlinkParents(of path: String, root: String, layer: Digest, shownAs raw: String) throws {
        var current = root
        let parents = path.split(separator: "/").dropLast()
        for component in parents {
            current += "/" + component
            var info = stat()
            guard lstat(current, &info) == 0 else { return }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                throw UnpackError.unsafePath(layer, raw, "a parent is a symlink in this layer")
            }
        }
    }

    static func applyWhiteout(path: String, root: String, layer: Digest, shownAs raw: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        let parentPath = parent.isEmpty ? root : root + "/" + parent
        let name = (path as NSString).lastPathComponent
        try FileManager.default.createDirectory(atPath: parentPath, withIntermediateDirectories: true)
        if name == ".wh..wh..opq" {
            // Opaque directory: lower layers' contents of this directory are hidden.
            guard setxattr(parentPath, "trusted.overlay.opaque", "y", 1, 0) == 0 else {
                throw UnpackError.layer(layer, "\"\(raw)\": setting the opaque marker: \(SystemError.text(errno))")
            }
            return
        }
        let hidden = String(name.dropFirst(".wh.".count))
        guard !hidden.isEmpty, hidden != ".", hidden != "..", !hidden.contains("/") else {
            throw UnpackError.unsafePath(layer, raw, "whiteout of \"\(hidden)\" escapes its directory")
        }
        let target = parentPath + "/" + hidden
        unlink(target)
        // overlayfs marks a deleted lower file with a 0/0 character device of the same name.
        guard mknod(target, S_IFCHR | 0o000, 0) == 0 else {
            throw UnpackError.layer(layer, "\"\(raw)\": creating the whiteout: \(SystemError.text(errno))")
        }
    }

    /// libarchive's message, with errno's words when a system call failed beneath it ("Write error"
    /// says nothing of a full disk on its own).
    static func message(_ archive: OpaquePointer) -> String {
        let text = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        let code = archive_errno(archive)
        guard code > 0, !text.lowercased().contains(SystemError.text(code)) else { return text }
        return "\(text): \(SystemError.text(code))"
    }
}

/// The decompressing reader: libarchive's `raw` format over all its filters, hashed and capped.
final class DecompressedSource {
    private let decoder: OpaquePointer
    private let descriptor: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 20
    private var hasher = DigestHasher()
    private(set) var total: Int64 = 0
    private let limit: Int64
    private(set) var failure: UnpackError?
    private var finished = false

    init(blob: String, limit: Int64) throws {
        self.limit = limit
        descriptor = open(blob, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError.call("open \(blob)", errno) }
        guard let decoder = archive_read_new() else {
            Foundation.close(descriptor)
            throw UnpackError.library("archive_read_new failed")
        }
        self.decoder = decoder
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        archive_read_support_filter_all(decoder)
        archive_read_support_format_raw(decoder)
        var entry: OpaquePointer?
        guard archive_read_open_fd(decoder, descriptor, 1 << 20) == ARCHIVE_OK,
              archive_read_next_header(decoder, &entry) == ARCHIVE_OK
        else {
            let message = archive_error_string(decoder).map { String(cString: $0) } ?? "unreadable"
            close()
            throw UnpackError.corrupt("truncated or corrupt compressed stream: \(message)")
        }
    }

    func close() {
        guard !finished else { return }
        finished = true
        archive_read_free(decoder)
        Foundation.close(descriptor)
        buffer.deallocate()
    }

    /// Next decompressed chunk; 0 at the end; -1 with `failure` set on error.
    func next() -> Int {
        let count = archive_read_data(decoder, buffer, capacity)
        if count < 0 {
            let message = archive_error_string(decoder).map { String(cString: $0) } ?? "decompression failed"
            failure = .corrupt("truncated or corrupt compressed stream: \(message)")
            return -1
        }
        if count > 0 {
            total += Int64(count)
            if total > limit {
                failure = .tooLarge(limit)
                return -1
            }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: count))
        }
        return count
    }

    /// Reads past the tar's end so the diff ID covers the whole uncompressed stream.
    func drain() throws {
        while true {
            let count = next()
            if count == 0 { return }
            if count < 0 { throw failure! }
        }
    }

    func digest() -> Digest {
        hasher.finalize()
    }

    /// For libarchive's read callback: the chunk `next()` just produced.
    var chunk: UnsafeRawPointer { UnsafeRawPointer(buffer) }
}

public enum UnpackError: Error, Equatable, CustomStringConvertible {
    case unsafePath(Digest, String, String)
    case layer(Digest, String)
    case corrupt(String)
    case tooLarge(Int64)
    case library(String)

    public var description: String {
        switch self {
        case .unsafePath(let layer, let path, let reason):
            return "layer \(layer): refusing \"\(path)\": \(reason)"
        case .layer(let layer, let detail):
            return "layer \(layer): \(detail)"
        case .corrupt(let detail):
            return detail
        case .tooLarge(let limit):
            return "layer expands beyond \(limit) bytes uncompressed"
        case .library(let detail):
            return "libarchive: \(detail)"
        }
    }
}
