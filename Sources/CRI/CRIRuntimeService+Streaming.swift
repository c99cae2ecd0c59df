import CRIProtocol
import Engine
import GRPCCore

/// The streaming calls: each checks its target and answers with a URL on the streaming server,
/// where the client's SPDY connection carries the streams.
extension CRIRuntimeService {
    public func exec(request: Runtime_V1_ExecRequest, context: ServerContext) async throws -> Runtime_V1_ExecResponse {
        try await CRIError.answering {
            let record = try await runningPodContainer(request.containerID)
            guard !request.cmd.isEmpty else { throw CRIError.missing("cmd") }
            let streams = try Self.streams(stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, tty: request.tty)
            return try .with { $0.url = try streaming.url(for: .exec(containerID: record.id, command: request.cmd, streams: streams)) }
        }
    }

    public func attach(request: Runtime_V1_AttachRequest, context: ServerContext) async throws -> Runtime_V1_AttachResponse {
        try await CRIError.answering {
            let record = try await runningPodContainer(request.containerID)
            let streams = try Self.streams(stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, tty: request.tty)
            // The container's output is a terminal's or two streams from its start; the client must read it as such.
            guard request.tty == (record.config.Tty ?? false) else {
                throw CRIError.invalid("tty must be \(record.config.Tty ?? false), as the container's")
            }
            return try .with { $0.url = try streaming.url(for: .attach(containerID: record.id, streams: streams)) }
        }
    }

    public func portForward(request: Runtime_V1_PortForwardRequest, context: ServerContext) async throws -> Runtime_V1_PortForwardResponse {
        try await CRIError.answering {
            guard let sandbox = try await sandbox(request.podSandboxID) else {
                throw RPCError(code: .notFound, message: "no pod sandbox \(request.podSandboxID)")
            }
            guard sandbox.state.status == .running else {
                throw RPCError(code: .failedPrecondition, message: "pod sandbox \(sandbox.id) is not ready")
            }
            return try .with { $0.url = try streaming.url(for: .portForward(sandboxID: sandbox.id)) }
        }
    }

    private func runningPodContainer(_ id: String) async throws -> ContainerRecord {
        let record = try await podContainer(id)
        guard record.state.status == .running else {
            throw RPCError(code: .failedPrecondition, message: "container \(record.id) is not running")
        }
        return record
    }

    /// kubelet's rules for the streams a call asks for.
    private static func streams(stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) throws -> RemoteCommandStreams {
        guard stdin || stdout || stderr else { throw CRIError.invalid("one of stdin, stdout, or stderr must be set") }
        guard !(tty && stderr) else { throw CRIError.invalid("tty and stderr cannot both be true") }
        return RemoteCommandStreams(stdin: stdin, stdout: stdout, stderr: stderr, tty: tty)
    }
}
