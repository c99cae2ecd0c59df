import Foundation
import GRDB

/// Volumes in the daemon's database; their data lives in `VolumeStore`'s directories.
public struct VolumeCatalog: Sendable {
    let database: DatabasePool

    public init(database: DatabasePool) {
        self.database = database
    }

    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: volumes") { db in
            try db.create(table: "volume") { table in
                table.primaryKey("name", .text)
                table.column("created", .double).notNull()
                table.column("labels", .blob).notNull()
                table.column("anonymous", .boolean).notNull()
            }
        }
    }

    public func insert(_ volume: VolumeRecord) throws {
        let labels = try JSONEncoder().encode(volume.labels)
        try database.write { db in
            try db.execute(sql: "INSERT INTO volume (name, created, labels, anonymous) VALUES (?, ?, ?, ?)",
                           arguments: [volume.name, volume.created.timeIntervalSince1970, labels, volume.anonymous])
        }
    }

    public func volume(named name: String) throws -> VolumeRecord? {
        try database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM volume WHERE name = ?", arguments: [name]) }
            .map(Self.record)
    }

    public func all() throws -> [VolumeRecord] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM volume ORDER BY name") }.map(Self.record)
    }

    public func delete(_ name: String) throws {
        try database.writeEvenWhenFull { db in try db.execute(sql: "DELETE FROM volume WHERE name = ?", arguments: [name]) }
    }

    private static func record(_ row: Row) -> VolumeRecord {
        let labels: Data = row["labels"]
        return VolumeRecord(name: row["name"], created: Date(timeIntervalSince1970: row["created"]),
                            labels: (try? JSONDecoder().decode([String: String].self, from: labels)) ?? [:],
                            anonymous: row["anonymous"])
    }
}
