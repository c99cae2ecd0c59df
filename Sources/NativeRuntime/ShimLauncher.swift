import CLinux
import Foundation

/// Starts `berth-shim` for one container and reads its one-line verdict: the container is set up
/// and waits for `start`, or setup failed with an exit code (125, 126, 127) and a reason.
public struct ShimLauncher: Sendable {
    public let shimPath: String

    public init(shimPath: String) {
        self.shimPath = shimPath
    }

    /// Blocks until the shim answers; run it off the cooperative pool.
    public func launch(specPath: String, diagnosticsPath: String) throws -> ShimProcess {
        var report: [Int32] = [0, 0]
        guard berth_pipe_cloexec(&report) == 0 else { throw ShimError.spawn(String(cString: strerror(errno))) }
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
        guard spawned == 0 else { throw ShimError.spawn("\(shimPath): \(String(cString: strerror(spawned)))") }
        // The first shim process forks the long-lived one and exits at once; reap it.
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let line = readLine(report[0])
        let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
        if fields.first == "ready", fields.count == 3, let shimPID = Int32(fields[1]), let containerPID = Int32(fields[2]) {
            return ShimProcess(shimPID: shimPID, containerPID: containerPID)
        }
        if fields.first == "error", fields.count >= 2, let code = Int32(fields[1]) {
            throw ShimError.setup(code: code, message: fields.count == 3 ? fields[2] : "container setup failed")
        }
        throw ShimError.spawn("berth-shim ended without a report\(line.isEmpty ? "" : ": \(line)")")
    }

    private func readLine(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 8192 {
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
