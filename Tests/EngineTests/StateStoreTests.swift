import Engine
import Foundation
import Testing

@Suite struct StateStoreTests {
    @Test func migratesOnceKeepsIdentityAndUsesWAL() throws {
        let directory = NSTemporaryDirectory() + "state-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let first = try StateStore(directory: directory)
        let identity = try first.daemonID()
        #expect(UUID(uuidString: identity) != nil)
        #expect(try first.journalMode() == "wal")
        #expect(try first.appliedMigrations() == ["v1: daemon identity, containers, images", "v2: image store", "v3: containers", "v4: volumes", "v5: networks", "v6: build cache", "v7: normalised image names", "v8: image parents"])
        #expect(try first.counts() == StateStore.Counts())

        let reopened = try StateStore(directory: directory)
        #expect(try reopened.daemonID() == identity)
        #expect(try reopened.appliedMigrations().count == 8)
    }
}
