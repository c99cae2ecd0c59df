import CLinux
import Foundation
import SystemSupport

/// Starts `berth-shim` for one container and reads its one-line verdict: the container is set up
/// and waits for `start`, or setup failed with an exit code (125, 126, 127) and a reason.
public struct ShimLauncher: Sendable {
    public let shimPath: String
    /// How long setup may take (mounts, cgroups, the command's lookup) before the shim is ended.
    public let setupTimeout: Duration

    public init(shimPath: String, setupTimeout: Duration = .seconds(60)) {
        self.shimPath = shimPath
        self.setupTimeout = setupTimeout
    }

    /// Blocks until the shim answers; run it off the cooperative pool.
    public func launch(specPath: String, diagnosticsPath: String) throws -> ShimProcess {
        var report: [Int32] = [0, 0]
        guard berth_pipe_cloexec(&report) == 0 else { throw ShimError.spawn(SystemError.text(errno)) }
        let diagnostics = open(diagnosticsPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { if diagnostics >= 0 { close(diagnostics) } }
        var pid: pid_t = 0
        let arguments = [shimPath, specPath]
        let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let spawned = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                berth_spawn(shimPath, argv, envp, report[1], diagnostics >= 0 ? diagnostics : report[1], &pid)
            }
        }
        close(report[1])
        defer { close(report[0]) }
        guard spawned == 0 else { throw ShimError.spawn("\(shimPath): \(SystemError.text(spawned))") }
        // The first shim process forks the long-lived one and exits at once; reap it.
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let deadline = ContinuousClock.now + setupTimeout
        let first = readLine(report[0], until: deadline)
        guard first.hasPrefix("shim "), let shim = Int32(first.dropFirst(5)) else {
            return try verdict(first)
        }
        let line = readLine(report[0], until: deadline)
        if line.isEmpty, ContinuousClock.now >= deadline {
            // Its container init goes with it: it is the shim's child, set to die with its parent.
            kill(shim, SIGKILL)
            throw ShimError.setup(code: 125, message: "container setup did not finish within \(setupTimeout)")
        }
        return try verdict(line)
    }

    private func verdict(_ line: String) throws -> ShimProcess {
        let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
        if fields.first == "ready", fields.count == 3, let shimPID = Int32(fields[1]), let containerPID = Int32(fields[2]) {
            return ShimProcess(shimPID: shimPID, containerPID: containerPID)
        }
        if fields.first == "error", fields.count >= 2, let code = Int32(fields[1]) {
            throw ShimError.setup(code: code, message: fields.count == 3 ? fields[2] : "container setup failed")
        }
        throw ShimError.spawn("berth-shim ended without a report\(line.isEmpty ? "" : ": \(line)")")
    }

    /// One line, or what arrived of it when the pipe closes or the deadline passes.
    private func readLine(_ fd: Int32, until deadline: ContinuousClock.Instant) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 8192 {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { break }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1,
                                         Int64(Int32.max)))
            let polled = poll(&ready, 1, milliseconds)
            if polled < 0 && errno == EINTR { continue }
            if polled <= 0 { break }
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A running shim and the container init it parents, as host pids.
public struct ShimProcess: Sendable, Equatable {
    public var shimPID: Int32
    public var containerPID: Int32
}

public enum ShimError: Error, CustomStringConvertible, Equatable {
    case spawn(String)
    /// Setup or exec failed; `code` is Docker's exit code for it (125, 126 not executable, 127 not found).
    case setup(code: Int32, message: String)
    case protocolError(String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .spawn(let message): return "starting the shim: \(message)"
        case .setup(_, let message): return message
        case .protocolError(let message): return "shim: \(message)"
        case .unreachable(let path): return "the container's shim is gone (\(path))"
        }
    }
}

func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
