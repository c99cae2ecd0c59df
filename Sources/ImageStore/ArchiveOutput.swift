import CArchive
import Foundation

/// Steps shared by everything that writes a tar with libarchive (save, layers, cp).
enum ArchiveOutput {
    static func writeHeader(_ archive: OpaquePointer, _ entry: OpaquePointer) throws {
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw UnpackError.library(LayerUnpacker.message(archive)) }
    }

    static func write(_ data: Data, to archive: OpaquePointer) throws {
        try data.withUnsafeBytes { buffer in
            guard archive_write_data(archive, buffer.baseAddress, buffer.count) == buffer.count else {
                throw UnpackError.library(LayerUnpacker.message(archive))
            }
        }
    }

    /// The entry's contents, in 1 MiB pieces.
    static func copy(_ handle: FileHandle, to archive: OpaquePointer) throws {
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            try write(chunk, to: archive)
        }
    }

    /// What the symlink `path` (relative to `directory`; "" for the link `directory` is) points at.
    static func linkTarget(_ directory: Int32, _ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlinkat(directory, path, &buffer, Int(PATH_MAX))
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
