import Foundation
import GRDB
import ImageStore
import SystemSupport

/// The daemon's persistent state: one SQLite database in WAL mode under `--root`.
///
/// Every schema change is a new migration appended to `migrator`; released migrations never change.
public final class StateStore: Sendable {
    public struct Counts: Equatable, Sendable {
        public var containers = 0
        public var running = 0
        public var paused = 0
        public var stopped = 0
        public var images = 0

        public init() {}
    }

    /// The database, for stores of other modules that keep their tables here.
    public let database: DatabasePool
    public let path: String

    public init(directory: String) throws {
        path = directory + "/berth.db"
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        // In WAL mode NORMAL still survives the daemon being killed at any point (only a power loss
        // can drop the last commits), and spares an fsync per container state change.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        // DatabasePool runs SQLite in WAL mode: readers never block the writer.
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: daemon identity, containers, images") { db in
            try db.create(table: "daemon") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
            try db.execute(sql: "INSERT INTO daemon (key, value) VALUES ('id', ?)", arguments: [UUID().uuidString])
            try db.create(table: "image") { table in
                table.primaryKey("id", .text)
                table.column("created", .datetime).notNull()
            }
            try db.create(table: "container") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull().unique()
                table.column("imageID", .text).notNull()
                table.column("state", .text).notNull()
                table.column("created", .datetime).notNull()
            }
        }
        ImageCatalog.registerMigrations(&migrator)
        ContainerCatalog.registerMigrations(&migrator)
        VolumeCatalog.registerMigrations(&migrator)
        NetworkCatalog.registerMigrations(&migrator)
        BuildCache.registerMigrations(&migrator)
        ImageCatalog.registerNameMigration(&migrator)
        ImageCatalog.registerParentMigration(&migrator)
        return migrator
    }

    /// The daemon's stable identity, `ID` in `/info`: made once, kept across restarts.
    public func daemonID() throws -> String {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM daemon WHERE key = 'id'") ?? ""
        }
    }

    public func counts() throws -> Counts {
        try database.read { db in
            var counts = Counts()
            let rows = try Row.fetchAll(db, sql: """
                SELECT json_extract(CAST(state AS TEXT), '$.status') AS state, COUNT(*) AS n FROM container GROUP BY 1
                """)
            for row in rows {
                let state: String = row["state"]
                let number: Int = row["n"]
                counts.containers += number
                switch state {
                case "running", "restarting": counts.running += number
                case "paused": counts.paused += number
                default: counts.stopped += number
                }
            }
            counts.images = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM image") ?? 0
            return counts
        }
    }

    /// The journal mode SQLite reports, for tests and diagnostics.
    public func journalMode() throws -> String {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    public func appliedMigrations() throws -> [String] {
        try database.read { db in try Self.migrator.appliedMigrations(db) }
    }
}

extension StateStore {
    /// SQLite's "database or disk is full" as the failed write it is, in the words every other
    /// write on a full disk gives.
    public static func systemError(_ error: any Error) -> SystemError? {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL else { return nil }
        return .call("writing berth.db", ENOSPC)
    }
}
