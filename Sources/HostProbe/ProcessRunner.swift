import Foundation

/// Runs a helper program (fork+exec through Foundation's posix_spawn), with a deadline.
enum ProcessRunner {
    struct Outcome {
        /// nil when the deadline passed and the process was killed.
        var exitStatus: Int32?
        var output: String
    }

    static func run(_ path: String, _ arguments: [String], timeout: Duration) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice

        let deadline = DeadlineKill()
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                deadline.markExited()
                continuation.finish()
            }
        }
        try process.run()
        // The deadline runs on a dispatch timer, not a Swift task, so a busy cooperative pool
        // cannot delay it; it kills only our own child, by pid, and only while it still runs.
        deadline.arm(pid: process.processIdentifier, after: timeout.timeInterval)
        for await _ in exited {}
        deadline.item.cancel()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Outcome(exitStatus: deadline.fired ? nil : process.terminationStatus, output: output)
    }
}

private final class DeadlineKill: @unchecked Sendable {
    private let lock = NSLock()
    private var didFire = false
    private var didExit = false
    private(set) var item = DispatchWorkItem {}

    func arm(pid: pid_t, after seconds: TimeInterval) {
        item = DispatchWorkItem { [self] in
            lock.withLock {
                guard !didExit else { return }
                didFire = true
                kill(pid, SIGKILL)
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
    }

    func markExited() {
        lock.withLock { didExit = true }
    }

    var fired: Bool { lock.withLock { didFire } }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
