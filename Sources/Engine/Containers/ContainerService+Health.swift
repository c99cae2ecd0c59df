import APIModels
import Foundation
import NIOCore
import OCI
import Synchronization

extension ContainerService {
    /// The container's healthcheck (its config holds the image's, merged at creation); nil without
    /// one. Only a `CMD-SHELL` probe of a container without a SHELL of its own reads the image.
    func healthcheckPolicy(for record: ContainerRecord) -> HealthcheckPolicy? {
        guard let settings = record.config.Healthcheck, let kind = settings.Test?.first, kind != "NONE" else { return nil }
        var shell = record.config.Shell
        if shell == nil, kind == "CMD-SHELL" {
            let image = (try? Digest(parsing: record.imageID)).flatMap { try? images.catalog.image(id: $0) }
            shell = image.flatMap { try? images.config(of: $0).config?.Shell }
        }
        return HealthcheckPolicy(container: settings, image: nil, shell: shell)
    }

    /// Probes the container on the policy's interval (the start interval within the start period,
    /// until a verdict) for as long as it runs; a paused container is not probed.
    func startHealthMonitor(_ id: String, policy: HealthcheckPolicy, startedAt: Date) {
        healthMonitors.removeValue(forKey: id)?.cancel()
        healthMonitors[id] = Task { [weak self] in
            while !Task.isCancelled, let self {
                let starting = await self.isInStartPeriod(id, policy: policy, startedAt: startedAt)
                try? await Task.sleep(for: starting ? policy.startInterval : policy.interval)
                guard !Task.isCancelled, let record = try? await self.find(id), record.state.status != .paused else {
                    if Task.isCancelled { return }
                    continue
                }
                guard record.state.status == .running else { return }
                let ranAt = Date()
                let result = await self.probe(record, policy: policy)
                guard !Task.isCancelled else { return }
                await self.recordProbe(id, result, ranAt: ranAt, startedAt: startedAt, policy: policy)
            }
        }
    }

    private func isInStartPeriod(_ id: String, policy: HealthcheckPolicy, startedAt: Date) -> Bool {
        guard policy.startPeriod > .zero, (try? find(id))?.state.health?.Status == .starting else { return false }
        return Date() < startedAt.addingTimeInterval(Double(policy.startPeriod.components.seconds))
    }

    /// Keeps the probe's result and the verdict it leads to; a change of verdict is an event.
    private func recordProbe(_ id: String, _ result: HealthcheckResult, ranAt: Date, startedAt: Date,
                             policy: HealthcheckPolicy) async {
        guard var record = try? find(id), record.state.status == .running || record.state.status == .paused else { return }
        let before = record.state.health ?? ContainerHealth()
        let after = HealthcheckPolicy.record(result, startedAt: startedAt, ranAt: ranAt, into: before, policy: policy)
        record.state.health = after
        try? catalog.updateState(id, record.state)
        if after.Status != before.Status {
            await publish("health_status: \(after.Status.rawValue)", record)
        }
    }

    /// One probe: the command exec'd in the container (its namespaces, cgroups and confinement, as
    /// any exec), its output kept up to Docker's limit, killed when it outlasts the timeout.
    func probe(_ record: ContainerRecord, policy: HealthcheckPolicy) async -> HealthcheckResult {
        let start = Date()
        func result(_ code: Int, _ output: String) -> HealthcheckResult {
            HealthcheckResult(Start: ContainerTime.rfc3339(start), End: ContainerTime.rfc3339(Date()), ExitCode: code, Output: output)
        }
        var config = ExecConfig()
        config.Cmd = policy.command
        config.AttachStdout = true
        config.AttachStderr = true
        let execID = Self.newID()
        let runtime = runtime(for: record)
        let process: any ContainerProcess
        do {
            process = try await runtime.launchExec(record, plan: try launchPlan(record), config: config, execID: execID)
        } catch {
            return result(-1, "\(Self.startFailure(error))")
        }
        defer { runtime.removeExecFiles(containerID: record.id, execID: execID) }
        let containerID = record.id
        let started = Mutex<Int32>(0)
        let outcome = await withTaskGroup(of: (code: Int, output: String)?.self) { group in
            group.addTask {
                do {
                    let output = try await process.attach(stdin: false, stdout: true, stderr: true, stdinOnce: false) { attachment in
                        let pid = try await process.start()
                        started.withLock { $0 = pid }
                        var text = ProbeOutput()
                        var output = attachment.output
                        while let chunk = try await output.next() { text.append(chunk) }
                        return text.text
                    }
                    // The exec's shim goes once its exit is recorded: the record, not the shim, answers.
                    let code = await Self.recordedExit(of: execID, in: containerID, runtime: runtime)
                    return (code.map(Int.init) ?? -1, output)
                } catch {
                    return (-1, "\(Self.startFailure(error))")
                }
            }
            group.addTask {
                try? await Task.sleep(for: policy.timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                try? await process.kill(signal: SIGKILL)
                // What the probe started goes too: it leads a process group of its own (a session).
                let pid = started.withLock { $0 }
                if pid > 0, runtime.capabilities.contains(.hostProcesses) { Glibc.kill(-pid, SIGKILL) }
            }
            group.cancelAll()
            return first
        }
        guard let outcome else {
            return result(-1, "Health check exceeded timeout (\(policy.timeout.components.seconds)s)")
        }
        return result(outcome.code, outcome.output)
    }
}

/// A probe's output from the exec's stdout and stderr frames, both streams in order, up to
/// Docker's 4 KiB.
struct ProbeOutput {
    private var pending: [UInt8] = []
    private var kept: [UInt8] = []

    mutating func append(_ chunk: ByteBuffer) {
        pending += chunk.readableBytesView
        // Each frame: stream, three zero bytes, a big-endian length, then that many bytes.
        while pending.count >= 8 {
            let length = pending[4..<8].reduce(0) { $0 << 8 | Int($1) }
            guard pending.count >= 8 + length else { return }
            if kept.count < HealthcheckPolicy.outputLimit {
                kept += pending[8..<(8 + min(length, HealthcheckPolicy.outputLimit - kept.count))]
            }
            pending.removeFirst(8 + length)
        }
    }

    var text: String { String(decoding: kept, as: UTF8.self) }
}
