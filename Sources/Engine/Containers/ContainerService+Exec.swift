import APIModels
import Foundation
import Synchronization

extension ContainerService {
    public func createExec(_ reference: String, _ config: ExecConfig) throws -> String {
        let record = try find(reference)
        guard record.state.status == .running else {
            throw ContainerError.conflict(record.state.status == .paused
                ? "Container \(record.id) is paused, unpause the container before exec"
                : "Container \(record.id) is not running")
        }
        guard let command = config.Cmd, !command.isEmpty else { throw ContainerError.invalid("No exec command specified") }
        let id = Self.newID()
        execs[id] = ExecRecord(id: id, containerID: record.id, config: config)
        return id
    }

    public func exec(_ id: String) throws -> ExecRecord {
        guard let exec = execs[id] else { throw ContainerError.notFound("No such exec instance: \(id)") }
        return exec
    }

    /// Sets up the exec's process in the container, ready to start.
    func prepareExec(_ id: String) async throws -> (any ContainerProcess, ExecRecord) {
        var exec = try self.exec(id)
        guard !exec.running, exec.exitCode == nil else { throw ContainerError.conflict("Error: Exec command \(id) has already run") }
        let record = try find(exec.containerID)
        guard record.state.status == .running else { throw ContainerError.conflict("Container \(record.id) is not running") }
        let plan = try launchPlan(record)
        let process: any ContainerProcess
        do {
            process = try await runtime(for: record).launchExec(record, plan: plan, config: exec.config, execID: id)
        } catch {
            exec.exitCode = Self.execStartFailureCode
            execs[id] = exec
            throw Self.startFailure(error)
        }
        // Only the flag: a resize may have been recorded while the process was being set up.
        execs[id]?.running = true
        exec.running = true
        return (process, exec)
    }

    func execStarted(_ id: String, pid: Int32) async {
        execs[id]?.pid = pid
        if let exec = execs[id], let rows = exec.pendingRows, let columns = exec.pendingColumns {
            try? await execRuntime(exec).execProcess(containerID: exec.containerID, execID: id).resize(rows: rows, columns: columns)
        }
    }

    /// dockerd's exit code for an exec whose process never started, whatever the reason.
    static let execStartFailureCode: Int32 = 126

    /// Records the exit the exec's runtime recorded, and removes its files.
    func execFinished(_ id: String, reportedCode: Int32?, startFailed: Bool = false) {
        guard var exec = execs[id] else { return }
        let runtime = execRuntime(exec)
        exec.exitCode = startFailed
            ? Self.execStartFailureCode
            : runtime.recordedExecExit(containerID: exec.containerID, execID: id) ?? reportedCode ?? Self.execStartFailureCode
        exec.running = false
        execs[id] = exec
        runtime.removeExecFiles(containerID: exec.containerID, execID: id)
    }

    /// The runtime of the exec's container (the native one when the container is gone: an exec's
    /// files are the same for both).
    func execRuntime(_ exec: ExecRecord) -> any ContainerRuntime {
        (try? find(exec.containerID)).map(runtime(for:)) ?? runtimes.native
    }

    /// Signals a running exec's process (the CRI's ExecSync ends one that outlived its timeout).
    public func killExec(_ id: String, signal: Int32) async throws {
        let exec = try exec(id)
        guard exec.running else { throw ContainerError.conflict("exec \(id) is not running") }
        try await execRuntime(exec).execProcess(containerID: exec.containerID, execID: id).kill(signal: signal)
    }

    /// Starts an exec in the background; its exit code is recorded when it ends.
    public func startExecDetached(_ id: String) async throws {
        let (process, _) = try await prepareExec(id)
        do {
            await execStarted(id, pid: try await process.start())
        } catch {
            execFinished(id, reportedCode: nil, startFailed: true)
            throw Self.startFailure(error)
        }
        Task { [self] in
            let code = try? await process.wait()
            execFinished(id, reportedCode: code)
        }
    }

    /// Starts an exec with its stdio attached; returns once its output has ended and its exit is
    /// recorded, or at once when `body` says the client detached (its exit is recorded when it comes).
    public nonisolated func startExecAttached(
        _ id: String, _ body: @escaping @Sendable (ContainerAttachment) async throws -> Bool
    ) async throws {
        let (process, exec) = try await prepareExec(id)
        let detached = Mutex(false)
        do {
            try await process.attach(stdin: exec.config.AttachStdin == true, stdout: exec.config.AttachStdout != false,
                                     stderr: exec.config.AttachStderr != false, stdinOnce: exec.config.Tty != true) { attachment in
                await self.execStarted(id, pid: try await process.start())
                let clientDetached = try await body(attachment)
                detached.withLock { $0 = clientDetached }
            }
        } catch {
            // Once started, a failing stream is the client's connection going, not the exec failing:
            // the process runs on, and its exit is recorded when it comes.
            if (try? await self.exec(id))?.pid ?? 0 > 0 {
                Task { [self] in
                    let code = try? await process.wait()
                    await execFinished(id, reportedCode: code)
                }
                throw ContainerError.translating(error)
            }
            await execFinished(id, reportedCode: nil, startFailed: true)
            throw Self.startFailure(error)
        }
        if detached.withLock({ $0 }) {
            Task { [self] in
                let code = try? await process.wait()
                await execFinished(id, reportedCode: code)
            }
            return
        }
        let code = await Self.recordedExit(of: id, in: exec.containerID, runtime: await execRuntime(exec))
        await execFinished(id, reportedCode: code)
    }

    /// An exec's exit once its output has ended: the shim records the exit before it ends the output,
    /// so this waits only a moment for the record's rename to land (nil after a second without one).
    nonisolated static func recordedExit(of execID: String, in containerID: String, runtime: any ContainerRuntime) async -> Int32? {
        for _ in 0..<100 {
            if let recorded = runtime.recordedExecExit(containerID: containerID, execID: execID) { return recorded }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Clients resize as soon as they have the stream's head, which can be before the process exists.
    public func resizeExec(_ id: String, rows: Int, columns: Int) async throws {
        var exec = try self.exec(id)
        guard exec.exitCode == nil else { throw ContainerError.conflict("Exec \(id) is not running") }
        guard exec.running, exec.pid > 0 else {
            exec.pendingRows = rows
            exec.pendingColumns = columns
            execs[id] = exec
            return
        }
        try await ContainerError.translatingErrors {
            try await execRuntime(exec).execProcess(containerID: exec.containerID, execID: id).resize(rows: rows, columns: columns)
        }
    }
}
