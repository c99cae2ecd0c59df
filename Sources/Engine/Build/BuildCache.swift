import Foundation
import GRDB
import OCI

/// The build cache: for each step's key (the image it ran on, the instruction as expanded, and
/// what it read: the context's files for COPY, the arguments for RUN), the image it made.
public struct BuildCache: Sendable {
    let database: DatabasePool

    public init(database: DatabasePool) {
        self.database = database
    }

    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6: build cache") { db in
            try db.create(table: "buildCache") { table in
                table.primaryKey("key", .text)
                table.column("image", .text).notNull()
            }
        }
    }

    /// A step's key from its parts, in order.
    public static func key(_ parts: [String]) -> String {
        DigestHasher.digest(of: Data(parts.joined(separator: "\0").utf8)).encoded
    }

    public func image(for key: String) throws -> Digest? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT image FROM buildCache WHERE key = ?", arguments: [key]) }
            .flatMap { try? Digest(parsing: $0) }
    }

    /// Every image a build step made.
    public func images() throws -> Set<Digest> {
        Set(try database.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT image FROM buildCache") }
            .compactMap { try? Digest(parsing: $0) })
    }

    public func record(_ key: String, image: Digest) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO buildCache (key, image) VALUES (?, ?)", arguments: [key, image.description])
        }
    }
}
