import APIModels
import CRIProtocol
import Engine
import Foundation
import GRPCCore
import OCI

/// A pod's containers: engine containers in the sandbox's network, IPC and UTS namespaces (and its
/// PID namespace unless the pod asks otherwise), logging in the CRI's format where kubelet says.
extension CRIRuntimeService {
    public func createContainer(request: Runtime_V1_CreateContainerRequest, context: ServerContext) async throws -> Runtime_V1_CreateContainerResponse {
        try await CRIError.answering {
            guard let sandbox = try await sandbox(request.podSandboxID) else {
                throw RPCError(code: .notFound, message: "no pod sandbox \(request.podSandboxID)")
            }
            guard Self.state(of: sandbox) == .sandboxReady else {
                throw RPCError(code: .failedPrecondition, message: "pod sandbox \(sandbox.id) is not ready")
            }
            let config = request.config
            guard !config.metadata.name.isEmpty else { throw CRIError.missing("config.metadata.name") }
            guard !config.image.image.isEmpty else { throw CRIError.missing("config.image.image") }
            let handler = try RuntimeHandler(named: sandbox.config.Labels?[PodLabels.runtimeHandler] ?? "")
            let logDirectory = sandbox.config.Labels?[PodLabels.logDirectory] ?? request.sandboxConfig.logDirectory
            let create = try Self.podContainer(config, in: sandbox, handler: handler, logDirectory: logDirectory)
            if let logPath = create.hostConfig.LogConfig?.Config?["path"] {
                try FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
            }
            if let platform = handler.platform { try await ensureImage(config.image.image, for: platform) }
            let name = PodNames.container(config.metadata, in: PodLabels.sandboxMetadata(sandbox))
            let (id, _) = try await containers.create(create, name: name, platform: handler.platform ?? images.hostPlatform)
            return .with { $0.containerID = id }
        }
    }

    /// A pod of another architecture needs its images' variants of that one: kubelet pulled the
    /// host's (a PullImage before Kubernetes 1.29 names no handler), so the pod's is pulled now.
    private func ensureImage(_ name: String, for platform: Platform) async throws {
        if let present = try? images.resolve(name, platform: platform), present.platform.architecture == platform.architecture { return }
        _ = try await images.pull(try Reference(parsing: name), platform: platform, credentials: nil) { _ in }
    }

