import Foundation
import Testing

@Suite(.serialized) struct DaemonLifecycleTests {
    @Test func socketIsRootOnlyAndRemovedOnSIGTERM() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.tearDown() }
        try daemon.start()
        let attributes = try FileManager.default.attributesOfItem(atPath: daemon.socketPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o660)
        #expect((attributes[.ownerAccountID] as? NSNumber)?.intValue == 0)

        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        #expect(!FileManager.default.fileExists(atPath: daemon.execRoot + "/cri.sock"), "the CRI's socket goes too")
        #expect(daemon.log.contains("stopped"))
    }

    /// A guest kernel built after berthd started is the one `info` names (and the next VM boots),
    /// without a restart or SIGHUP.
    @Test func guestKernelsBuiltLaterShowAtOnce() async throws {
        let kernel = try ContainerLifecycleTests.guestKernel()
        let scratch = try TestPaths.makeScratch("late-kernel")
        defer { TestPaths.removeScratch(scratch) }
        let cache = try ContainerLifecycleTests.scratchCache(in: scratch)
        try FileManager.default.createSymbolicLink(atPath: cache + "/vm-images", withDestinationPath: "/var/cache/berth/vm-images")
        try await DaemonFixture.with(options: ["--cache-dir", cache]) { daemon in
            func amd64Kernel() throws -> String {
                let info = try daemon.berth(["info", "--format", "json"]).stdout
                let object = try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any]
                let platforms = ((object?["Berth"] as? [String: Any])?["Host"] as? [String: Any])?["platforms"] as? [[String: Any]] ?? []
                let vm = platforms.first { ($0["mode"] as? String) == "system-vm" && ($0["platform"] as? [String: Any])?["architecture"] as? String == "amd64" }
                return vm?["guestKernel"] as? String ?? ""
            }
            let before = try amd64Kernel()
            #expect(before.contains("Debian stock"), "\(before)")
            try FileManager.default.createDirectory(atPath: cache + "/guest-kernels", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: cache + "/guest-kernels/" + (kernel as NSString).lastPathComponent,
                                                       withDestinationPath: kernel)
            let after = try amd64Kernel()
            #expect(after.hasSuffix("(minimal)"), "\(after)")
        }
    }

    @Test func secondDaemonOnSameRootRefuses() async throws {
        try await DaemonFixture.with { daemon in
            let second = try daemon.launch()
            second.waitUntilExit()
            #expect(second.terminationStatus == 1)
            #expect(daemon.log.contains("another berthd (pid \(daemon.pid)) is using root \(daemon.root)"))
            // The first daemon is untouched and still serving.
            #expect(try daemon.berth(["version"]).status == 0)
        }
    }

    @Test func stateSurvivesRestartInWALMode() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.tearDown() }
        try daemon.start()
        let firstID = try info(daemon)["ID"] as? String
        #expect(daemon.stop() == 0)
        try daemon.start()
        let secondID = try info(daemon)["ID"] as? String
        #expect(firstID != nil && firstID == secondID)
        let mode = try Command.succeed(["sqlite3", daemon.root + "/berth.db", "PRAGMA journal_mode;"])
        #expect(mode.trimmingCharacters(in: .whitespacesAndNewlines) == "wal")
    }

    @Test func killedDaemonLeavesNoStaleLock() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.tearDown() }
        try daemon.start()
        daemon.signal(SIGKILL)
        usleep(200_000)
        try daemon.start()
        #expect(try daemon.berth(["version"]).status == 0)
    }

    private func info(_ daemon: DaemonFixture) throws -> [String: Any] {
        let result = try daemon.berth(["info", "--format", "json"])
        guard result.status == 0 else { throw TestFailure("berth info failed: \(result.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }
}
