import APIModels
import Foundation
import HostModel
import Testing

@Suite(.serialized) struct CLITests {
    @Test func missingDaemonIsOneClearLineAndExit1() throws {
        let scratch = try TestPaths.makeScratch("nodaemon")
        defer { TestPaths.removeScratch(scratch) }
        let result = try Command.run([TestPaths.berth, "-H", "unix://\(scratch)/none.sock", "version"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.hasPrefix("berth: cannot reach berthd at unix://\(scratch)/none.sock"))
        #expect(result.stderr.contains("is it running? start it with"))

        let fromEnvironment = try Command.run(
            [TestPaths.berth, "info"], environment: ["BERTH_HOST": "unix://\(scratch)/env.sock"])
        #expect(fromEnvironment.status == 1)
        #expect(fromEnvironment.stderr.contains("unix://\(scratch)/env.sock"))
    }

    @Test func infoListsForeignPlatformsAndAccelerator() async throws {
        try await DaemonFixture.with { daemon in
            let json = try daemon.berth(["info", "--format", "json"])
            #expect(json.status == 0)
            let info = try JSONDecoder().decode(SystemInfo.self, from: Data(json.stdout.utf8))
            let host = info.Berth.Host
            #expect(host.hostPlatform.description == "linux/amd64")
            let rows = Set(host.platforms.map { "\($0.platform) \($0.mode.rawValue)" })
            #expect(rows.contains("linux/amd64 native"))
            #expect(rows.contains("linux/arm64 system-vm"))
            #expect(rows.contains("linux/arm64 user-emulation"))
            #expect(rows.contains("linux/arm/v7 system-vm"))
            #expect(rows.contains("linux/arm/v7 user-emulation"))
            #expect(!host.accelerator.reason.isEmpty)
            if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") {
                #expect(host.accelerator.kind == .tcg)
                #expect(host.accelerator.reason.contains("kvm_pvm"))
            }
            #expect(host.libvirt.reachable, "libvirt: \(host.libvirt.error ?? "")")
            #expect(host.cgroups.layout == .hybrid || host.cgroups.layout == .v1 || host.cgroups.layout == .v2)

            let table = try daemon.berth(["info"])
            #expect(table.status == 0)
            #expect(table.stdout.contains("Accelerator: \(host.accelerator.kind.rawValue) ("))
            #expect(table.stdout.range(of: #"linux/arm64\s+system VM\s+qemu-system-aarch64"#, options: .regularExpression) != nil)
            #expect(table.stdout.range(of: #"linux/arm/v7\s+user-mode emulation\s+qemu-arm"#, options: .regularExpression) != nil)
        }
    }

    @Test func versionShowsClientAndServer() async throws {
        try await DaemonFixture.with { daemon in
            let result = try daemon.berth(["version"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("Server: Berth"))
            #expect(result.stdout.contains("API version:      1.47 (minimum version 1.24)"))
        }
    }

    @Test func systemEventsStreamsAndFilters() async throws {
        try await DaemonFixture.with { daemon in
            // A live subscriber: its output goes to a file we watch for the event.
            let output = daemon.scratch + "/events.out"
            FileManager.default.createFile(atPath: output, contents: nil)
            let subscriber = Process()
            subscriber.executableURL = URL(fileURLWithPath: TestPaths.berth)
            subscriber.arguments = ["-H", daemon.host, "system", "events", "--filter", "type=daemon"]
            subscriber.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            try subscriber.run()
            defer {
                kill(subscriber.processIdentifier, SIGKILL)
                subscriber.waitUntilExit()
            }
            try await waitForListeners(daemon, count: 1)

            let signalled = Date()
            daemon.signal(SIGHUP)
            var live = ""
            // A loaded CI host has taken over 30 s to get the event out; a lost one never comes.
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline, !live.hasSuffix("\n") {
                live = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                try await Task.sleep(for: .milliseconds(50))
            }
            // Replayed from the daemon's buffer: the type filter keeps it out of a container-only stream.
            let replay = try daemon.berth(["system", "events", "--since", "0", "--until", "0s", "--format", "json"])
            #expect(live.range(of: #"^\d{4}-\d\d-\d\dT[0-9:.]+Z daemon reload \S+ \(accelerator=\w+, name=.+\)\n$"#, options: .regularExpression) != nil,
                    "got: \(live); the subscriber \(subscriber.isRunning ? "runs" : "ended"); signalled at \(signalled.timeIntervalSince1970), replayed: \(replay.stdout)")
            #expect(replay.stdout.contains(#""Action":"reload""#))
            let filtered = try daemon.berth(["system", "events", "--since", "0", "--until", "0s", "--filter", "type=container"])
            #expect(filtered.status == 0 && filtered.stdout.isEmpty)
            let bad = try daemon.berth(["system", "events", "--filter", "colour=blue", "--until", "0s"])
            #expect(bad.status == 1 && bad.stderr.contains("invalid filter 'colour'"))
        }
    }

    private func waitForListeners(_ daemon: DaemonFixture, count: Int) async throws {
        let registered = try await poll(seconds: 60, every: .milliseconds(50)) { () -> Bool? in
            let result = try daemon.berth(["info", "--format", "json"])
            let info = try? JSONDecoder().decode(SystemInfo.self, from: Data(result.stdout.utf8))
            return (info?.NEventsListener ?? 0) >= count ? true : nil
        }
        if registered != nil { return }
        throw TestFailure("no events listener registered")
    }
}
