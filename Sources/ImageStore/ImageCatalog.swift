import Foundation
import GRDB
import OCI

/// Image metadata in the daemon's SQLite database: images, their layers, tags (one per platform,
/// so several platforms of a tag live side by side) and repository digests.
public final class ImageCatalog: Sendable {
    private let database: any DatabaseWriter

    public init(database: any DatabaseWriter) {
        self.database = database
    }

    /// Schema for images; the state store runs it after its own first migration.
    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: image store") { db in
            // v1 made a placeholder image table; images are defined here from now on.
            if try db.tableExists("image") { try db.drop(table: "image") }
            try db.create(table: "image") { table in
                table.primaryKey("id", .text)
                table.column("manifestDigest", .text).notNull()
                table.column("manifestMediaType", .text).notNull()
                table.column("platform", .text).notNull()
                table.column("created", .text)
                table.column("size", .integer).notNull()
            }
            try db.create(table: "imageLayer") { table in
                table.column("imageID", .text).notNull().references("image", onDelete: .cascade)
                table.column("position", .integer).notNull()
                table.column("blob", .text).notNull()
                table.column("mediaType", .text).notNull()
                table.column("blobSize", .integer).notNull()
                table.column("diffID", .text).notNull()
                table.column("chainID", .text).notNull()
                table.primaryKey(["imageID", "position"])
            }
            try db.create(table: "imageTag") { table in
                table.column("reference", .text).notNull()
                table.column("platform", .text).notNull()
                table.column("imageID", .text).notNull().references("image", onDelete: .cascade)
                table.primaryKey(["reference", "platform"])
            }
            try db.create(table: "imageDigestRef") { table in
                table.column("reference", .text).notNull()
                table.column("imageID", .text).notNull().references("image", onDelete: .cascade)
                table.primaryKey(["reference", "imageID"])
            }
        }
    }

    /// Names stored before references were normalised as Docker's (`berth-test/busybox:amd64` is
    /// `docker.io/berth-test/busybox:amd64`) are rewritten to their normal form; the state store runs
    /// it after every other migration.
    public static func registerNameMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7: normalised image names") { db in
            for table in ["imageTag", "imageDigestRef"] {
                for row in try Row.fetchAll(db, sql: "SELECT rowid, reference FROM \(table)") {
                    let stored: String = row["reference"]
                    guard let normal = try? Reference(parsing: stored).description, normal != stored else { continue }
                    // A name already present in its normal form wins over the old spelling.
                    try db.execute(sql: "UPDATE OR IGNORE \(table) SET reference = ? WHERE rowid = ?", arguments: [normal, row["rowid"]])
                    try db.execute(sql: "DELETE FROM \(table) WHERE rowid = ? AND reference = ?", arguments: [row["rowid"], stored])
                }
            }
        }
    }

    /// The image a commit or build step made an image from (dockerd's `Parent`); none for pulled,
    /// loaded and imported images.
    public static func registerParentMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8: image parents") { db in
            try db.alter(table: "image") { table in table.add(column: "parent", .text) }
        }
    }

    /// Records an image (or refreshes it) and points `tag` (for the image's platform) and `repoDigest` at it.
    public func add(_ image: ImageRecord, tag: Reference?, repoDigest: Reference?) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO image (id, manifestDigest, manifestMediaType, platform, created, size)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET manifestDigest = excluded.manifestDigest,
                        manifestMediaType = excluded.manifestMediaType
                    """,
                arguments: [image.id.description, image.manifestDigest.description, image.manifestMediaType,
                            image.platform.description, image.created, image.size])
            // Only images made here have one; a catalog from before v8 never holds such an image.
            if let parent = image.parent {
                try db.execute(sql: "UPDATE image SET parent = ? WHERE id = ?", arguments: [parent.description, image.id.description])
            }
            try db.execute(sql: "DELETE FROM imageLayer WHERE imageID = ?", arguments: [image.id.description])
            for (position, layer) in image.layers.enumerated() {
                try db.execute(
                    sql: "INSERT INTO imageLayer (imageID, position, blob, mediaType, blobSize, diffID, chainID) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [image.id.description, position, layer.blob.description, layer.mediaType, layer.blobSize,
                                layer.diffID.description, layer.chainID.description])
            }
            if let tag {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO imageTag (reference, platform, imageID) VALUES (?, ?, ?)",
                    arguments: [tag.withDefaultTag.description, image.platform.description, image.id.description])
            }
            if let repoDigest {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO imageDigestRef (reference, imageID) VALUES (?, ?)",
                    arguments: [repoDigest.description, image.id.description])
            }
        }
    }

    public func all() throws -> [ImageRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM image ORDER BY created DESC, id").map { try Self.record(from: $0, db) }
        }
    }

    public func image(id: Digest) throws -> ImageRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM image WHERE id = ?", arguments: [id.description]).map { try Self.record(from: $0, db) }
        }
    }

    /// Finds an image by name (`repo:tag`, `repo@digest`), full ID or unique ID prefix, as Docker does.
    /// A tag present for several platforms resolves to `platform`, else to the host's, else fails.
    public func resolve(_ name: String, platform: Platform?, hostPlatform: Platform) throws -> ImageRecord {
        let rows: [(id: String, platform: String)] = try database.read { db in
            if let reference = try? Reference(parsing: name) {
                if reference.digest != nil {
                    let ids = try String.fetchAll(db, sql: "SELECT imageID FROM imageDigestRef WHERE reference = ?", arguments: [reference.description])
                    if !ids.isEmpty { return try Self.platforms(of: ids, db) }
                } else {
                    let rows = try Row.fetchAll(db, sql: "SELECT imageID, platform FROM imageTag WHERE reference = ?",
                                                arguments: [reference.withDefaultTag.description])
                    if !rows.isEmpty { return rows.map { ($0["imageID"], $0["platform"]) } }
                }
            }
            let hex = name.hasPrefix("sha256:") ? String(name.dropFirst("sha256:".count)) : name
            guard !hex.isEmpty, hex.count <= 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return [] }
            let ids = try String.fetchAll(db, sql: "SELECT id FROM image WHERE id LIKE ?", arguments: ["sha256:\(hex)%"])
            return try Self.platforms(of: ids, db)
        }
        guard !rows.isEmpty else { throw CatalogError.notFound(name) }
        let ids = Set(rows.map(\.id))
        let chosen: String
        if ids.count == 1 {
            chosen = rows[0].id
        } else if let wanted = platform ?? Optional(hostPlatform),
                  let match = rows.first(where: { $0.platform == wanted.description }) {
            chosen = match.id
        } else if platform == nil, rows.allSatisfy({ $0.platform == rows[0].platform }) {
            throw CatalogError.ambiguous(name)
        } else {
            throw CatalogError.platformNotPresent(name, available: rows.map(\.platform).sorted())
        }
        guard let image = try image(id: try Digest(parsing: chosen)) else { throw CatalogError.notFound(name) }
        if let platform, image.platform != platform {
            throw CatalogError.platformNotPresent(name, available: [image.platform.description])
        }
        return image
    }

    /// Removes a tag or repo digest name; returns whether it existed.
    public func untag(_ reference: Reference, imageID: Digest) throws -> Bool {
        try database.write { db in
            if reference.digest != nil {
                try db.execute(sql: "DELETE FROM imageDigestRef WHERE reference = ? AND imageID = ?",
                               arguments: [reference.description, imageID.description])
            } else {
                try db.execute(sql: "DELETE FROM imageTag WHERE reference = ? AND imageID = ?",
                               arguments: [reference.withDefaultTag.description, imageID.description])
            }
            return db.changesCount > 0
        }
    }

    public func delete(_ imageID: Digest) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM image WHERE id = ?", arguments: [imageID.description])
        }
    }

    /// Every blob and snapshot some image still needs; everything else may be collected.
    public func referenced() throws -> (blobs: Set<Digest>, chainIDs: Set<Digest>) {
        try database.read { db in
            var blobs = Set<Digest>()
            var chains = Set<Digest>()
            for row in try Row.fetchAll(db, sql: "SELECT id, manifestDigest FROM image") {
                blobs.insert(try Digest(parsing: row["id"]))
                blobs.insert(try Digest(parsing: row["manifestDigest"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT blob, chainID FROM imageLayer") {
                blobs.insert(try Digest(parsing: row["blob"]))
                chains.insert(try Digest(parsing: row["chainID"]))
            }
            return (blobs, chains)
        }
    }

    private static func platforms(of ids: [String], _ db: Database) throws -> [(id: String, platform: String)] {
        try ids.compactMap { id in
            try String.fetchOne(db, sql: "SELECT platform FROM image WHERE id = ?", arguments: [id]).map { (id, $0) }
        }
    }

    private static func record(from row: Row, _ db: Database) throws -> ImageRecord {
        let id: String = row["id"]
        let layers = try Row.fetchAll(db, sql: "SELECT * FROM imageLayer WHERE imageID = ? ORDER BY position", arguments: [id]).map {
            LayerRecord(blob: try Digest(parsing: $0["blob"]), mediaType: $0["mediaType"], blobSize: $0["blobSize"],
                        diffID: try Digest(parsing: $0["diffID"]), chainID: try Digest(parsing: $0["chainID"]))
        }
        return ImageRecord(
            id: try Digest(parsing: id), manifestDigest: try Digest(parsing: row["manifestDigest"]),
            manifestMediaType: row["manifestMediaType"], platform: try Platform(parsing: row["platform"]),
            created: row["created"], size: row["size"], layers: layers,
            parent: (row["parent"] as String?).flatMap { try? Digest(parsing: $0) },
            tags: try String.fetchAll(db, sql: "SELECT reference FROM imageTag WHERE imageID = ? ORDER BY reference", arguments: [id]),
            repoDigests: try String.fetchAll(db, sql: "SELECT reference FROM imageDigestRef WHERE imageID = ? ORDER BY reference", arguments: [id]))
    }
}

public enum CatalogError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case ambiguous(String)
    case platformNotPresent(String, available: [String])

    public var description: String {
        switch self {
        case .notFound(let name): return "No such image: \(name)"
        case .ambiguous(let name): return "image reference \"\(name)\" is ambiguous: give a longer ID"
        case .platformNotPresent(let name, let available):
            return "image \(name) is present only for \(available.joined(separator: ", ")): pull it with --platform"
        }
    }
}
