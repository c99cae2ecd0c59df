import CRIProtocol
import GRPCCore

/// The RuntimeService calls for pods and their containers, which berthd does not serve yet: each
/// answers UNIMPLEMENTED, the status gRPC gives a method a server lacks.
extension CRIRuntimeService {
    public func updateContainerResources(request: Runtime_V1_UpdateContainerResourcesRequest, context: ServerContext) async throws -> Runtime_V1_UpdateContainerResourcesResponse {
        throw Self.notServed("UpdateContainerResources")
    }

    public func exec(request: Runtime_V1_ExecRequest, context: ServerContext) async throws -> Runtime_V1_ExecResponse {
        throw Self.notServed("Exec")
    }

    public func attach(request: Runtime_V1_AttachRequest, context: ServerContext) async throws -> Runtime_V1_AttachResponse {
        throw Self.notServed("Attach")
    }

    public func portForward(request: Runtime_V1_PortForwardRequest, context: ServerContext) async throws -> Runtime_V1_PortForwardResponse {
        throw Self.notServed("PortForward")
    }

    public func containerStats(request: Runtime_V1_ContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatsResponse {
        throw Self.notServed("ContainerStats")
    }

    public func listContainerStats(request: Runtime_V1_ListContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ListContainerStatsResponse {
        throw Self.notServed("ListContainerStats")
    }

    public func podSandboxStats(request: Runtime_V1_PodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatsResponse {
        throw Self.notServed("PodSandboxStats")
    }

    public func listPodSandboxStats(request: Runtime_V1_ListPodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxStatsResponse {
        throw Self.notServed("ListPodSandboxStats")
    }

    private static func notServed(_ method: String) -> RPCError {
        RPCError(code: .unimplemented, message: "berthd does not serve runtime.v1.RuntimeService/\(method) yet")
    }
}
