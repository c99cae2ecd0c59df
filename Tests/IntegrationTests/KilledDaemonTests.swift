import Foundation
import Testing

/// berthd killed with SIGKILL in the middle of a build, a commit, a network's creation and a
/// volume's copy-up: `berthd --check` names what the cut left and repairs it, a second check finds
/// the store consistent, and the restarted daemon does the same operation to the end.
@Suite(.serialized) struct KilledDaemonTests {
    static let image = ContainerLifecycleTests.image

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], timeout: TimeInterval = 120) throws -> Command.Result {
        try ContainerLifecycleTests.docker(daemon, arguments, timeout: timeout)
    }

    /// Runs `arguments` against the daemon in the background, kills the daemon with SIGKILL once
    /// `ready` holds, and waits for both to end.
    static func kill(_ daemon: DaemonFixture, during arguments: [String], mayFinishFirst: Bool = false, when ready: () -> Bool,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["docker", "-H", daemon.host] + arguments
        client.standardOutput = FileHandle.nullDevice
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer { if client.isRunning { Glibc.kill(client.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(120)
        var seen = ready()
        while !seen, Date() < deadline, client.isRunning {
            usleep(2_000)
            seen = ready()
        }
        #expect(seen || mayFinishFirst, "the moment to kill berthd never came during \(arguments)", sourceLocation: sourceLocation)
        daemon.signal(SIGKILL)
        daemon.process?.waitUntilExit()
        client.waitUntilExit()
    }

    /// `berthd --check` on the stopped daemon's roots.
    static func check(_ daemon: DaemonFixture) throws -> Command.Result {
        try Command.run([TestPaths.berthd, "--check", "--root", daemon.root, "--exec-root", daemon.execRoot])
    }

    /// The first check reports (and repairs) what `expected` names; the second finds nothing.
    static func expectRepaired(_ daemon: DaemonFixture, _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let first = try check(daemon)
        #expect(first.status == 0 && first.stdout.contains("consistent ("), "\(first)", sourceLocation: sourceLocation)
        for finding in expected {
            #expect(first.stdout.contains(finding), "the check did not report \(finding): \(first.stdout)", sourceLocation: sourceLocation)
        }
        let second = try check(daemon)
        #expect(second.status == 0 && second.stdout == "\(daemon.root): consistent\n", "\(second)", sourceLocation: sourceLocation)
    }

    /// Nothing is left to repair: the cut left only what the next start takes up.
    static func expectConsistent(_ daemon: DaemonFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try check(daemon)
        #expect(check.status == 0 && check.stdout == "\(daemon.root): consistent\n", "\(check)", sourceLocation: sourceLocation)
    }

    /// The bridges with an IPv4 address starting `prefix`, and the rules that name them.
    static func removeBridges(withAddressesIn prefix: String) {
        let addresses = (try? Command.succeed(["ip", "-o", "-4", "addr", "show"])) ?? ""
        let bridges = Set(addresses.split(separator: "\n").filter { $0.contains(" \(prefix)") }
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) })
        for table in ["filter", "nat"] {
            let rules = (try? Command.succeed(["iptables", "-t", table, "-S"])) ?? ""
            for rule in rules.split(separator: "\n") where rule.hasPrefix("-A ")
                && (rule.contains(" \(prefix)") || bridges.contains { rule.contains(" \($0) ") || rule.hasSuffix(" \($0)") }) {
                _ = try? Command.run(["sh", "-c", "iptables -t \(table) -D \(rule.dropFirst(3))"])
            }
        }
        for bridge in bridges { _ = try? Command.run(["ip", "link", "del", bridge]) }
    }

    static func entries(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Killed while a RUN step runs: the step's container (still running under its shim) is
    /// removed at the next start, no image is recorded, and the build then completes.
    @Test func killedDuringABuildLeavesNoStepContainer() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let context = try daemon.buildContext(dockerfile: "FROM \(Self.image)\nRUN sleep 4 && echo built > /made\n")
            let before = try Self.docker(daemon, ["images", "-aq"]).stdout
            var stepSeen: Date?
            try Self.kill(daemon, during: ["build", "-t", "cut", context]) {
                if stepSeen == nil, !Self.entries(daemon.root + "/containers").isEmpty { stepSeen = Date() }
                // Half a second into the step: its shim has started its command.
                return stepSeen.map { Date().timeIntervalSince($0) > 0.5 } ?? false
            }
            let step = try #require(Self.entries(daemon.root + "/containers").first)
            try Self.expectConsistent(daemon)
            try daemon.start()
            let gone = try await poll(seconds: 20) { try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty ? true : nil }
            #expect(gone == true, "the build step's container stayed")
            #expect(!FileManager.default.fileExists(atPath: daemon.root + "/containers/" + step))
            #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/berth/" + step), "its cgroup stayed")
            #expect(try Self.docker(daemon, ["images", "-aq"]).stdout == before, "a cut build recorded an image")
            let build = try Self.docker(daemon, ["build", "-q", "-t", "cut", context], timeout: 300)
            #expect(build.status == 0, "\(build)")
            #expect(try Self.docker(daemon, ["run", "--rm", "cut", "cat", "/made"]).stdout == "built\n")
        }
    }

    /// Killed while a commit writes its layer: the partial layer is reported and removed, no image
    /// is recorded, and the commit then completes.
    @Test func killedDuringACommitLeavesNoPartialLayer() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            #expect(try Self.docker(daemon, ["run", "--name", "writer", Self.image, "dd", "if=/dev/urandom", "of=/big",
                                             "bs=1M", "count=192"], timeout: 300).status == 0)
            let before = try Self.docker(daemon, ["images", "-aq"]).stdout
            let snapshots = daemon.root + "/snapshots"
            try Self.kill(daemon, during: ["commit", "writer", "cut"]) {
                Self.entries(snapshots).contains { $0.hasPrefix(".ingest-commit-") && Self.size(snapshots + "/" + $0) > 1 << 20 }
            }
            try Self.expectRepaired(daemon, ["unfinished layer snapshots/.ingest-commit-"])
            try daemon.start()
            #expect(try Self.docker(daemon, ["images", "-aq"]).stdout == before, "a cut commit recorded an image")
            #expect(try Self.docker(daemon, ["commit", "writer", "cut"], timeout: 300).status == 0)
            let size = try Self.docker(daemon, ["run", "--rm", "cut", "sh", "-c", "wc -c < /big"])
            #expect(size.stdout == "\(192 << 20)\n", "\(size)")
        }
    }

    /// Killed at moments spread over `network create`: every network that exists afterwards works
    /// and is removed whole, and no bridge or address is left that no network names.
    @Test func killedDuringNetworkCreationLeavesNoStrayBridge() async throws {
        // A bridge no network names would outlive the daemon's tear-down: removed here if the test finds one.
        defer { Self.removeBridges(withAddressesIn: "10.252.") }
        try await ContainerLifecycleTests.withImages { daemon in
            let subnets = (1...8).map { "10.252.\($0).0/24" }
            for (index, subnet) in subnets.enumerated() {
                // From before the request arrives to after the answer: the CLI alone takes ~30 ms.
                let delay = 0.02 + Double(index) * 0.012
                let started = Date()
                try Self.kill(daemon, during: ["network", "create", "--subnet", subnet, "cut\(index)"], mayFinishFirst: true) {
                    Date().timeIntervalSince(started) >= delay
                }
                try Self.expectConsistent(daemon)
                try daemon.start()
            }
            let made = try Self.docker(daemon, ["network", "ls", "--filter", "name=cut", "--format", "{{.Name}}"]).stdout
                .split(separator: "\n").map(String.init)
            for network in made {
                let run = try Self.docker(daemon, ["run", "--rm", "--network", network, Self.image, "true"])
                #expect(run.status == 0, "network \(network) does not work: \(run)")
                #expect(try Self.docker(daemon, ["network", "rm", network]).status == 0)
            }
            let addresses = try Command.succeed(["ip", "-o", "-4", "addr", "show"])
            #expect(!addresses.contains(" 10.252."), "an address of a cut network is left: \(addresses)")
            let rules = try Command.succeed(["iptables-save"])
            #expect(!rules.contains("10.252."), "a rule of a cut network is left")
        }
    }

    /// Killed while a volume is filled from its image: the merged image mount and the copy are
    /// reported and removed, and the next run fills the (still empty) volume.
    @Test func killedDuringAVolumeCopyUpLeavesNoMountOrHalfCopy() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let context = try daemon.buildContext(dockerfile: """
                FROM \(Self.image)
                RUN mkdir /data && for i in $(seq 1 64); do dd if=/dev/urandom of=/data/part-$i bs=1M count=2 2>/dev/null; done
                VOLUME /data
                """)
            #expect(try Self.docker(daemon, ["build", "-q", "-t", "seeded", context], timeout: 300).status == 0)
            let copyUp = daemon.root + "/volumes/filled/.copy-up"
            try Self.kill(daemon, during: ["run", "--rm", "-v", "filled:/data", "seeded", "true"]) {
                Self.size(copyUp + "/content.tar") > 1 << 20
            }
            #expect(TestPaths.mountInfo().contains(daemon.root + "/snapshots/.merged-"),
                    "the image's merged mount was not there to be left")
            try Self.expectRepaired(daemon, ["leftover mount snapshots/.merged-", "an unfinished copy-up in volume filled"])
            #expect(!TestPaths.mountInfo().contains(daemon.root + "/"))
            try daemon.start()
            let filled = try Self.docker(daemon, ["run", "--rm", "-v", "filled:/data", "seeded", "sh", "-c", "ls /data | wc -l"])
            #expect(filled.stdout == "64\n", "\(filled)")
        }
    }
}
