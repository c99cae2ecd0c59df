import Foundation
import VMRuntime

/// A real berthd on a temp root and socket, stopped (by pid) and cleaned up however the test ends.
final class DaemonFixture: @unchecked Sendable {
    let scratch: String
    let root: String
    let execRoot: String
    let socketPath: String
    let logPath: String
    private(set) var process: Process?
    /// The bridges and subnets the daemon had each time it was stopped, for the tear-down.
    private var networksSeen: [(bridge: String, subnet: String)] = []
    /// berthd flags beyond the paths, e.g. `--userns-remap`.
    let options: [String]
    /// The namespace berthd runs in; nil for the host's own.
    let network: IsolatedNetwork?

    var host: String { "unix://\(socketPath)" }
    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// The default network's bridge and gateway: this daemon's own, so daemons of tests running
    /// side by side never share one.
    let bridge: String
    let bridgeAddress: String

    init(scratch: String? = nil, options: [String] = [], network: IsolatedNetwork? = nil) throws {
        self.network = network
        let tag = UInt32.random(in: 0...UInt32.max)
        bridge = "berth-t" + String(format: "%08x", tag)
        bridgeAddress = "10.\(200 + tag % 50).\(tag >> 8 & 0xff).1/24"
        self.options = options
        self.scratch = try scratch ?? TestPaths.makeScratch("daemon")
        root = self.scratch + "/root"
        execRoot = self.scratch + "/run"
        socketPath = execRoot + "/berth.sock"
        logPath = self.scratch + "/berthd.log"
    }

    /// Runs `body` against a started daemon; always stops it and removes its files.
    static func with<T>(options: [String] = [], network: IsolatedNetwork? = nil,
                        _ body: (DaemonFixture) async throws -> T) async throws -> T {
        let daemon = try DaemonFixture(options: options, network: network)
        defer { daemon.tearDown() }
        try daemon.start()
        return try await body(daemon)
    }

    var arguments: [String] {
        [TestPaths.berthd, "--root", root, "--exec-root", execRoot, "--socket", socketPath, "--log-level", "debug",
         "--bridge", bridge, "--bip", bridgeAddress] + options
    }

    func start() throws {
        let process = try launch()
        self.process = process
        try waitUntilServing(process)
    }