    /// The engine container's settings from the CRI's.
    static func podContainer(_ container: Runtime_V1_ContainerConfig, in sandbox: ContainerRecord, handler: RuntimeHandler,
                             logDirectory: String) throws -> ContainerCreateRequest
    {
        var config = ContainerConfig()
        config.Image = container.image.image
        if !container.command.isEmpty { config.Entrypoint = StringOrList(container.command) }
        if !container.args.isEmpty { config.Cmd = StringOrList(container.args) }
        config.Env = container.envs.isEmpty ? nil : container.envs.map { "\($0.key)=\($0.value)" }
        if !container.workingDir.isEmpty { config.WorkingDir = container.workingDir }
        config.Tty = container.tty
        config.OpenStdin = container.stdin
        config.StdinOnce = container.stdinOnce
        let security = container.linux.securityContext
        if security.hasRunAsGroup, !security.hasRunAsUser, security.runAsUsername.isEmpty {
            throw RPCError(code: .invalidArgument, message: "run_as_group needs run_as_user or run_as_username")
        }
        if !security.runAsUsername.isEmpty {
            config.User = security.runAsUsername
        } else if security.hasRunAsUser {
            config.User = String(security.runAsUser.value) + (security.hasRunAsGroup ? ":\(security.runAsGroup.value)" : "")
        }
        var labels = PodLabels.userLabels(container.labels)
        labels[PodLabels.kind] = PodLabels.containerKind
        labels[PodLabels.name] = container.metadata.name
        labels[PodLabels.attempt] = String(container.metadata.attempt)
        labels[PodLabels.sandboxID] = sandbox.id
        labels[PodLabels.image] = container.image.image
        config.Labels = labels

        var host = HostConfig()
        host.Annotations = container.annotations.isEmpty ? nil : container.annotations
        let pod = "container:" + sandbox.id
        let podHost = sandbox.hostConfig
        host.NetworkMode = podHost.NetworkMode == "host" ? "host" : pod
        if handler.runsInUtilityVM {
            // It joins the sandbox's VM, and there the sandbox's IPC namespace and (unless it asks
            // for its own) its PID namespace.
            guard security.namespaceOptions.pid != .node, security.namespaceOptions.pid != .target else {
                throw RPCError(code: .invalidArgument, message: "a container of a \(handler.rawValue) pod runs in the pod's utility VM: "
                    + "it cannot share the node's or another container's PID namespace")
            }
            host.IpcMode = pod
            if security.namespaceOptions.pid == .pod { host.PidMode = pod }
            if handler.platform == nil { host.Isolation = "vm" }
        } else {
            host.IpcMode = podHost.IpcMode == "host" ? "host" : pod
            host.UTSMode = podHost.NetworkMode == "host" ? "host" : pod
            switch security.namespaceOptions.pid {
            case .pod: host.PidMode = podHost.PidMode == "host" ? "host" : pod
            case .node: host.PidMode = "host"
            case .target:
                guard !security.namespaceOptions.targetID.isEmpty else { throw CRIError.missing("namespace_options.target_id") }
                host.PidMode = "container:" + security.namespaceOptions.targetID
            case .container, .UNRECOGNIZED: break
            }
        }
        host.Mounts = container.mounts.map { mount in
            var request = MountRequest(Type: "bind", Source: mount.hostPath, Target: mount.containerPath, ReadOnly: mount.readonly)
            switch mount.propagation {
            case .propagationHostToContainer: request.BindOptions = .init(Propagation: "rslave")
            case .propagationBidirectional: request.BindOptions = .init(Propagation: "rshared")
            case .propagationPrivate, .UNRECOGNIZED: break
            }
            return request
        }
        if host.Mounts?.isEmpty == true { host.Mounts = nil }
        if !container.logPath.isEmpty, !logDirectory.isEmpty {
            host.LogConfig = LogConfig(Type: ContainerLogs.criFileDriver, Config: ["path": logDirectory + "/" + container.logPath])
        }
        if security.privileged { host.Privileged = true }
        if !security.capabilities.addCapabilities.isEmpty { host.CapAdd = security.capabilities.addCapabilities }
        if !security.capabilities.dropCapabilities.isEmpty { host.CapDrop = security.capabilities.dropCapabilities }
        if security.readonlyRootfs { host.ReadonlyRootfs = true }
        if !security.supplementalGroups.isEmpty { host.GroupAdd = security.supplementalGroups.map(String.init) }
        // kubelet sends the defaults, or none for an unmasked /proc; an empty list means the defaults, as containerd reads it.
        if !security.maskedPaths.isEmpty { host.MaskedPaths = security.maskedPaths }
        if !security.readonlyPaths.isEmpty { host.ReadonlyPaths = security.readonlyPaths }
        var securityOptions: [String] = []
        if security.noNewPrivs { securityOptions.append("no-new-privileges") }
        if let seccomp = try SeccompSetting.securityOption(security.hasSeccomp ? security.seccomp : nil, path: security.seccompProfilePath) {
            securityOptions.append(seccomp)
        }
        if !securityOptions.isEmpty { host.SecurityOpt = securityOptions }
        let resources = container.linux.resources
        if resources.cpuPeriod > 0 { host.CpuPeriod = resources.cpuPeriod }
        if resources.cpuQuota > 0 { host.CpuQuota = resources.cpuQuota }
        if resources.cpuShares > 0 { host.CpuShares = resources.cpuShares }
        if resources.memoryLimitInBytes > 0 { host.Memory = resources.memoryLimitInBytes }
        if resources.oomScoreAdj != 0 { host.OomScoreAdj = Int(resources.oomScoreAdj) }
        if !resources.cpusetCpus.isEmpty { host.CpusetCpus = resources.cpusetCpus }
        if !resources.cpusetMems.isEmpty { host.CpusetMems = resources.cpusetMems }
        return ContainerCreateRequest(config: config, hostConfig: host)
    }

