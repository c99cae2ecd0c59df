import Foundation
import OCI
import SystemSupport

/// Content-addressed blobs under `<root>/blobs/sha256/<hex>`.
///
/// A blob is written to `<root>/ingest/` while its digest is computed, checked against the
/// expected digest and size, fsynced, then renamed into place: a blob file that exists is whole and
/// verified. Leftovers in `ingest/` (a daemon killed mid-download) are removed on open.
public final class ContentStore: Sendable {
    public let root: String
    private var blobDirectory: String { root + "/blobs/sha256" }
    private var ingestDirectory: String { root + "/ingest" }

    public init(root: String) throws {
        self.root = root
        for directory in [root + "/blobs/sha256", root + "/ingest"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for leftover in (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? [] {
            try? FileManager.default.removeItem(atPath: root + "/ingest/" + leftover)
        }
    }

    public func path(of digest: Digest) -> String {
        blobDirectory + "/" + digest.encoded
    }

    public func contains(_ digest: Digest) -> Bool {
        FileManager.default.fileExists(atPath: path(of: digest))
    }

    public func size(of digest: Digest) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path(of: digest)))?[.size] as? Int64
    }

    /// Reads a small blob (manifest, config) whole, checking its digest again.
    public func read(_ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path(of: digest)) else {
            throw ContentError.missing(digest)
        }
        guard DigestHasher.digest(of: data) == digest else { throw ContentError.corrupt(digest) }
        return data
    }

    /// Stores a small blob; with `expected`, refuses content whose digest differs.
    @discardableResult
    public func write(_ data: Data, expected: Digest? = nil) throws -> Digest {
        let digest = DigestHasher.digest(of: data)
        if let expected, expected != digest { throw ContentError.digestMismatch(expected: expected, actual: digest) }
        if contains(digest) { return digest }
        let writer = try BlobWriter(store: self, expected: expected ?? digest, expectedSize: Int64(data.count))
        try writer.append(data)
        try writer.commit()
        return digest
    }

    /// A writer for streaming a blob of known digest and size into the store.
    public func ingest(_ descriptor: Descriptor) throws -> BlobWriter {
        try BlobWriter(store: self, expected: descriptor.digest, expectedSize: descriptor.size)
    }

    /// Copies a file that should hold `expected` into the store, verified like any download.
    public func importFile(_ path: String, expected: Digest) throws {
        guard let handle = FileHandle(forReadingAtPath: path),
              let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        else { throw SystemError.call("open \(path)", errno) }
        defer { try? handle.close() }
        let writer = try BlobWriter(store: self, expected: expected, expectedSize: size)
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            try writer.append(chunk)
        }
        try writer.commit()
    }

    /// Moves a file written on the store's own filesystem (a layer a commit just wrote) into the
    /// store, checked against `expected` first: no second copy of a layer is ever on the disk.
    public func adopt(_ path: String, expected: Digest) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError.call("open \(path)", errno) }
        defer { close(fd) }
        var hasher = DigestHasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            guard count >= 0 else { throw SystemError.call("read \(path)", errno) }
            if count == 0 { break }
            hasher.update(buffer[..<count])
        }
        let actual = hasher.finalize()
        guard actual == expected else { throw ContentError.digestMismatch(expected: expected, actual: actual) }
        guard fsync(fd) == 0 else { throw SystemError.call("fsync \(path)", errno) }
        guard rename(path, self.path(of: expected)) == 0 else { throw SystemError.call("rename into \(self.path(of: expected))", errno) }
        try AtomicFile.syncDirectory(blobDirectory)
    }

    public func delete(_ digest: Digest) {
        unlink(path(of: digest))
    }

    /// Every blob present, for garbage collection.
    public func allDigests() -> [Digest] {
        ((try? FileManager.default.contentsOfDirectory(atPath: blobDirectory)) ?? []).compactMap { try? Digest(sha256: $0) }
    }

    func temporaryPath() -> String {
        ingestDirectory + "/\(UUID().uuidString)"
    }

}

/// Streams one blob into the store, verifying size as it goes and digest at commit.
public final class BlobWriter: @unchecked Sendable {
    private let store: ContentStore
    public let expected: Digest
    public let expectedSize: Int64
    private let temporaryPath: String
    private let handle: FileHandle
    private var hasher = DigestHasher()
    public private(set) var written: Int64 = 0
    private var finished = false

    init(store: ContentStore, expected: Digest, expectedSize: Int64) throws {
        self.store = store
        self.expected = expected
        self.expectedSize = expectedSize
        temporaryPath = store.temporaryPath()
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil) else {
            throw SystemError.call("create \(temporaryPath)", errno)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporaryPath))
    }

    deinit {
        if !finished { abort() }
    }

    public func append(_ data: some DataProtocol) throws {
        written += Int64(data.count)
        guard written <= expectedSize else {
            throw ContentError.sizeMismatch(expected, expected: expectedSize, actual: written)
        }
        hasher.update(data)
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw SystemError(foundation: error)?.doing("write \(temporaryPath)") ?? error
        }
    }

    /// Verifies and moves the blob into place; on any failure the partial file is removed.
    public func commit() throws {
        defer { if !finished { abort() } }
        guard written == expectedSize else {
            throw ContentError.sizeMismatch(expected, expected: expectedSize, actual: written)
        }
        let actual = hasher.finalize()
        guard actual == expected else { throw ContentError.digestMismatch(expected: expected, actual: actual) }
        try handle.synchronize()
        try handle.close()
        guard rename(temporaryPath, store.path(of: expected)) == 0 else {
            throw SystemError.call("rename into \(store.path(of: expected))", errno)
        }
        try AtomicFile.syncDirectory((store.path(of: expected) as NSString).deletingLastPathComponent)
        finished = true
    }

    public func abort() {
        finished = true
        try? handle.close()
        unlink(temporaryPath)
    }
}

public enum ContentError: Error, Equatable, CustomStringConvertible {
    case missing(Digest)
    case corrupt(Digest)
    case digestMismatch(expected: Digest, actual: Digest)
    case sizeMismatch(Digest, expected: Int64, actual: Int64)

    public var description: String {
        switch self {
        case .missing(let digest): return "blob \(digest) is not in the content store"
        case .corrupt(let digest): return "blob \(digest) in the content store does not match its digest"
        case .digestMismatch(let expected, let actual): return "digest mismatch: expected \(expected), got \(actual)"
        case .sizeMismatch(let digest, let expected, let actual):
            return "size mismatch for \(digest): expected \(expected) bytes, got \(actual)\(actual > expected ? " or more" : "")"
        }
    }
}
