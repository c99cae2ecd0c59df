import APIModels
import Foundation
import GRDB

/// Containers in the daemon's database; each write is one transaction.
public struct ContainerCatalog: Sendable {
    let database: DatabasePool

    public init(database: DatabasePool) {
        self.database = database
    }

    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3: containers") { db in
            // v1 made a placeholder that never held rows.
            try db.drop(table: "container")
            try db.create(table: "container") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull().unique()
                table.column("imageName", .text).notNull()
                table.column("imageID", .text).notNull()
                table.column("platform", .text).notNull()
                table.column("created", .double).notNull()
                table.column("request", .blob).notNull()
                table.column("path", .text).notNull()
                table.column("arguments", .blob).notNull()
                table.column("state", .blob).notNull()
            }
        }
    }

    private static let encoder = JSONEncoder()
    private static let decoder = JSONDecoder()

    public func insert(_ record: ContainerRecord) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO container (id, name, imageName, imageID, platform, created, request, path, arguments, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    record.id, record.name, record.imageName, record.imageID, record.platform,
                    record.created.timeIntervalSince1970, try Self.encoder.encode(record.request), record.path,
                    try Self.encoder.encode(record.arguments), try Self.encoder.encode(record.state),
                ])
        }
    }

    public func updateState(_ id: String, _ state: ContainerRecord.State) throws {
        let data = try Self.encoder.encode(state)
        try database.writeEvenWhenFull { db in
            try db.execute(sql: "UPDATE container SET state = ? WHERE id = ?", arguments: [data, id])
        }
    }

    /// The container's settings as changed after creation (`docker update`).
    public func updateRequest(_ id: String, _ request: ContainerCreateRequest) throws {
        let data = try Self.encoder.encode(request)
        try database.write { db in
            try db.execute(sql: "UPDATE container SET request = ? WHERE id = ?", arguments: [data, id])
        }
    }

    public func rename(_ id: String, to name: String) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE container SET name = ? WHERE id = ?", arguments: [name, id])
        }
    }

    public func delete(_ id: String) throws {
        try database.writeEvenWhenFull { db in
            try db.execute(sql: "DELETE FROM container WHERE id = ?", arguments: [id])
        }
    }

    public func all() throws -> [ContainerRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM container ORDER BY created DESC").map(Self.record)
        }
    }

    /// By exact ID or name, without reading every container.
    public func record(idOrName: String) throws -> ContainerRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM container WHERE id = ? OR name = ? LIMIT 1", arguments: [idOrName, idOrName])
                .map(Self.record)
        }
    }

    public func nameExists(_ name: String) throws -> Bool {
        try database.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM container WHERE name = ?)", arguments: [name]) ?? false
        }
    }

    /// Image IDs that containers are made from: those images cannot be deleted.
    public func imageIDsInUse() throws -> Set<String> {
        try database.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT imageID FROM container"))
        }
    }

    private static func record(_ row: Row) throws -> ContainerRecord {
        ContainerRecord(
            id: row["id"], name: row["name"], imageName: row["imageName"], imageID: row["imageID"],
            platform: row["platform"], created: Date(timeIntervalSince1970: row["created"]),
            request: try decoder.decode(ContainerCreateRequest.self, from: row["request"] as Data),
            path: row["path"], arguments: try decoder.decode([String].self, from: row["arguments"] as Data),
            state: try decoder.decode(ContainerRecord.State.self, from: row["state"] as Data))
    }
}
