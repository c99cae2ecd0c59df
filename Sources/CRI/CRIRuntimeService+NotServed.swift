import CRIProtocol
import GRPCCore

/// The RuntimeService's streaming calls, which berthd does not serve yet: each answers
/// UNIMPLEMENTED, the status gRPC gives a method a server lacks.
extension CRIRuntimeService {
    public func exec(request: Runtime_V1_ExecRequest, context: ServerContext) async throws -> Runtime_V1_ExecResponse {
        throw Self.notServed("Exec")
    }

    public func attach(request: Runtime_V1_AttachRequest, context: ServerContext) async throws -> Runtime_V1_AttachResponse {
        throw Self.notServed("Attach")
    }

    public func portForward(request: Runtime_V1_PortForwardRequest, context: ServerContext) async throws -> Runtime_V1_PortForwardResponse {
        throw Self.notServed("PortForward")
    }

    private static func notServed(_ method: String) -> RPCError {
        RPCError(code: .unimplemented, message: "berthd does not serve runtime.v1.RuntimeService/\(method) yet")
    }
}
