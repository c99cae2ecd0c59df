import Foundation
import GRDB
import ImageStore
import OCI
import Testing

@Suite struct ImageCatalogTests {
    func catalog() throws -> ImageCatalog {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        ImageCatalog.registerMigrations(&migrator)
        ImageCatalog.registerParentMigration(&migrator)
        try migrator.migrate(queue)
        return ImageCatalog(database: queue)
    }

    func image(_ byte: String, _ platform: String) throws -> ImageRecord {
        let digest = try Digest(sha256: String(repeating: byte, count: 64))
        let layer = try Digest(sha256: String(repeating: "e", count: 64))
        return ImageRecord(id: digest, manifestDigest: digest, manifestMediaType: MediaType.ociManifest,
                           platform: try Platform(parsing: platform), created: nil, size: 1,
                           layers: [LayerRecord(blob: layer, mediaType: MediaType.ociLayerGzip, blobSize: 1, diffID: layer, chainID: layer)])
    }

    @Test func oneTagPerPlatformResolvesByPreference() throws {
        let catalog = try catalog()
        let tag = try Reference(parsing: "r.example/bb:latest")
        let host = try Platform(parsing: "linux/amd64")
        let amd64 = try image("a", "linux/amd64"), arm64 = try image("b", "linux/arm64")
        try catalog.add(amd64, tag: tag, repoDigest: nil)
        try catalog.add(arm64, tag: tag, repoDigest: nil)
        #expect(try catalog.all().count == 2)
        #expect(try catalog.resolve("r.example/bb", platform: nil, hostPlatform: host).id == amd64.id)
        #expect(try catalog.resolve("r.example/bb:latest", platform: try Platform(parsing: "linux/arm64"), hostPlatform: host).id == arm64.id)
        #expect(try catalog.resolve(String(arm64.id.encoded.prefix(6)), platform: nil, hostPlatform: host).id == arm64.id)
        #expect(throws: CatalogError.platformNotPresent("r.example/bb", available: ["linux/amd64", "linux/arm64"])) {
            try catalog.resolve("r.example/bb", platform: nil, hostPlatform: try Platform(parsing: "linux/riscv64"))
        }
        #expect(throws: CatalogError.notFound("r.example/other")) {
            try catalog.resolve("r.example/other", platform: nil, hostPlatform: host)
        }
    }

    @Test func anImageMadeHereKeepsItsParentAcrossRefreshes() throws {
        let catalog = try catalog()
        let base = try image("a", "linux/amd64")
        var child = try image("b", "linux/amd64")
        child.parent = base.id
        try catalog.add(base, tag: nil, repoDigest: nil)
        try catalog.add(child, tag: nil, repoDigest: nil)
        #expect(try catalog.image(id: child.id)?.parent == base.id)
        #expect(try catalog.image(id: base.id)?.parent == nil)
        // A later add of the same image without one (a re-pull, a load) keeps it.
        child.parent = nil
        try catalog.add(child, tag: nil, repoDigest: nil)
        #expect(try catalog.image(id: child.id)?.parent == base.id)
    }

    @Test func referencedContentFollowsDeletes() throws {
        let catalog = try catalog()
        let amd64 = try image("a", "linux/amd64")
        try catalog.add(amd64, tag: try Reference(parsing: "x"), repoDigest: nil)
        #expect(try catalog.referenced().blobs.contains(amd64.layers[0].blob))
        #expect(try catalog.untag(try Reference(parsing: "x"), imageID: amd64.id))
        #expect(try catalog.image(id: amd64.id)?.tags == [])
        try catalog.delete(amd64.id)
        #expect(try catalog.referenced().blobs.isEmpty && catalog.referenced().chainIDs.isEmpty)
    }

    @Test func everySpellingResolvesToOneImage() throws {
        let catalog = try catalog()
        let host = try Platform(parsing: "linux/amd64")
        let amd64 = try image("a", "linux/amd64")
        try catalog.add(amd64, tag: try Reference(parsing: "alpine"), repoDigest: nil)
        for spelling in ["alpine", "alpine:latest", "library/alpine", "docker.io/library/alpine:latest", "index.docker.io/alpine"] {
            #expect(try catalog.resolve(spelling, platform: nil, hostPlatform: host).id == amd64.id, "\(spelling)")
        }
        #expect(try catalog.image(id: amd64.id)?.tags == ["docker.io/library/alpine:latest"])
    }

    /// Names stored before normalisation (`x:latest`, `berth-test/busybox:amd64`) become their normal
    /// form; one already stored normally wins over its old spelling.
    @Test func nameMigrationNormalisesStoredNames() throws {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        ImageCatalog.registerMigrations(&migrator)
        ImageCatalog.registerNameMigration(&migrator)
        try migrator.migrate(queue, upTo: "v2: image store")
        let catalog = ImageCatalog(database: queue)
        let amd64 = try image("a", "linux/amd64"), other = try image("b", "linux/amd64")
        try catalog.add(amd64, tag: nil, repoDigest: nil)
        try catalog.add(other, tag: nil, repoDigest: nil)
        try queue.write { db in
            for (reference, id) in [("berth-test/busybox:amd64", amd64.id), ("x:latest", amd64.id), ("docker.io/library/x:latest", other.id),
                                    ("127.0.0.1:5000/a/b:v1", amd64.id)] {
                try db.execute(sql: "INSERT INTO imageTag (reference, platform, imageID) VALUES (?, 'linux/amd64', ?)",
                               arguments: [reference, id.description])
            }
            try db.execute(sql: "INSERT INTO imageDigestRef (reference, imageID) VALUES (?, ?)",
                           arguments: ["bb@" + amd64.id.description, amd64.id.description])
        }
        try migrator.migrate(queue)
        let migrated = try #require(try catalog.image(id: amd64.id))
        #expect(migrated.tags == ["127.0.0.1:5000/a/b:v1", "docker.io/berth-test/busybox:amd64"])
        #expect(migrated.repoDigests == ["docker.io/library/bb@" + amd64.id.description])
        #expect(try catalog.image(id: other.id)?.tags == ["docker.io/library/x:latest"])
    }
}
