import APIModels
import CRIProtocol
import Engine
import Foundation
import GRPCCore

/// Pod sandboxes. A sandbox is an infra container running `berth-pause`: it holds the pod's network
/// namespace (an address on berthd's bridge, the pod's ports published), a shareable IPC namespace,
/// its UTS namespace (the pod's hostname) and its PID namespace, which the pod's containers join.
/// For a utility-VM handler the infra container runs in a VM of its own (of the handler's
/// architecture), and the pod's containers join that VM: its kernel, network card and hostname
/// are the pod's, and each container has its own namespaces inside it.
extension CRIRuntimeService {
    public func runPodSandbox(request: Runtime_V1_RunPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RunPodSandboxResponse {
        try await CRIError.answering {
            let handler = try RuntimeHandler(named: request.runtimeHandler)
            let config = request.config
            let metadata = config.metadata
            guard !metadata.name.isEmpty, !metadata.namespace.isEmpty, !metadata.uid.isEmpty else {
                throw CRIError.missing("config.metadata's name, namespace and uid")
            }
            let pause = try await pauseImage.ensure(platform: handler.platform)
            let create = try Self.infraContainer(config, handler: handler, image: pause.id.description)
            let (id, _) = try await containers.create(create, name: PodNames.sandbox(metadata), platform: handler.platform)
            do {
                try await containers.start(id)
            } catch {
                // A pod that could not start is not left half-made.
                try? await containers.remove(id, force: true)
                throw error
            }
            return .with { $0.podSandboxID = id }
        }
    }

    /// The infra container's settings from the pod's.
    static func infraContainer(_ pod: Runtime_V1_PodSandboxConfig, handler: RuntimeHandler, image: String) throws -> ContainerCreateRequest {
        let metadata = pod.metadata
        let namespaces = pod.linux.securityContext.namespaceOptions
        var config = ContainerConfig()
        config.Image = image
        var labels = PodLabels.userLabels(pod.labels)
        labels[PodLabels.kind] = PodLabels.sandboxKind
        labels[PodLabels.name] = metadata.name
        labels[PodLabels.namespace] = metadata.namespace
        labels[PodLabels.uid] = metadata.uid
        labels[PodLabels.attempt] = String(metadata.attempt)
        labels[PodLabels.runtimeHandler] = handler.rawValue
        if !pod.logDirectory.isEmpty { labels[PodLabels.logDirectory] = pod.logDirectory }
        config.Labels = labels
        var host = HostConfig()
        host.Annotations = pod.annotations.isEmpty ? nil : pod.annotations
        if handler.runsInUtilityVM {
            guard namespaces.network != .node, namespaces.ipc != .node, namespaces.pid != .node else {
                throw RPCError(code: .invalidArgument, message: "a pod of runtime handler \(handler.rawValue) runs in a utility VM of its own: "
                    + "it cannot share the node's network, IPC or PID namespace")
            }
            // The host's architecture asks for its VM; another architecture has one anyway.
            if handler.platform == nil { host.Isolation = "vm" }
        }
        host.NetworkMode = namespaces.network == .node ? "host" : nil
        host.IpcMode = namespaces.ipc == .node ? "host" : "shareable"
        host.PidMode = namespaces.pid == .node ? "host" : nil
        if namespaces.network != .node, !pod.hostname.isEmpty { config.Hostname = pod.hostname }
        if pod.hasDnsConfig {
            host.Dns = pod.dnsConfig.servers.isEmpty ? nil : pod.dnsConfig.servers
            host.DnsSearch = pod.dnsConfig.searches.isEmpty ? nil : pod.dnsConfig.searches
            host.DnsOptions = pod.dnsConfig.options.isEmpty ? nil : pod.dnsConfig.options
        }
        // The pod's IPC and network namespaces are the sandbox's: its containers see what it sets.
        host.Sysctls = pod.linux.sysctls.isEmpty ? nil : pod.linux.sysctls
        var bindings: [String: [PortBinding]] = [:]
        var exposed: [String: JSONValue] = [:]
        for mapping in pod.portMappings where mapping.containerPort > 0 {
            let port = "\(mapping.containerPort)/\(mapping.protocol == .udp ? "udp" : mapping.protocol == .sctp ? "sctp" : "tcp")"
            exposed[port] = .object([:])
            guard mapping.hostPort > 0 else { continue }
            bindings[port, default: []].append(PortBinding(HostIp: mapping.hostIp.isEmpty ? nil : mapping.hostIp, HostPort: String(mapping.hostPort)))
        }
        if !exposed.isEmpty { config.ExposedPorts = exposed }
        if !bindings.isEmpty { host.PortBindings = bindings }
        let security = pod.linux.securityContext
        if security.privileged { host.Privileged = true }
        if let seccomp = try SeccompSetting.securityOption(security.hasSeccomp ? security.seccomp : nil, path: security.seccompProfilePath) {
            host.SecurityOpt = [seccomp]
        }
        return ContainerCreateRequest(config: config, hostConfig: host)
    }

    public func stopPodSandbox(request: Runtime_V1_StopPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_StopPodSandboxResponse {
        try await CRIError.answering {
            // Stopping a pod that is gone already succeeds, as the CRI asks.
            guard let sandbox = try await sandbox(request.podSandboxID) else { return Runtime_V1_StopPodSandboxResponse() }
            // Its containers first, forcibly: kubelet stopped them gracefully before this call.
            for member in try await members(of: sandbox.id) where member.state.isActive {
                try await stopIgnoringStopped(member.id, timeout: 0)
            }
            if sandbox.state.isActive { try await stopIgnoringStopped(sandbox.id, timeout: 2) }
            return Runtime_V1_StopPodSandboxResponse()
        }
    }

    public func removePodSandbox(request: Runtime_V1_RemovePodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RemovePodSandboxResponse {
        try await CRIError.answering {
            guard let sandbox = try await sandbox(request.podSandboxID) else { return Runtime_V1_RemovePodSandboxResponse() }
            for member in try await members(of: sandbox.id) { try await containers.remove(member.id, force: true) }
            try await containers.remove(sandbox.id, force: true)
            return Runtime_V1_RemovePodSandboxResponse()
        }
    }

    public func podSandboxStatus(request: Runtime_V1_PodSandboxStatusRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatusResponse {
        try await CRIError.answering {
            guard let sandbox = try await sandbox(request.podSandboxID) else {
                throw RPCError(code: .notFound, message: "no pod sandbox \(request.podSandboxID)")
            }
            var response = Runtime_V1_PodSandboxStatusResponse()
            response.status = Self.status(of: sandbox)
            response.timestamp = Int64(Date().timeIntervalSince1970 * 1e9)
            if request.verbose {
                response.info["info"] = #"{"pid":\#(sandbox.state.pid),"image":"\#(sandbox.imageID)","name":"\#(sandbox.name)"}"#
            }
            return response
        }
    }

    public func listPodSandbox(request: Runtime_V1_ListPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxResponse {
        try await CRIError.answering {
            let filter = request.filter
            var response = Runtime_V1_ListPodSandboxResponse()
            response.items = try await containers.list().filter(PodLabels.isSandbox).compactMap { record in
                let item = Self.summary(of: record)
                if !filter.id.isEmpty, !record.id.hasPrefix(filter.id) { return nil }
                if filter.hasState, item.state != filter.state.state { return nil }
                if !PodLabels.matches(item.labels, selector: filter.labelSelector) { return nil }
                return item
            }
            return response
        }
    }

    // MARK: Shapes

    static func state(of sandbox: ContainerRecord) -> Runtime_V1_PodSandboxState {
        sandbox.state.status == .running || sandbox.state.status == .paused ? .sandboxReady : .sandboxNotready
    }

    static func summary(of sandbox: ContainerRecord) -> Runtime_V1_PodSandbox {
        .with {
            $0.id = sandbox.id
            $0.metadata = PodLabels.sandboxMetadata(sandbox)
            $0.state = state(of: sandbox)
            $0.createdAt = nanoseconds(sandbox.created)
            $0.labels = PodLabels.userLabels(sandbox.config.Labels)
            $0.annotations = sandbox.hostConfig.Annotations ?? [:]
            $0.runtimeHandler = sandbox.config.Labels?[PodLabels.runtimeHandler] ?? ""
        }
    }

    static func status(of sandbox: ContainerRecord) -> Runtime_V1_PodSandboxStatus {
        let summary = summary(of: sandbox)
        return .with {
            $0.id = summary.id
            $0.metadata = summary.metadata
            $0.state = summary.state
            $0.createdAt = summary.createdAt
            $0.labels = summary.labels
            $0.annotations = summary.annotations
            $0.runtimeHandler = summary.runtimeHandler
            if let address = sandbox.attachments.first?.address { $0.network.ip = "\(address)" }
            let host = sandbox.hostConfig
            $0.linux.namespaces.options = .with {
                $0.network = host.NetworkMode == "host" ? .node : .pod
                $0.ipc = host.IpcMode == "host" ? .node : .pod
                $0.pid = host.PidMode == "host" ? .node : .pod
            }
        }
    }

    static func nanoseconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1e9) }

    // MARK: Lookup

    /// The sandbox of this ID (or unique prefix of one), nil when there is none.
    func sandbox(_ id: String) async throws -> ContainerRecord? {
        guard !id.isEmpty else { throw CRIError.missing("pod_sandbox_id") }
        let matches = try await containers.list().filter { PodLabels.isSandbox($0) && $0.id.hasPrefix(id) }
        guard matches.count <= 1 else { throw RPCError(code: .invalidArgument, message: "pod sandbox ID prefix \(id) is ambiguous") }
        return matches.first
    }

    /// The containers of a pod.
    func members(of sandboxID: String) async throws -> [ContainerRecord] {
        try await containers.list().filter { PodLabels.isPodContainer($0) && $0.config.Labels?[PodLabels.sandboxID] == sandboxID }
    }

    private func stopIgnoringStopped(_ id: String, timeout: Int) async throws {
        do {
            try await containers.stop(id, timeout: timeout)
        } catch ContainerError.notModified {
        }
    }
}
