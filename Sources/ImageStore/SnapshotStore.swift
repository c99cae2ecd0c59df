import Foundation
import OCI
import SystemSupport

/// Unpacked layers under `<root>/snapshots/<chain ID>/diff`, in overlayfs' format, each unpacked once
/// however many images share it. A snapshot is unpacked into `.ingest-*` and renamed into place,
/// so a snapshot directory that exists is complete.
public final class SnapshotStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where name.hasPrefix(".ingest-") {
            try? FileManager.default.removeItem(atPath: root + "/" + name)
        }
    }

    /// The layer's files: an overlayfs lower directory.
    public func diffPath(_ chainID: Digest) -> String {
        root + "/" + chainID.encoded + "/diff"
    }

    public func contains(_ chainID: Digest) -> Bool {
        FileManager.default.fileExists(atPath: diffPath(chainID))
    }

    /// Bytes of the snapshot's files, as recorded when it was unpacked.
    public func size(_ chainID: Digest) -> Int64 {
        (try? String(contentsOfFile: root + "/" + chainID.encoded + "/size", encoding: .utf8))
            .flatMap { Int64($0) } ?? 0
    }

    /// Unpacks `blob` as the snapshot `chainID`, unless present; checks the layer's diff ID.
    /// Returns true when it unpacked, false when the snapshot was already there.
    @discardableResult
    public func create(
        _ chainID: Digest, blob: String, layer: Digest, diffID: Digest, unpacker: LayerUnpacker
    ) throws -> Bool {
        if contains(chainID) { return false }
        let staging = root + "/.ingest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try FileManager.default.createDirectory(atPath: staging + "/diff", withIntermediateDirectories: true)
        let result = try unpacker.unpack(blob: blob, layer: layer, into: staging + "/diff")
        guard result.diffID == diffID else {
            throw UnpackError.layer(layer, "uncompressed content \(result.diffID) does not match the config's diff ID \(diffID)")
        }
        try AtomicFile.write(Data("\(result.size)".utf8), to: staging + "/size")
        if rename(staging, root + "/" + chainID.encoded) != 0 {
            // Another pull unpacked the same layer first: theirs is as good as ours.
            guard contains(chainID) else { throw SystemError.call("rename snapshot \(chainID)", errno) }
            return false
        }
        try AtomicFile.syncDirectory(root)
        return true
    }

    public func remove(_ chainID: Digest) {
        let trash = root + "/.ingest-removing-\(chainID.encoded)"
        // Rename first so a half-removed snapshot is never mistaken for a complete one.
        if rename(root + "/" + chainID.encoded, trash) == 0 {
            try? FileManager.default.removeItem(atPath: trash)
        }
    }

    public func all() -> [Digest] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { try? Digest(sha256: $0) }
    }

    /// Chain IDs for a layer stack: the first is its diff ID, each next is sha256("<parent> <diffID>").
    public static func chainIDs(_ diffIDs: [Digest]) -> [Digest] {
        var chain: [Digest] = []
        for diffID in diffIDs {
            guard let parent = chain.last else {
                chain.append(diffID)
                continue
            }
            chain.append(DigestHasher.digest(of: Array("\(parent) \(diffID)".utf8)))
        }
        return chain
    }
}
