import Foundation
import NativeRuntime

/// The part both runtimes share: each container (and each exec) is held by a `berth-shim` that
/// outlives berthd, launched from a spec file and reached on its control socket; it writes the
/// exit record when the process ends.
struct ShimHost: Sendable {
    let launcher: ShimLauncher
    let paths: ContainerPaths

    /// Writes the container's spec and launches its shim; returns once the process is set up.
    func launch(_ spec: LaunchSpec, containerID id: String) async throws -> ShimProcess {
        unlink(paths.exit(id))
        // A runtime file, read once right away: written whole, but not worth an fsync.
        try spec.encoded().write(to: URL(fileURLWithPath: paths.spec(id)), options: .atomic)
        let launcher = launcher, specPath = paths.spec(id), diagnostics = paths.shimDiagnostics(id)
        return try await runBlocking { try launcher.launch(specPath: specPath, diagnosticsPath: diagnostics) }
    }

    func launchExec(_ spec: LaunchSpec, containerID id: String, execID: String) async throws -> any ContainerProcess {
        let specPath = paths.execSpec(id, execID)
        try spec.encoded().write(to: URL(fileURLWithPath: specPath), options: .atomic)
        let launcher = launcher, diagnostics = paths.shimDiagnostics(id)
        do {
            _ = try await runBlocking { try launcher.launch(specPath: specPath, diagnosticsPath: diagnostics) }
        } catch {
            unlink(specPath)
            throw error
        }
        return execProcess(containerID: id, execID: execID)
    }

    func process(of id: String) -> any ContainerProcess { ShimClient(socketPath: paths.socket(id)) }

    func execProcess(containerID: String, execID: String) -> any ContainerProcess {
        ShimClient(socketPath: paths.execSocket(containerID, execID))
    }

    func recordedExit(of id: String) -> ExitRecord? { ExitRecord.read(paths.exit(id)) }

    func recordedExecExit(containerID: String, execID: String) -> Int32? {
        ExitRecord.read(paths.execExit(containerID, execID))?.code
    }

    func removeExecFiles(containerID: String, execID: String) {
        unlink(paths.execExit(containerID, execID))
        unlink(paths.execSpec(containerID, execID))
    }

    /// The shim is still there (its pid not reused by another program) and answers on its socket's path.
    func isStillRunning(_ record: ContainerRecord) -> Bool {
        let pid = record.state.shimPID
        guard pid > 0, Glibc.kill(pid, 0) == 0 else { return false }
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return command.contains("berth-shim") && FileManager.default.fileExists(atPath: paths.socket(record.id))
    }
}

/// A runtime whose containers and execs are held by shims: reaching their processes, exit records
/// and liveness is the same whatever the shim runs them in.
protocol ShimHostedRuntime: ContainerRuntime {
    var shims: ShimHost { get }
}

extension ShimHostedRuntime {
    func process(of id: String) -> any ContainerProcess { shims.process(of: id) }

    func recordedExit(of id: String) -> ExitRecord? { shims.recordedExit(of: id) }

    func isStillRunning(_ record: ContainerRecord) -> Bool { shims.isStillRunning(record) }

    func execProcess(containerID: String, execID: String) -> any ContainerProcess {
        shims.execProcess(containerID: containerID, execID: execID)
    }

    func recordedExecExit(containerID: String, execID: String) -> Int32? {
        shims.recordedExecExit(containerID: containerID, execID: execID)
    }

    func removeExecFiles(containerID: String, execID: String) {
        shims.removeExecFiles(containerID: containerID, execID: execID)
    }
}

extension ShimClient: ContainerProcess {
    public func attach<Result: Sendable>(
        stdin: Bool, stdout: Bool, stderr: Bool, stdinOnce: Bool,
        _ body: @escaping @Sendable (ContainerAttachment) async throws -> Result
    ) async throws -> Result {
        try await attach(stdin: stdin, stdout: stdout, stderr: stderr, stdinOnce: stdinOnce) { (session: ShimAttachment) in
            try await body(ContainerAttachment(session))
        }
    }
}
