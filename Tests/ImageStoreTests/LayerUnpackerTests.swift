import CLinux
import Foundation
import ImageStore
import OCI
import Testing

/// The unpacker against a corpus of hostile layers made by Tests/Fixtures/make-hostile-layers.
@Suite(.serialized) final class LayerUnpackerTests {
    let scratch: String
    let corpus: String
    let escape: String
    let layer = try! Digest(sha256: String(repeating: "ab", count: 32))

    init() throws {
        scratch = NSTemporaryDirectory() + "unpack-\(UUID().uuidString)"
        corpus = scratch + "/corpus"
        escape = scratch + "/outside"
        try FileManager.default.createDirectory(atPath: escape, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/make-hostile-layers").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = [corpus, escape]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func unpack(_ name: String, cap: Int64 = 16 << 20) throws -> (result: LayerUnpacker.Result, root: String) {
        let root = scratch + "/snap-\(name)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let result = try LayerUnpacker(maximumUncompressedSize: cap).unpack(blob: corpus + "/" + name, layer: layer, into: root)
        return (result, root)
    }

    func expectRefused(_ name: String, mentioning fragment: String) {
        do {
            _ = try unpack(name)
            Issue.record("\(name) was unpacked")
        } catch {
            #expect("\(error)".contains(fragment), "\(name): \(error)")
        }
        // Nothing landed outside the unpack root.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: escape)) ?? ["?"]).isEmpty, "\(name) wrote outside")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/escaped"))
    }

    @Test func traversalIsRefused() { expectRefused("traversal.tar.gz", mentioning: "\"../escaped\": path escapes the layer root") }
    @Test func absolutePathIsRefused() { expectRefused("absolute.tar.gz", mentioning: "absolute path") }
    @Test func writingThroughASymlinkIsRefused() { expectRefused("symlink-escape.tar.gz", mentioning: "a parent is a symlink") }
    @Test func hardlinkOutsideIsRefused() {
        expectRefused("hardlink-dotdot.tar.gz", mentioning: "path escapes the layer root")
        expectRefused("hardlink-absolute.tar.gz", mentioning: "absolute path")
    }
    @Test func whiteoutOfDotDotIsRefused() { expectRefused("whiteout-dotdot.tar.gz", mentioning: "whiteout of \"..\"") }
    @Test func gzipBombStopsAtTheCap() { expectRefused("gzip-bomb.tar.gz", mentioning: "layer expands beyond 16777216 bytes") }
    @Test func truncatedBlobIsRefused() { expectRefused("truncated.tar.gz", mentioning: "truncated or corrupt") }

    @Test func goodLayerBecomesOverlayFormat() throws {
        let (result, root) = try unpack("good.tar.gz")
        #expect(try String(contentsOfFile: root + "/etc/hostname", encoding: .utf8) == "berth\n")
        var file = stat(), link = stat()
        #expect(stat(root + "/etc/hostname", &file) == 0 && stat(root + "/etc/hostname-link", &link) == 0)
        #expect(file.st_ino == link.st_ino, "hardlink inside the layer is kept")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/sh") == "/bin/busybox")
        var whiteout = stat()
        #expect(lstat(root + "/removed", &whiteout) == 0)
        #expect(whiteout.st_mode & S_IFMT == S_IFCHR && whiteout.st_rdev == 0, "whiteout is a 0/0 character device")
        var opaque = [UInt8](repeating: 0, count: 4)
        #expect(getxattr(root + "/var", "trusted.overlay.opaque", &opaque, 4) == 1 && opaque[0] == UInt8(ascii: "y"))
        #expect(!FileManager.default.fileExists(atPath: root + "/.wh.removed"))
        #expect((try FileManager.default.attributesOfItem(atPath: root + "/secret")[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let plain = try Data(contentsOf: URL(fileURLWithPath: corpus + "/good.tar"))
        #expect(result.diffID == DigestHasher.digest(of: plain))
        #expect(result.size == Int64(plain.count))
    }

    @Test func zstdAndUncompressedLayersGiveTheSameDiffID() throws {
        let gzip = try unpack("good.tar.gz").result
        #expect(try unpack("good.tar.zst").result == gzip)
        #expect(try unpack("good.tar").result == gzip)
    }
}
