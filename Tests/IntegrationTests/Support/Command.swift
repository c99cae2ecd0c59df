import Foundation

/// Runs a program to completion (or a deadline), capturing its output.
struct Command {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    /// Runs `arguments[0]` (looked up in PATH) with the rest as arguments.
    @discardableResult
    static func run(
        _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
        timeout: TimeInterval = 120
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        let outputs = OutputCollector()
        let group = DispatchGroup()
        for (pipe, isError) in [(stdout, false), (stderr, true)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                outputs.set(data, isError: isError)
                group.leave()
            }
        }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        group.wait()
        return Result(
            status: process.terminationStatus, stdout: outputs.text(isError: false),
            stderr: outputs.text(isError: true), timedOut: timedOut)
    }

    /// Runs and requires exit status 0, reporting the output otherwise.
    @discardableResult
    static func succeed(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 300) throws -> String {
        let result = try run(arguments, environment: environment, timeout: timeout)
        guard result.status == 0, !result.timedOut else {
            throw TestFailure("\(arguments.joined(separator: " ")) exited \(result.status)\(result.timedOut ? " (timed out)" : ""): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }
}

private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stdout = Data()
    private var stderr = Data()

    func set(_ data: Data, isError: Bool) {
        lock.withLock { if isError { stderr = data } else { stdout = data } }
    }

    func text(isError: Bool) -> String {
        lock.withLock { String(decoding: isError ? stderr : stdout, as: UTF8.self) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
