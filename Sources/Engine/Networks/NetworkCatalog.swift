import Foundation
import GRDB

/// Networks in the daemon's database, one JSON row each.
public struct NetworkCatalog: Sendable {
    let database: DatabasePool

    public init(database: DatabasePool) {
        self.database = database
    }

    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5: networks") { db in
            try db.create(table: "network") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull().unique()
                table.column("body", .blob).notNull()
            }
        }
    }

    public func insert(_ network: NetworkRecord) throws {
        let body = try JSONEncoder().encode(network)
        try database.write { db in
            try db.execute(sql: "INSERT INTO network (id, name, body) VALUES (?, ?, ?)", arguments: [network.id, network.name, body])
        }
    }

    public func all() throws -> [NetworkRecord] {
        try database.read { db in try Data.fetchAll(db, sql: "SELECT body FROM network ORDER BY name") }
            .map { try JSONDecoder().decode(NetworkRecord.self, from: $0) }
    }

    public func delete(_ id: String) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM network WHERE id = ?", arguments: [id]) }
    }
}
