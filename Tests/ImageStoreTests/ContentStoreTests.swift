import Foundation
import ImageStore
import OCI
import Testing

@Suite struct ContentStoreTests {
    func store() throws -> (ContentStore, String) {
        let root = NSTemporaryDirectory() + "content-\(UUID().uuidString)"
        return (try ContentStore(root: root), root)
    }

    @Test func writesVerifiedBlobsOnly() throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = Data("hello".utf8)
        let digest = try store.write(data)
        #expect(digest.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(try store.read(digest) == data)

        let wrong = try Digest(sha256: String(repeating: "0", count: 64))
        #expect(throws: ContentError.digestMismatch(expected: wrong, actual: digest)) { try store.write(data, expected: wrong) }
        #expect(!store.contains(wrong))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
    }

    @Test func streamingWriterChecksSizeAndDigest() throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = Data(repeating: 7, count: 100_000)
        let digest = DigestHasher.digest(of: data)
        let oversized = try store.ingest(Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: 10))
        #expect(throws: ContentError.self) { try oversized.append(data) }
        oversized.abort()

        let truncated = try store.ingest(Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: 100_000))
        try truncated.append(data.prefix(50_000))
        #expect(throws: ContentError.sizeMismatch(digest, expected: 100_000, actual: 50_000)) { try truncated.commit() }
        #expect(!store.contains(digest))

        let whole = try store.ingest(Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: 100_000))
        try whole.append(data.prefix(60_000))
        try whole.append(data.suffix(40_000))
        try whole.commit()
        #expect(store.contains(digest) && store.size(of: digest) == 100_000)
    }

    @Test func leftoversOfACrashAreCleanedOnOpen() throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = try store.ingest(Descriptor(mediaType: MediaType.ociLayer, digest: DigestHasher.digest(of: Data([1])), size: 1))
        _ = writer
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").count == 1)
        _ = try ContentStore(root: root)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
        writer.abort()
    }

    @Test func corruptBlobOnDiskIsDetectedOnRead() throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let digest = try store.write(Data("{}".utf8))
        try Data("{ }".utf8).write(to: URL(fileURLWithPath: store.path(of: digest)))
        #expect(throws: ContentError.corrupt(digest)) { try store.read(digest) }
    }
}
