import APIModels
import CRIProtocol
import Engine
import Foundation
import GRPCCore
import Logging

/// The CRI's RuntimeService: the runtime's identity and health, pod sandboxes and their containers.
public struct CRIRuntimeService: Runtime_V1_RuntimeService.SimpleServiceProtocol {
    /// The CRI version kubelet asks for in `Version`.
    static let kubeletAPIVersion = "0.1.0"

    let host: HostState
    let containers: ContainerService
    let images: ImageService
    let pauseImage: PauseImage
    let streaming: CRIStreamingServer
    let logger: Logger

    public init(host: HostState, containers: ContainerService, images: ImageService, pauseImage: PauseImage,
                streaming: CRIStreamingServer, logger: Logger) {
        self.host = host
        self.containers = containers
        self.images = images
        self.pauseImage = pauseImage
        self.streaming = streaming
        self.logger = logger
    }

    public func version(request: Runtime_V1_VersionRequest, context: ServerContext) async throws -> Runtime_V1_VersionResponse {
        var response = Runtime_V1_VersionResponse()
        response.version = Self.kubeletAPIVersion
        response.runtimeName = "berth"
        response.runtimeVersion = BerthVersion.version
        response.runtimeApiVersion = "v1"
        return response
    }

    public func status(request: Runtime_V1_StatusRequest, context: ServerContext) async throws -> Runtime_V1_StatusResponse {
        let report = await host.current()
        var runtimeReady = Runtime_V1_RuntimeCondition()
        runtimeReady.type = "RuntimeReady"
        runtimeReady.status = true
        // Pods get Berth's own bridge and addresses, which need no CNI configuration to be ready.
        var networkReady = Runtime_V1_RuntimeCondition()
        networkReady.type = "NetworkReady"
        networkReady.status = true
        var response = Runtime_V1_StatusResponse()
        response.status.conditions = [runtimeReady, networkReady]
        var defaultHandler = RuntimeHandler.native.status
        defaultHandler.name = ""
        response.runtimeHandlers = [defaultHandler] + RuntimeHandler.available(on: report).map(\.status)
        if request.verbose {
            response.info["platforms"] = report.platforms.map { "\($0.platform) \($0.mode.rawValue)" }.joined(separator: ", ")
        }
        return response
    }

    public func updateRuntimeConfig(request: Runtime_V1_UpdateRuntimeConfigRequest,
                                    context: ServerContext) async throws -> Runtime_V1_UpdateRuntimeConfigResponse {
        // The node's pod CIDR is for CNI plugins; pods on Berth's bridge take addresses from its subnet.
        let cidr = request.runtimeConfig.networkConfig.podCidr
        if !cidr.isEmpty { logger.info("CRI: the node's pod CIDR is \(cidr); pods take addresses from berthd's bridge") }
        return Runtime_V1_UpdateRuntimeConfigResponse()
    }
}
