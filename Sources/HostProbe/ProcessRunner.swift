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

        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in continuation.yield(); continuation.finish() }
        }
        try process.run()
        let pid = process.processIdentifier
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exited { return false }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            if first {
                // Only our own child, by pid: a hung guest is killed, nothing else.
                kill(pid, SIGKILL)
            }
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Outcome(exitStatus: timedOut ? nil : process.terminationStatus, output: output)
    }
}
