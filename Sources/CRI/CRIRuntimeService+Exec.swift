import APIModels
import CRIProtocol
import Engine
import Foundation
import GRPCCore
import NIOCore
import Synchronization

/// Commands run in a pod's containers: ExecSync gathers a command's output and exit code.
extension CRIRuntimeService {
    public func execSync(request: Runtime_V1_ExecSyncRequest, context: ServerContext) async throws -> Runtime_V1_ExecSyncResponse {
        try await CRIError.answering {
            let record = try await podContainer(request.containerID)
            guard !request.cmd.isEmpty else { throw CRIError.missing("cmd") }
            var config = ExecConfig()
            config.Cmd = request.cmd
            config.AttachStdout = true
            config.AttachStderr = true
            config.Tty = false
            let execID = try await containers.createExec(record.id, config)
            let output = DemultiplexedOutput()
            let containers = containers
            let run: @Sendable () async throws -> Void = {
                try await containers.startExecAttached(execID) { attachment in
                    var stream = attachment.output
                    while let chunk = try await stream.next() { output.append(chunk) }
                    return false
                }
            }
            if request.timeout > 0 {
                let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask { try await run(); return true }
                    group.addTask { try await Task.sleep(for: .seconds(request.timeout)); return false }
                    let first = try await group.next() ?? false
                    if !first { try? await containers.killExec(execID, signal: SIGKILL) }
                    try await group.waitForAll()
                    return first
                }
                guard finished else {
                    throw RPCError(code: .deadlineExceeded, message: "command \(request.cmd) timed out after \(request.timeout) s")
                }
            } else {
                try await run()
            }
            let exec = try await containers.exec(execID)
            return .with {
                $0.stdout = output.stdout
                $0.stderr = output.stderr
                $0.exitCode = exec.exitCode ?? -1
            }
        }
    }
}

/// Standard output and standard error gathered whole from Docker's multiplexed stream.
final class DemultiplexedOutput: Sendable {
    private struct State {
        var demultiplexer = DockerStreamDemultiplexer()
        var stdout = Data()
        var stderr = Data()
    }

    private let state = Mutex(State())

    var stdout: Data { state.withLock { $0.stdout } }
    var stderr: Data { state.withLock { $0.stderr } }

    func append(_ chunk: ByteBuffer) {
        state.withLock { state in
            for (stream, payload) in state.demultiplexer.split(chunk) {
                switch stream {
                case .stdout: state.stdout.append(contentsOf: payload.readableBytesView)
                case .stderr: state.stderr.append(contentsOf: payload.readableBytesView)
                }
            }
        }
    }
}
