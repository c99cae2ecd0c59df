import CRIProtocol
import GRPCCore

/// The RuntimeService calls for pods and their containers, which berthd does not serve yet: each
/// answers UNIMPLEMENTED, the status gRPC gives a method a server lacks.
extension CRIRuntimeService {
    public func runPodSandbox(request: Runtime_V1_RunPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RunPodSandboxResponse {
        throw Self.notServed("RunPodSandbox")
    }

    public func stopPodSandbox(request: Runtime_V1_StopPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_StopPodSandboxResponse {
        throw Self.notServed("StopPodSandbox")
    }

    public func removePodSandbox(request: Runtime_V1_RemovePodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RemovePodSandboxResponse {
        throw Self.notServed("RemovePodSandbox")
    }

    public func podSandboxStatus(request: Runtime_V1_PodSandboxStatusRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatusResponse {
        throw Self.notServed("PodSandboxStatus")
    }

    public func listPodSandbox(request: Runtime_V1_ListPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxResponse {
        throw Self.notServed("ListPodSandbox")
    }

    public func createContainer(request: Runtime_V1_CreateContainerRequest, context: ServerContext) async throws -> Runtime_V1_CreateContainerResponse {
        throw Self.notServed("CreateContainer")
    }

    public func startContainer(request: Runtime_V1_StartContainerRequest, context: ServerContext) async throws -> Runtime_V1_StartContainerResponse {
        throw Self.notServed("StartContainer")
    }

    public func stopContainer(request: Runtime_V1_StopContainerRequest, context: ServerContext) async throws -> Runtime_V1_StopContainerResponse {
        throw Self.notServed("StopContainer")
    }

    public func removeContainer(request: Runtime_V1_RemoveContainerRequest, context: ServerContext) async throws -> Runtime_V1_RemoveContainerResponse {
        throw Self.notServed("RemoveContainer")
    }

    public func listContainers(request: Runtime_V1_ListContainersRequest, context: ServerContext) async throws -> Runtime_V1_ListContainersResponse {
        throw Self.notServed("ListContainers")
    }

    public func containerStatus(request: Runtime_V1_ContainerStatusRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatusResponse {
        throw Self.notServed("ContainerStatus")
    }

    public func updateContainerResources(request: Runtime_V1_UpdateContainerResourcesRequest, context: ServerContext) async throws -> Runtime_V1_UpdateContainerResourcesResponse {
        throw Self.notServed("UpdateContainerResources")
    }

    public func reopenContainerLog(request: Runtime_V1_ReopenContainerLogRequest, context: ServerContext) async throws -> Runtime_V1_ReopenContainerLogResponse {
        throw Self.notServed("ReopenContainerLog")
    }

    public func execSync(request: Runtime_V1_ExecSyncRequest, context: ServerContext) async throws -> Runtime_V1_ExecSyncResponse {
        throw Self.notServed("ExecSync")
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
