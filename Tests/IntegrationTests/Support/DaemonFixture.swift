import Foundation

/// A real berthd on a temp root and socket, stopped (by pid) and cleaned up however the test ends.
final class DaemonFixture: @unchecked Sendable {
    let scratch: String
    let root: String
    let execRoot: String
    let socketPath: String
    let logPath: String
    private(set) var process: Process?

    var host: String { "unix://\(socketPath)" }
    var pid: Int32 { process?.processIdentifier ?? 0 }

    init(scratch: String? = nil) throws {
        self.scratch = try scratch ?? TestPaths.makeScratch("daemon")
        root = self.scratch + "/root"
        execRoot = self.scratch + "/run"
        socketPath = execRoot + "/berth.sock"
        logPath = self.scratch + "/berthd.log"
    }

    /// Runs `body` against a started daemon; always stops it and removes its files.
    static func with<T>(_ body: (DaemonFixture) async throws -> T) async throws -> T {
        let daemon = try DaemonFixture()
        defer { daemon.tearDown() }
        try daemon.start()
        return try await body(daemon)
    }

    var arguments: [String] {
        [TestPaths.berthd, "--root", root, "--exec-root", execRoot, "--socket", socketPath, "--log-level", "debug"]
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
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
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
        TestPaths.removeScratch(scratch)
    }

    /// Runs the berth CLI against this daemon.
    func berth(_ arguments: [String], timeout: TimeInterval = 60) throws -> Command.Result {
        try Command.run([TestPaths.berth, "-H", host] + arguments, timeout: timeout)
    }
}