    /// Starts another berthd process with the same flags, not waiting for it.
    func launch() throws -> Process {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let process = Process()
        // `ip netns exec` enters the namespace and execs berthd: the pid stays berthd's.
        let launch = network?.command(arguments) ?? arguments
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = launch
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func waitUntilServing(_ process: Process) throws {
        // The first start on a machine runs the KVM boot test (up to 8 s); later ones hit its cache.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else {
                throw TestFailure("berthd exited \(process.terminationStatus) during start:\n\(log)")
            }
            if let reply = try? RawSocket.exchange(socketPath, Data("GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 2),
               String(decoding: reply, as: UTF8.self).hasPrefix("HTTP/1.1 200") {
                return
            }
            usleep(50_000)
        }
        throw TestFailure("berthd did not answer on \(socketPath) within 60 s:\n\(log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    func stop(timeout: TimeInterval = 20) -> Int32? {
        guard let process, process.isRunning else { return process?.terminationStatus }
        // A test that stops the daemon itself leaves its networks for the tear-down to remove.
        networksSeen += networksMade()
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    func signal(_ number: Int32) {
        if let process, process.isRunning { kill(process.processIdentifier, number) }
    }

    func tearDown() {
        stop()
        removeContainers()
        removeNetworks(networksSeen)
        TestPaths.removeScratch(scratch)
    }

    /// The bridges and subnets of this daemon's networks, asked before it stops.
    private func networksMade() -> [(bridge: String, subnet: String)] {
        guard let reply = try? RawSocket.exchange(socketPath, Data("GET /networks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5),
              let body = String(decoding: reply, as: UTF8.self).components(separatedBy: "\r\n\r\n").dropFirst().first,
              let networks = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] else {
            return [(bridge, bridgeAddress)]
        }
        var made = [(bridge, bridgeAddress)]
        for network in networks where network["Driver"] as? String == "bridge" {
            let ipam = (network["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]]
            let named = (network["Options"] as? [String: String])?["com.docker.network.bridge.name"]
            made.append((named ?? "berth-" + ((network["Id"] as? String) ?? "").prefix(9), ipam?.first?["Subnet"] as? String ?? ""))
        }
        return made
    }

    /// Bridges, every Berth rule naming one of them, and the port rules (which name no interface) with
    /// an address of their subnets. A rule naming another bridge is another daemon's, even on the same subnet.
    private func removeNetworks(_ networks: [(bridge: String, subnet: String)]) {
        for table in ["nat", "filter"] {
            let rules = (try? Command.run(["iptables-save", "-t", table]).stdout) ?? ""
            for line in rules.split(separator: "\n") where line.hasPrefix("-A BERTH-") {
                let namesAnInterface = line.contains(" -i ") || line.contains(" -o ")
                guard networks.contains(where: { network in
                    line.contains(" \(network.bridge) ") || line.hasSuffix(" \(network.bridge)")
                        || (!namesAnInterface && line.contains(Self.subnetPrefix(network.subnet)))
                }) else { continue }
                _ = try? Command.run(["iptables", "-w", "-t", table, "-D"] + line.dropFirst(3).split(separator: " ").map(String.init))
            }
        }
        // IPv6 networks' forwarding rules, in ip6tables.
        let ipv6Rules = (try? Command.run(["ip6tables-save", "-t", "filter"]).stdout) ?? ""
        for line in ipv6Rules.split(separator: "\n") where line.hasPrefix("-A BERTH-") {
            guard networks.contains(where: { line.contains(" \($0.bridge) ") || line.hasSuffix(" \($0.bridge)") }) else { continue }
            _ = try? Command.run(["ip6tables", "-w", "-t", "filter", "-D"] + line.dropFirst(3).split(separator: " ").map(String.init))
        }
        for network in networks { _ = try? Command.run(["ip", "link", "delete", network.bridge]) }
    }

    /// The leading octets a subnet's addresses share in text ("10.201.7." for a /24).
    static func subnetPrefix(_ subnet: String) -> String {
        let parts = subnet.split(separator: "/")
        let length = parts.count == 2 ? Int(parts[1]) ?? 32 : 32
        let octets = parts.first?.split(separator: ".") ?? []
        let kept = max(1, min(3, length / 8))
        guard octets.count == 4 else { return "\u{0}" }
        return " " + octets.prefix(kept).joined(separator: ".") + "."
    }

    /// What a failed test may leave: container processes (found by their cgroups), shims (by a
    /// command line naming this daemon's exec root), the cgroups themselves, and utility VMs.
    /// Found from the containers' directories, so a test that mounts the root calls it before unmounting.
    func removeContainers() {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers")) ?? []
        if let hypervisor = try? LibvirtHypervisor(uri: "qemu:///system") {
            for id in ids { try? hypervisor.destroy("berth-\(id.prefix(12))") }
        }
        let controllers = ["memory", "cpu", "cpuacct", "pids", "freezer", "devices", "blkio", "cpuset", "unified"]
        let cgroups = ids.flatMap { id in controllers.map { "/sys/fs/cgroup/\($0)/berth/\(id)" } }
            .filter { FileManager.default.fileExists(atPath: $0) }
        for cgroup in cgroups where cgroup.contains("/freezer/") {
            try? "THAWED".write(toFile: cgroup + "/freezer.state", atomically: false, encoding: .utf8)
        }
        for cgroup in cgroups {
            let procs = (try? String(contentsOfFile: cgroup + "/cgroup.procs", encoding: .utf8)) ?? ""
            for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        let shimPrefix = "berth-shim\0\(execRoot)/"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let cmdline = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { continue }
            // Shims, and the QEMUs berthd ran itself (template builds and clones), whose pid files are under the root.
            if cmdline.contains(shimPrefix) || (cmdline.contains("qemu-system") && cmdline.contains("-pidfile\0\(root)/")) { kill(pid, SIGKILL) }
        }
        for cgroup in cgroups {
            for _ in 0..<50 where rmdir(cgroup) != 0 && errno == EBUSY { usleep(20_000) }
        }
        // Pinned network namespaces (and any other mount under the daemon's roots) hold their veths:
        // detached, deepest first, they go with them.
        let mounts = ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { line in line.split(separator: " ").dropFirst().first.map(String.init) }
            .filter { $0.hasPrefix(execRoot + "/") || $0.hasPrefix(root + "/") }
        for mountPoint in mounts.sorted(by: { $0.count > $1.count }) { umount2(mountPoint, Int32(MNT_DETACH)) }
    }

    /// Runs the berth CLI against this daemon.
    func berth(_ arguments: [String], timeout: TimeInterval = 60) throws -> Command.Result {
        try Command.run([TestPaths.berth, "-H", host] + arguments, timeout: timeout)
    }

    /// A build context under the scratch directory holding only `dockerfile`; its path.
    func buildContext(_ name: String = "context", dockerfile: String) throws -> String {
        let context = scratch + "/" + name
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try dockerfile.write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
        return context
    }
}
