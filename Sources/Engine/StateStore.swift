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
        Self.makeReserve(beside: path)
    }

    /// Space kept for the database's writes that must land on a full disk: a container's exit, a
    /// removal that frees space. Made at each start when the disk has room for it.
    static let reserveBytes: Int64 = 8 << 20

    static func reservePath(beside databasePath: String) -> String { databasePath + "-reserve" }

    static func makeReserve(beside databasePath: String) {
        let reserve = reservePath(beside: databasePath)
        var info = statvfs()
        guard !FileManager.default.fileExists(atPath: reserve), statvfs(databasePath, &info) == 0,
              Int64(info.f_bavail) * Int64(info.f_frsize) > 8 * reserveBytes else { return }
        let fd = open(reserve + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // fallocate, not a sparse file: the blocks must be the disk's to give back.
        if posix_fallocate(fd, 0, off_t(reserveBytes)) == 0, fsync(fd) == 0 {
            rename(reserve + ".tmp", reserve)
        } else {
            unlink(reserve + ".tmp")
        }
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

extension DatabasePool {
    /// A write that must land even on a full disk (a container's exit, a removal that frees
    /// space): on SQLite's "disk full" it gives the store's reserve back to the disk and tries once more.
    func writeEvenWhenFull<T>(_ updates: (Database) throws -> T) throws -> T {
        do {
            return try write(updates)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            guard unlink(StateStore.reservePath(beside: path)) == 0 else { throw error }
            return try write(updates)
        }
    }
}