    public func startContainer(request: Runtime_V1_StartContainerRequest, context: ServerContext) async throws -> Runtime_V1_StartContainerResponse {
        try await CRIError.answering {
            let record = try await podContainer(request.containerID)
            try await containers.start(record.id)
            return Runtime_V1_StartContainerResponse()
        }
    }

    public func stopContainer(request: Runtime_V1_StopContainerRequest, context: ServerContext) async throws -> Runtime_V1_StopContainerResponse {
        try await CRIError.answering {
            let record = try await podContainer(request.containerID)
            do {
                try await containers.stop(record.id, timeout: Int(max(0, request.timeout)))
            } catch ContainerError.notModified {
                // Stopping a stopped container succeeds, as the CRI asks.
            }
            return Runtime_V1_StopContainerResponse()
        }
    }

    public func removeContainer(request: Runtime_V1_RemoveContainerRequest, context: ServerContext) async throws -> Runtime_V1_RemoveContainerResponse {
        try await CRIError.answering {
            // Removing what is gone succeeds, as the CRI asks.
            guard let record = try await podContainerIfAny(request.containerID) else { return Runtime_V1_RemoveContainerResponse() }
            try await containers.remove(record.id, force: true)
            return Runtime_V1_RemoveContainerResponse()
        }
    }

    public func listContainers(request: Runtime_V1_ListContainersRequest, context: ServerContext) async throws -> Runtime_V1_ListContainersResponse {
        try await CRIError.answering {
            let filter = request.filter
            var response = Runtime_V1_ListContainersResponse()
            response.containers = try await containers.list().filter(PodLabels.isPodContainer).compactMap { record in
                let item = Self.summary(ofContainer: record)
                if !filter.id.isEmpty, !record.id.hasPrefix(filter.id) { return nil }
                if !filter.podSandboxID.isEmpty, !item.podSandboxID.hasPrefix(filter.podSandboxID) { return nil }
                if filter.hasState, item.state != filter.state.state { return nil }
                if !PodLabels.matches(item.labels, selector: filter.labelSelector) { return nil }
                return item
            }
            return response
        }
    }

