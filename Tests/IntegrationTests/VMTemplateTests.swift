import Foundation
import Testing

/// Utility VMs started as clones of a saved, booted VM: the first VM of a kind boots cold and has
/// its template made; the next ones load it, each with its own disks, network, shares, seed and clock.
@Suite(.serialized)
struct VMTemplateTests {
    static let image = ContainerLifecycleTests.image

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], timeout: TimeInterval = 120) throws -> Command.Result {
        try ContainerLifecycleTests.docker(daemon, arguments, timeout: timeout)
    }

    /// The templates under the daemon's root, by fingerprint, once `count` of them are whole.
    static func templates(_ daemon: DaemonFixture, count: Int = 1, changedFrom previous: [String: Date] = [:]) -> [String: Date] {
        let directory = daemon.root + "/vm-templates"
        for _ in 0..<600 {
            var found: [String: Date] = [:]
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !entry.hasPrefix(".") {
                let manifest = "\(directory)/\(entry)/template.json"
                if let attributes = try? FileManager.default.attributesOfItem(atPath: manifest), let date = attributes[.modificationDate] as? Date {
                    found[entry] = date
                }
            }
            if found.count >= count, found.allSatisfy({ previous[$0.key] == nil || previous[$0.key]! < $0.value }) { return found }
            usleep(200_000)
        }
        return [:]
    }

    static func start(_ daemon: DaemonFixture, _ id: String) throws -> String {
        try docker(daemon, ["inspect", "-f", "{{.Berth.UtilityVM.Start}}", id]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The QEMUs berthd runs itself for this daemon.
    static func clonesRunning(_ daemon: DaemonFixture) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { entry in
            guard Int32(entry) != nil, let cmdline = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { return false }
            return cmdline.contains("qemu-system") && cmdline.contains("-pidfile\0\(daemon.root)/vms/")
        }.count
    }

    @Test func vmsAfterTheFirstAreClonesWithTheirOwnDisksNetworkSharesSeedAndClock() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try await ContainerLifecycleTests.withImages { daemon in
            let first = try Self.docker(daemon, ["run", "--name", "cold", "--isolation=vm", Self.image, "true"])
            #expect(first.status == 0, "\(first)")
            #expect(try Self.start(daemon, "cold") == "cold")
            #expect(Self.templates(daemon).count == 1, "the first cold boot has the template made")
            let info = try daemon.berth(["info"]).stdout
            let listed = info.components(separatedBy: "VM templates:").last ?? ""
            #expect(listed.contains("ARCHITECTURE") && listed.contains("x86_64") && listed.contains("256 MiB") && listed.contains(" ago"), "\(listed)")
            #expect(try Self.docker(daemon, ["network", "create", "clones"]).status == 0)
            var ids: [String] = []
            for name in ["one", "two"] {
                let run = try Self.docker(daemon, ["run", "-d", "--name", name, "--network", "clones", "--isolation=vm", "-v", "shared:/data",
                                                   Self.image, "sh", "-c",
                                                   "date +%s; head -c 16 /dev/urandom | od -An -tx1; cat /proc/sys/kernel/random/boot_id; hostname; "
                                                   + "echo \(name) > /data/\(name); sleep 300"])
                #expect(run.status == 0, "\(run)")
                ids.append(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(try Self.start(daemon, "one") == "template" && Self.start(daemon, "two") == "template")
            let pid = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "one"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            #expect(status.contains("THP_enabled:\t0"), "a clone's QEMU takes no huge pages: \(status)")
            let created = try Self.docker(daemon, ["inspect", "-f", "{{.Berth.UtilityVM.TemplateCreated}}", "one"]).stdout
            #expect(created.hasPrefix("20"), "\(created)")
            var outputs: [[String]] = []
            for name in ["one", "two"] {
                var lines: [String] = []
                for _ in 0..<100 where lines.count < 4 {
                    lines = try Self.docker(daemon, ["logs", name]).stdout.split(separator: "\n").map(String.init)
                    usleep(100_000)
                }
                outputs.append(lines)
            }
            let now = Date().timeIntervalSince1970
            for (index, lines) in outputs.enumerated() {
                #expect(lines.count == 4, "\(lines)")
                // The clock is the host's, not the template's from when it was saved.
                #expect(abs((Double(lines.first ?? "") ?? 0) - now) < 30, "\(lines)")
                #expect(lines.last == String(ids[index].prefix(12)), "each clone has its container's hostname: \(lines)")
            }
            #expect(outputs[0].count == 4 && outputs[1].count == 4 && outputs[0][1] != outputs[1][1], "each clone has its own random seed")
            #expect(outputs[0].count == 4 && outputs[1].count == 4 && outputs[0][2] != outputs[1][2] && outputs[0][2].count == 36,
                    "each clone has its own boot_id: \(outputs)")
            // Each clone is on the network with its own address, and reaches the other.
            let other = try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.Networks.clones.IPAddress}}", "two"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let ping = try Self.docker(daemon, ["exec", "one", "ping", "-c", "1", "-W", "10", other])
            #expect(ping.status == 0, "\(ping)")
            #expect(try Self.docker(daemon, ["exec", "two", "uname", "-m"]).stdout == "x86_64\n")
            // The volume is the host's: a native container reads what both clones wrote.
            let shared = try Self.docker(daemon, ["run", "--rm", "-v", "shared:/data", Self.image, "cat", "/data/one", "/data/two"])
            #expect(shared.stdout == "one\ntwo\n", "\(shared)")
            #expect(Self.clonesRunning(daemon) == 2)
            #expect(try Self.docker(daemon, ["rm", "-f", "one", "two"]).status == 0)
            for _ in 0..<100 where Self.clonesRunning(daemon) > 0 { usleep(50_000) }
            #expect(Self.clonesRunning(daemon) == 0, "a clone's QEMU ends with its container")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vms")) ?? []
            #expect(left.count == 1, "only the stopped cold container keeps its VM files: \(left)")
            let taps = try Command.run(["ip", "-o", "link"]).stdout.split(separator: "\n").filter { line in
                ids.contains { line.contains("vb" + $0.prefix(9)) }
            }
            #expect(taps.isEmpty, "\(taps)")
        }
    }

    @Test func aDamagedOrUnloadableTemplateIsMadeAgainAndTheVMBootsCold() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try await ContainerLifecycleTests.withImages { daemon in
            #expect(try Self.docker(daemon, ["run", "--rm", "--isolation=vm", Self.image, "true"]).status == 0)
            var templates = Self.templates(daemon)
            #expect(templates.count == 1)
            guard let fingerprint = templates.keys.first else { return }
            let directory = daemon.root + "/vm-templates/" + fingerprint

            // A changed byte in the saved state: not used, made again.
            let state = try FileHandle(forUpdating: URL(fileURLWithPath: directory + "/state"))
            try state.seek(toOffset: 100)
            let byte = try state.read(upToCount: 1) ?? Data([0])
            try state.seek(toOffset: 100)
            try state.write(contentsOf: Data([byte[0] ^ 0xff]))
            try state.close()
            #expect(try Self.docker(daemon, ["run", "--name", "after-damage", "--isolation=vm", Self.image, "true"]).status == 0)
            #expect(try Self.start(daemon, "after-damage") == "cold")
            templates = Self.templates(daemon, changedFrom: templates)
            #expect(templates[fingerprint] != nil, "the template was made again")

            // Its memory file gone: the same.
            try FileManager.default.removeItem(atPath: directory + "/memory")
            #expect(try Self.docker(daemon, ["run", "--name", "after-removal", "--isolation=vm", Self.image, "true"]).status == 0)
            #expect(try Self.start(daemon, "after-removal") == "cold")
            templates = Self.templates(daemon, changedFrom: templates)
            #expect(templates[fingerprint] != nil)

            // A template whose files are as recorded but that QEMU cannot load (as from another
            // QEMU): the clone fails, the VM boots cold with a warning, the template is made again.
            let garbage = Data(repeating: 0x5a, count: 4096)
            try garbage.write(to: URL(fileURLWithPath: directory + "/state"))
            let manifestPath = directory + "/template.json"
            var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any] ?? [:]
            manifest["stateBytes"] = garbage.count
            manifest["stateSHA256"] = try Command.succeed(["sh", "-c", "sha256sum \(directory)/state | cut -c1-64"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
            let unloadable = try Self.docker(daemon, ["run", "--name", "after-garbage", "--isolation=vm", Self.image, "echo", "ran"])
            #expect(unloadable.status == 0 && unloadable.stdout == "ran\n", "\(unloadable)")
            #expect(try Self.start(daemon, "after-garbage") == "cold")
            let log = (try? String(contentsOfFile: daemon.logPath, encoding: .utf8)) ?? ""
            #expect(log.contains("clone of its template failed; booting it cold"), "berthd warns")
            templates = Self.templates(daemon, changedFrom: templates)
            #expect(templates[fingerprint] != nil)
            #expect(try Self.docker(daemon, ["run", "--name", "after-rebuild", "--isolation=vm", Self.image, "true"]).status == 0)
            #expect(try Self.start(daemon, "after-rebuild") == "template")
            // Its guest syncs and powers off after the container's end.
            for _ in 0..<200 where Self.clonesRunning(daemon) > 0 { usleep(50_000) }
            #expect(Self.clonesRunning(daemon) == 0)
        }
    }

    @Test func withMergedMemoryAClonesWholeQEMUIsOfferedToSamePageMerging() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        let control = "/sys/kernel/mm/ksm/run"
        let before = try String(contentsOfFile: control, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // KSM is the host's; the test leaves it as it found it.
        defer { try? before.write(toFile: control, atomically: false, encoding: .utf8) }
        try await ContainerLifecycleTests.withImages(daemonOptions: ["--vm-merge-memory"]) { daemon in
            #expect(try String(contentsOfFile: control, encoding: .utf8).hasPrefix("1"), "berthd turned same-page merging on")
            #expect(try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--network", "none", Self.image, "true"]).status == 0)
            #expect(Self.templates(daemon).count == 1)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "merged", "--isolation=vm", "--network", "none", Self.image,
                                             "sleep", "300"]).status == 0)
            #expect(try Self.start(daemon, "merged") == "template")
            let pid = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "merged"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/ksm_stat", encoding: .utf8)) ?? ""
            #expect(stat.contains("ksm_merge_any: yes"), "all of the clone's memory, not only guest RAM: \(stat)")
            let berthd = (try? String(contentsOfFile: "/proc/\(daemon.pid)/ksm_stat", encoding: .utf8)) ?? ""
            #expect(!berthd.contains("ksm_merge_any: yes"), "berthd itself is not marked")
            // ADDR_NO_RANDOMIZE (0x0040000) lines clones' heaps up; berthd keeps its randomisation.
            func personality(_ pid: String) -> Int { Int(((try? String(contentsOfFile: "/proc/\(pid)/personality", encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) ?? -1 }
            #expect(personality(pid) >= 0 && personality(pid) & 0x0040000 != 0, "the clone's QEMU: \(personality(pid))")
            #expect(personality(String(daemon.pid)) & 0x0040000 == 0, "berthd: \(personality(String(daemon.pid)))")
            let alive = try Self.docker(daemon, ["exec", "merged", "echo", "alive"])
            let state = try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.Error}}", "merged"])
            #expect(alive.stdout == "alive\n", "\(alive); \(state)")
        }
    }

    /// The pool's QEMUs, waiting or handed to containers, by the directory their command line names.
    static func poolVMs(_ daemon: DaemonFixture) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { entry in
            guard Int32(entry) != nil, let cmdline = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { return false }
            return cmdline.contains("qemu-system") && cmdline.contains("-pidfile\0\(daemon.root)/vm-pool/")
        }.count
    }

    /// What `berth info` says waits in the pool for the template of `architecture`, once it says `expected`.
    static func waiting(_ daemon: DaemonFixture, _ expected: String, architecture: String = "x86_64") throws -> String {
        var row = ""
        for _ in 0..<300 {
            row = try daemon.berth(["info"]).stdout.split(separator: "\n").first { $0.contains(architecture) && $0.contains("waiting") }
                .map(String.init) ?? ""
            if row.hasSuffix(expected) { break }
            usleep(200_000)
        }
        return row
    }

    @Test func aWarmPoolHandsItsVMsToContainersThatFitAndEndsThemWithTheDaemon() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try ContainerLifecycleTests.armGuests()
        try await ContainerLifecycleTests.withImages(daemonOptions: ["--vm-pool", "x86_64=1", "--vm-pool", "arm64=1"]) { daemon in
            // The pool makes its templates itself, both at once while berthd starts, and starts a
            // clone of each before any container asks.
            #expect(try Self.waiting(daemon, "1 waiting").hasSuffix("1 waiting"))
            #expect(try Self.waiting(daemon, "1 waiting", architecture: "aarch64").hasSuffix("1 waiting"))
            #expect(Self.poolVMs(daemon) == 2)
            #expect(try Self.docker(daemon, ["network", "create", "pooled"]).status == 0)
            let run = try Self.docker(daemon, ["run", "-d", "--name", "taker", "--network", "pooled", "--isolation=vm", Self.image,
                                               "sh", "-c", "echo kept > /on-its-disk; sleep 300"])
            #expect(run.status == 0, "\(run)")
            #expect(try Self.start(daemon, "taker") == "pool")
            let gateway = try Self.docker(daemon, ["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "pooled"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let ping = try Self.docker(daemon, ["exec", "taker", "ping", "-c", "1", "-W", "10", gateway])
            #expect(ping.status == 0, "the pool VM's card is the container's, on its network: \(ping)")
            #expect(try Self.docker(daemon, ["exec", "taker", "cat", "/on-its-disk"]).stdout == "kept\n")
            #expect(try Self.docker(daemon, ["exec", "taker", "hostname"]).stdout == String(run.stdout.prefix(12)) + "\n")
            // Another clone takes the taken one's place; a container with a volume does not fit the pool.
            #expect(try Self.waiting(daemon, "1 waiting").hasSuffix("1 waiting"))
            #expect(try Self.docker(daemon, ["run", "--name", "sharer", "--isolation=vm", "-v", "data:/data", Self.image, "true"]).status == 0)
            #expect(try Self.start(daemon, "sharer") == "template")
            #expect(try Self.waiting(daemon, "1 waiting").hasSuffix("1 waiting"))
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.docker(daemon, ["rm", "-f", "taker", "sharer"]).status == 0)
            for _ in 0..<100 where Self.poolVMs(daemon) > 2 { usleep(50_000) }
            #expect(Self.poolVMs(daemon) == 2, "the taken VM ends with its container, the waiting ones stay")
            let taps = try Command.run(["ip", "-o", "link"]).stdout
            #expect(!taps.contains("vb" + id.prefix(9)), "\(taps)")
            // Waiting VMs are this berthd's: they end when it stops.
            let waitingTaps = ((try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vm-pool")) ?? []).map { "vp" + $0 }
            #expect(waitingTaps.count == 2, "\(waitingTaps)")
            _ = daemon.stop()
            #expect(Self.poolVMs(daemon) == 0)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vm-pool")) ?? []
            #expect(left.isEmpty, "\(left)")
            let links = try Command.run(["ip", "-o", "link"]).stdout
            #expect(!waitingTaps.contains { links.contains(" \($0):") }, "no pool TAP is left: \(links)")
        }
    }

    @Test func arm64VMsAreClonedToo() async throws {
        try ContainerLifecycleTests.armGuests()
        try await ContainerLifecycleTests.withImages { daemon in
            let platform = ["--platform", "linux/arm64", ContainerLifecycleTests.multiArchImage]
            #expect(try Self.docker(daemon, ["run", "--rm"] + platform + ["true"]).status == 0)
            #expect(Self.templates(daemon).count == 1)
            let clone = try Self.docker(daemon, ["run", "--name", "arm"] + platform + ["sh", "-c", "uname -m; date +%Y"])
            #expect(clone.stdout == "aarch64\n" + String(Calendar(identifier: .gregorian).component(.year, from: Date())) + "\n", "\(clone)")
            #expect(try Self.start(daemon, "arm") == "template")
        }
    }
}