    public func containerStatus(request: Runtime_V1_ContainerStatusRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatusResponse {
        try await CRIError.answering {
            let record = try await podContainer(request.containerID)
            var response = Runtime_V1_ContainerStatusResponse()
            response.status = Self.status(ofContainer: record, logPath: containers.paths.log(of: record))
            if request.verbose {
                response.info["info"] = #"{"pid":\#(record.state.pid),"name":"\#(record.name)"}"#
            }
            return response
        }
    }

    public func updateContainerResources(request: Runtime_V1_UpdateContainerResourcesRequest,
                                         context: ServerContext) async throws -> Runtime_V1_UpdateContainerResourcesResponse {
        try await CRIError.answering {
            let record = try await podContainer(request.containerID)
            let resources = request.linux
            var update = ContainerUpdateRequest()
            if resources.memoryLimitInBytes > 0 { update.Memory = resources.memoryLimitInBytes }
            if resources.cpuShares > 0 { update.CpuShares = resources.cpuShares }
            if resources.cpuPeriod > 0 { update.CpuPeriod = resources.cpuPeriod }
            if resources.cpuQuota > 0 { update.CpuQuota = resources.cpuQuota }
            if !resources.cpusetCpus.isEmpty { update.CpusetCpus = resources.cpusetCpus }
            if !resources.cpusetMems.isEmpty { update.CpusetMems = resources.cpusetMems }
            _ = try await containers.update(record.id, update)
            return Runtime_V1_UpdateContainerResourcesResponse()
        }
    }

    public func reopenContainerLog(request: Runtime_V1_ReopenContainerLogRequest, context: ServerContext) async throws -> Runtime_V1_ReopenContainerLogResponse {
        try await CRIError.answering {
            let record = try await podContainer(request.containerID)
            try await containers.reopenLog(record.id)
            return Runtime_V1_ReopenContainerLogResponse()
        }
    }

    // MARK: Shapes

    static func state(ofContainer record: ContainerRecord) -> Runtime_V1_ContainerState {
        switch record.state.status {
        case .created: .containerCreated
        case .running, .paused, .restarting: .containerRunning
        case .exited, .dead: .containerExited
        case .removing: .containerUnknown
        }
    }

    static func summary(ofContainer record: ContainerRecord) -> Runtime_V1_Container {
        .with {
            $0.id = record.id
            $0.podSandboxID = record.config.Labels?[PodLabels.sandboxID] ?? ""
            $0.metadata = PodLabels.containerMetadata(record)
            $0.image.image = record.config.Labels?[PodLabels.image] ?? record.imageName
            $0.imageRef = record.imageID
            $0.state = state(ofContainer: record)
            $0.createdAt = nanoseconds(record.created)
            $0.labels = PodLabels.userLabels(record.config.Labels)
            $0.annotations = record.hostConfig.Annotations ?? [:]
        }
    }

    static func status(ofContainer record: ContainerRecord, logPath: String) -> Runtime_V1_ContainerStatus {
        let summary = summary(ofContainer: record)
        return .with {
            $0.id = summary.id
            $0.metadata = summary.metadata
            $0.state = summary.state
            $0.createdAt = summary.createdAt
            if let started = record.state.startedAt { $0.startedAt = nanoseconds(started) }
            if let finished = record.state.finishedAt { $0.finishedAt = nanoseconds(finished) }
            $0.exitCode = record.state.exitCode
            $0.image = summary.image
            $0.imageRef = summary.imageRef
            if summary.state == .containerExited {
                $0.reason = record.state.oomKilled ? "OOMKilled" : record.state.exitCode == 0 ? "Completed" : "Error"
                $0.message = record.state.error
            }
            $0.labels = summary.labels
            $0.annotations = summary.annotations
            $0.mounts = (record.hostConfig.Mounts ?? []).map { mount in
                .with {
                    $0.containerPath = mount.Target ?? ""
                    $0.hostPath = mount.Source ?? ""
                    $0.readonly = mount.ReadOnly ?? false
                    switch mount.BindOptions?.Propagation {
                    case "rslave", "slave": $0.propagation = .propagationHostToContainer
                    case "rshared", "shared": $0.propagation = .propagationBidirectional
                    default: $0.propagation = .propagationPrivate
                    }
                }
            }
            if record.hostConfig.LogConfig?.Type == ContainerLogs.criFileDriver { $0.logPath = logPath }
        }
    }

    // MARK: Lookup

    /// The pod container of this ID (or unique prefix of one); NotFound when there is none.
    func podContainer(_ id: String) async throws -> ContainerRecord {
        guard let record = try await podContainerIfAny(id) else { throw RPCError(code: .notFound, message: "no container \(id)") }
        return record
    }

    func podContainerIfAny(_ id: String) async throws -> ContainerRecord? {
        guard !id.isEmpty else { throw CRIError.missing("container_id") }
        let matches = try await containers.list().filter { PodLabels.isPodContainer($0) && $0.id.hasPrefix(id) }
        guard matches.count <= 1 else { throw RPCError(code: .invalidArgument, message: "container ID prefix \(id) is ambiguous") }
        return matches.first
    }
}
