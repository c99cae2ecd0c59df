import APIModels
import Foundation
import ImageStore
import Logging
import NativeRuntime
import Networking
import OCI
import SystemSupport

/// Containers, native and in utility VMs: create, start, stop, wait, remove, and follow them across
/// daemon restarts.
///
/// Each started container has a `berth-shim` that outlives berthd (for a VM container, the shim holds
/// the guest agent's port); the service keeps one `wait`
/// connection per shim and records the exit when it answers, or, after a restart, reads the
/// status the shim left on disk.
public actor ContainerService {
    public struct ExitStatus: Sendable, Equatable {
        public var code: Int32
        public var error: String?
    }

    public enum WaitCondition: String, Sendable {
        case notRunning = "not-running", nextExit = "next-exit", removed
    }

    public nonisolated let paths: ContainerPaths
    let catalog: ContainerCatalog
    let volumes: VolumeService
    /// Bridges, addresses, published ports and name servers of the containers' networks.
    public nonisolated let networks: NetworkController
    let images: ImageService
    let events: EventBus
    let runtimes: ContainerRuntimes
    let logger: Logger
    /// berthd's `--userns-remap`: the mode of containers that name none ("auto" or empty).
    let defaultUsernsMode: String
    /// berthd's `--log-opt`s and `--default-ulimit`s, for containers that set none of their own.
    let containerDefaults: ContainerDefaults
    /// Where guest kernels are cached, for the platform decision; nil: this berthd runs no utility VMs.
    let guestKernelCache: String?
    /// What the host probe found, for the platform decision.
    let hostState: HostState?
    /// Resolved at the next exit, and at removal; a waiter registers before it awaits, so an exit
    /// right after registration is never missed.
    private var exitLatches: [String: [Latch<ExitStatus>]] = [:]
    private var removalLatches: [String: [Latch<ExitStatus>]] = [:]
    private var pendingAttachments: [String: [PendingAttachment]] = [:]
    var execs: [String: ExecRecord] = [:]
    /// The running healthcheck loop of each container that has one.
    var healthMonitors: [String: Task<Void, Never>] = [:]

    /// An attach made before start: it gets the shim once the container is set up, and start
    /// waits until it is connected so no output is missed.
    final class PendingAttachment: Sendable {
        let process = Latch<(any ContainerProcess)?>()
        let connected = Latch<Bool>()
    }

    public init(paths: ContainerPaths, catalog: ContainerCatalog, images: ImageService, events: EventBus,
                runtimes: ContainerRuntimes, logger: Logger, defaultUsernsMode: String = "",
                containerDefaults: ContainerDefaults = ContainerDefaults(), guestKernelCache: String? = nil, hostState: HostState? = nil,
                defaultBridge: String = "berth0",
                defaultBridgeAddress: (gateway: IPv4Address, subnet: IPv4Subnet)? = nil) throws {
        self.paths = paths
        self.catalog = catalog
        volumes = VolumeService(catalog: VolumeCatalog(database: catalog.database), paths: paths, images: images, events: events)
        networks = NetworkController(catalog: NetworkCatalog(database: catalog.database), containers: catalog, paths: paths,
                                     events: events, logger: logger, defaultBridge: defaultBridge,
                                     defaultBridgeAddress: defaultBridgeAddress)
        self.images = images
        self.events = events
        self.runtimes = runtimes
        self.logger = logger
        self.defaultUsernsMode = defaultUsernsMode
        self.containerDefaults = containerDefaults
        self.guestKernelCache = guestKernelCache
        self.hostState = hostState
        for directory in [paths.root, paths.execRoot, paths.seccompCache] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
    }

    func runtime(for record: ContainerRecord) -> any ContainerRuntime { runtimes.runtime(for: record) }

    /// Refuses what the container's runtime cannot do, with the operation named.
    func require(_ capability: ContainerRuntimeCapabilities, of record: ContainerRecord, _ operation: String) throws {
        guard runtime(for: record).capabilities.contains(capability) else {
            throw ContainerError.invalid("\(operation) is not available for containers in utility VMs yet (container \(record.name))")
        }
    }

    // MARK: Lookup

    public func list() throws -> [ContainerRecord] { try catalog.all() }

    /// By full ID, name (with or without "/"), or unique ID prefix, as Docker resolves them.
    public func find(_ reference: String) throws -> ContainerRecord {
        let name = reference.hasPrefix("/") ? String(reference.dropFirst()) : reference
        if let exact = try catalog.record(idOrName: name) { return exact }
        let all = try catalog.all()
        let matches = all.filter { $0.id.hasPrefix(reference) }
        if matches.count == 1, !reference.isEmpty { return matches[0] }
        if matches.count > 1 {
            throw ContainerError.invalid("multiple containers found with provided prefix: \(reference)")
        }
        throw ContainerError.notFound("No such container: \(reference)")
    }

    // MARK: Create

    public func create(_ request: ContainerCreateRequest, name requestedName: String?, platform: Platform?) async throws
        -> (id: String, warnings: [String])
    {
        var request = request
        // Older clients (docker-py's `runtime=`) put it beside the config rather than in HostConfig.
        if (request.hostConfig.Runtime ?? "").isEmpty { request.hostConfig.Runtime = request.config.Runtime }
        request.config.Runtime = nil
        try Self.applyRuntime(&request.hostConfig)
        guard let imageName = request.config.Image, !imageName.isEmpty else {
            throw ContainerError.invalid("config.Image is required: no image given")
        }
        // A platform the host cannot run is refused for what it is, before looking for the image.
        var requested: PlatformDecision?
        if let platform { requested = try await decidePlatform(platform, request.hostConfig) }
        let image: ImageRecord
        do {
            image = try images.resolve(imageName, platform: platform)
        } catch let error as CatalogError {
            if case .notFound = error {
                let shown = (try? Reference(parsing: imageName))?.withDefaultTag.familiarDescription ?? imageName
                throw ContainerError.notFound("No such image: \(shown)")
            }
            throw ContainerError.notFound(error.description)
        }
        // The resolved image has the requested platform when one was given.
        let decision: PlatformDecision
        if let requested { decision = requested } else { decision = try await decidePlatform(image.platform, request.hostConfig) }
        var warnings: [String] = []
        if platform == nil, image.platform.architecture != images.hostPlatform.architecture {
            // Docker warns and fails later; Berth runs it as what it is, and says so.
            warnings.append("The image's platform (\(image.platform)) does not match the host's (\(images.hostPlatform)) and no "
                + "platform was requested: it runs as \(image.platform) (\(decision.mode.rawValue))")
        }
        let imageConfig = try images.config(of: image).config
        var config = request.config
        var host = request.hostConfig
        containerDefaults.apply(to: &host)
        // Entrypoint and command: the request's replace the image's; a new entrypoint drops the image's command.
        let entrypoint = config.Entrypoint.map(\.values) ?? imageConfig?.Entrypoint ?? []
        let command = config.Cmd.map(\.values) ?? (config.Entrypoint == nil ? imageConfig?.Cmd ?? [] : [])
        let effectiveEntrypoint = entrypoint == [""] ? [] : entrypoint
        let full = effectiveEntrypoint + command
        guard let path = full.first else { throw ContainerError.invalid("no command specified") }

        if config.NetworkDisabled == true { host.NetworkMode = "none" }
        var networking = request.networkingConfig
        if let mac = config.MacAddress, !mac.isEmpty {
            // Moved to the first network's endpoint, as dockerd does for older clients.
            let primary = host.NetworkMode.flatMap { $0.isEmpty || $0 == "default" ? nil : $0 } ?? NetworkRecord.defaultName
            var endpoints = networking?.EndpointsConfig ?? [:]
            var endpoint = endpoints[primary] ?? EndpointSettings()
            endpoint.MacAddress = endpoint.MacAddress ?? mac
            endpoints[primary] = endpoint
            networking = NetworkingConfig(EndpointsConfig: endpoints)
            config.MacAddress = nil
        }
        switch host.CgroupnsMode ?? "" {
        case "": host.CgroupnsMode = CgroupManager.privateCgroupNamespaceByDefault ? "private" : "host"
        case "host", "private": break
        case let mode: throw ContainerError.invalid("invalid cgroup namespace mode: \(mode)")
        }
        for rule in host.DeviceCgroupRules ?? [] where !CgroupManager.isDeviceRule(rule) {
            throw ContainerError.invalid("invalid device cgroup rule format: '\(rule)'")
        }
        let logDriver = (host.LogConfig?.Type).flatMap { $0.isEmpty ? nil : $0 } ?? "json-file"
        guard ContainerLogs.drivers.contains(logDriver) else {
            throw ContainerError.invalid("logger: no log driver named '\(logDriver)' is registered")
        }
        host.LogConfig = LogConfig(Type: logDriver, Config: host.LogConfig?.Config ?? [:])
        if logDriver == ContainerLogs.criFileDriver, !(host.LogConfig?.Config?["path"] ?? "").hasPrefix("/") {
            throw ContainerError.invalid("logger: \(logDriver) needs an absolute file in its path option (--log-opt path=/var/log/pods/…)")
        }
        if let links = host.Links, !links.isEmpty, let mode = host.NetworkMode,
           !["", "default", NetworkRecord.defaultName, "none", "host"].contains(mode), !mode.hasPrefix("container:") {
            // On a user network a --link is the endpoint's: its alias resolves for this container.
            var endpoints = networking?.EndpointsConfig ?? [:]
            var endpoint = endpoints[mode] ?? EndpointSettings()
            endpoint.Links = (endpoint.Links ?? []) + links
            endpoints[mode] = endpoint
            networking = NetworkingConfig(EndpointsConfig: endpoints)
            host.Links = nil
        }
        let joined = try joinedNetworkContainer(&host, config: config, networking: networking, inUtilityVM: decision.mode == .systemVM,
                                                architecture: image.platform.architecture)
        let attachments = try await networks.requestedAttachments(&host, networking)
        _ = try ContainerRecord.requestedAccelerator(host, decision: decision,
                                                     foreign: image.platform.architecture != images.hostPlatform.architecture)
        _ = try ContainerRecord.requestedGuestKernel(host, decision: decision, imageArchitecture: image.platform.architecture,
                                                     cacheDirectory: guestKernelCache)
        let restart = try RestartRule(host.RestartPolicy)
        if restart != .never, host.AutoRemove == true {
            throw ContainerError.invalid("can't create 'AutoRemove' container with restart policy")
        }
        if let memory = host.Memory, memory > 0, memory < 6 << 20 {
            throw ContainerError.invalid("Minimum memory limit allowed is 6MB")
        }
        if let swap = host.MemorySwap, swap > 0, let memory = host.Memory, memory > 0, swap < memory {
            throw ContainerError.invalid("Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        // The image's VOLUMEs are host volumes in every placement (a utility VM gets them over 9p).
        var requestedMounts = try ContainerMount.requested(host, config, imageVolumes: imageConfig?.Volumes?.keys.sorted() ?? [])
        if let driver = host.VolumeDriver, !driver.isEmpty, driver != "local",
           requestedMounts.contains(where: { $0.kind == .volume }) {
            throw ContainerError.notFound("error looking up volume plugin \(driver): plugin \"\(driver)\" not found")
        }
        requestedMounts += try volumesFrom(host.VolumesFrom ?? [], besides: requestedMounts)
        _ = try CapabilitySet.adjusting(.dockerDefault, add: host.CapAdd ?? [], drop: host.CapDrop ?? [])

        let id = Self.newID()
        let name: String
        if let requestedName, !requestedName.isEmpty {
            name = requestedName.hasPrefix("/") ? String(requestedName.dropFirst()) : requestedName
            guard ContainerNames.isValid(name) else {
                throw ContainerError.invalid("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            }
            if let holder = try catalog.all().first(where: { $0.name == name }) {
                throw ContainerError.conflict(
                    "Conflict. The container name \"/\(name)\" is already in use by container \"\(holder.id)\". "
                        + "You have to remove (or rename) that container to be able to reuse that name.")
            }
        } else {
            var candidate = ContainerNames.random()
            while try catalog.nameExists(candidate) { candidate = ContainerNames.random() + "_\(Int.random(in: 1...99))" }
            name = candidate
        }
        let links = try legacyLinks(host.Links ?? [], of: name)
        host.Links = links.isEmpty ? nil : links

        config.Env = Environment.overriding(imageConfig?.Env ?? [], with: config.Env ?? [])
        config.Entrypoint = effectiveEntrypoint.isEmpty ? nil : StringOrList(effectiveEntrypoint)
        config.Cmd = command.isEmpty ? nil : StringOrList(command)
        if config.WorkingDir?.isEmpty ?? true { config.WorkingDir = imageConfig?.WorkingDir ?? "" }
        if config.User?.isEmpty ?? true { config.User = imageConfig?.User ?? "" }
        if config.StopSignal == nil { config.StopSignal = imageConfig?.StopSignal }
        config.Healthcheck = HealthcheckPolicy.merged(config.Healthcheck, over: imageConfig?.Healthcheck)
        config.Labels = (imageConfig?.Labels ?? [:]).merging(config.Labels ?? [:]) { $1 }
        let usernsMode = host.UsernsMode.flatMap { $0.isEmpty ? nil : $0 } ?? defaultUsernsMode
        let joinedUTS = try resolveNamespaceModes(&host, config: config, inUtilityVM: decision.mode == .systemVM,
                                                  sharedVM: decision.mode == .systemVM ? joined : nil,
                                                  ownUserNamespace: usernsMode == "auto" || usernsMode == "private")
        _ = try ContainerSysctls.validated(host)
        if case .profile(let json) = ContainerLaunchPlan.securityOptions(host).seccomp {
            do {
                _ = try SeccompProfile.docker(json, capabilities: [], architecture: images.hostPlatform.architecture)
            } catch {
                throw ContainerError.invalid("decoding seccomp profile failed: \(error)")
            }
        }
        if host.NetworkMode == "host" || host.UTSMode == "host" {
            config.Hostname = ProcessInfo.processInfo.hostName
        } else if let joined = joinedUTS ?? joined {
            config.Hostname = joined.config.Hostname
        } else if config.Hostname?.isEmpty ?? true {
            config.Hostname = String(id.prefix(12))
        }
        if let signal = config.StopSignal, ContainerLaunchPlan.signal(named: signal) == nil {
            throw ContainerError.invalid("Invalid signal: \(signal)")
        }

        var state = ContainerRecord.State()
        state.platformDecision = decision
        state.userNamespace = try userNamespace(for: host)
        state.networks = attachments.isEmpty ? nil : attachments
        var madeVolumes: [String] = []
        if !requestedMounts.isEmpty {
            (state.mounts, madeVolumes) = try prepareMounts(requestedMounts, image: image, userNamespace: state.userNamespace,
                                                            inUtilityVM: decision.mode == .systemVM)
        }
        var record = ContainerRecord(
            id: id, name: name, imageName: imageName, imageID: image.id.description, platform: image.platform.description,
            created: Date(), request: ContainerCreateRequest(config: config, hostConfig: host), path: path,
            arguments: Array(full.dropFirst()), state: state)
        let runtime = runtime(for: record)
        do {
            try prepareDirectories(record)
            record.state.phase = .created(preparedCgroup: try runtime.prepare(record), failure: nil)
            try catalog.insert(record)
        } catch {
            await runtime.remove(record)
            try? FileManager.default.removeItem(atPath: paths.directory(id))
            for volume in madeVolumes { try? volumes.delete(volume) }
            throw error
        }
        for volume in madeVolumes { await volumes.publish("create", volume) }
        await publish("create", record)
        return (id, warnings)
    }

    /// `--network container:NAME`: the container named, recorded by its ID when it exists (a start
    /// looks for it again, as dockerd's does); what would give this container network settings of
    /// its own is refused, in dockerd's words. A container in a utility VM joins another's VM, of
    /// its architecture, and so its network (a pod's containers share their sandbox's VM).
    private func joinedNetworkContainer(_ host: inout HostConfig, config: ContainerConfig, networking: NetworkingConfig?,
                                        inUtilityVM: Bool, architecture: String) throws -> ContainerRecord? {
        guard let reference = host.NetworkMode.flatMap(Self.joinedContainer) else { return nil }
        guard !reference.isEmpty else { throw ContainerError.invalid("Invalid network mode: invalid container format container:<name|id>") }
        let other = try? find(reference)
        if inUtilityVM {
            guard let other, other.runsInVM, Self.joinedContainer(other.hostConfig.NetworkMode ?? "") == nil else {
                throw ContainerError.invalid("network mode container: of a container in a utility VM joins that container's VM: "
                    + "\(reference) must be a container in a utility VM of its own")
            }
            let otherArchitecture = (try? Platform(parsing: other.platform))?.architecture
            guard otherArchitecture == architecture else {
                throw ContainerError.invalid("network mode container:\(reference): its utility VM is \(otherArchitecture ?? "unknown"), "
                    + "this container's image is \(architecture)")
            }
        } else if other.map({ !runtime(for: $0).capabilities.contains(.hostNetworkNamespace) }) == true {
            throw ContainerError.invalid("network mode container: is not available for native containers with a container in a "
                + "utility VM: a VM's network is its own network card")
        }
        let conflicts: [(Bool, String)] = [
            (!(config.Hostname ?? "").isEmpty, "conflicting options: hostname and the network mode"),
            (!(host.PortBindings ?? [:]).isEmpty || host.PublishAllPorts == true,
             "conflicting options: port publishing and the container type network mode"),
            (!(config.ExposedPorts ?? [:]).isEmpty, "conflicting options: port exposing and the container type network mode"),
            (!(host.Dns ?? []).isEmpty || !(host.DnsSearch ?? []).isEmpty || !(host.DnsOptions ?? []).isEmpty,
             "conflicting options: dns and the network mode"),
            (!(host.ExtraHosts ?? []).isEmpty, "conflicting options: custom host-to-IP mapping and the network mode"),
            (!(host.Links ?? []).isEmpty, "conflicting options: container type network can't be used with links. This would result in undefined behavior"),
            (!(networking?.EndpointsConfig ?? [:]).isEmpty, "container sharing network namespace with another container or host cannot be connected to any other network"),
        ]
        if let conflict = conflicts.first(where: \.0) { throw ContainerError.invalid(conflict.1) }
        if let other { host.NetworkMode = "container:" + other.id }
        return other
    }

    /// `UsernsMode`: "host" shares the host's ids; "auto" (or "private") gives the container a block
    /// of ids of its own, free at this moment (no await between here and the insert); empty takes
    /// the daemon's default.
    private func userNamespace(for host: HostConfig) throws -> UserNamespaceMapping? {
        let mode = host.UsernsMode.flatMap { $0.isEmpty ? nil : $0 } ?? defaultUsernsMode
        switch mode {
        case "", "host":
            return nil
        case "auto", "private":
            if host.Privileged == true {
                throw ContainerError.invalid(
                    "privileged mode is incompatible with user namespaces; run privileged containers with --userns=host")
            }
            if host.NetworkMode == "host" {
                throw ContainerError.invalid(
                    "cannot share the host's network namespace when user namespaces are enabled; add --userns=host")
            }
            guard let mapping = UserNamespaceMapping.firstFree(excluding: try catalog.all().compactMap(\.state.userNamespace)) else {
                throw ContainerError.invalid("no free block of ids is left for another user namespace")
            }
            return mapping
        default:
            throw ContainerError.invalid("invalid USER mode: \(mode) (use host or auto)")
        }
    }

    private func prepareDirectories(_ record: ContainerRecord) throws {
        let id = record.id
        let manager = FileManager.default
        do {
            for directory in [paths.upper(id), paths.work(id), paths.rootfs(id)] {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            }
            let hostname = record.config.Hostname ?? String(id.prefix(12))
            try Data("\(hostname)\n".utf8).write(to: URL(fileURLWithPath: paths.hostname(id)))
            let hosts: Data
            if record.hostConfig.NetworkMode == "host" {
                hosts = (try? Data(contentsOf: URL(fileURLWithPath: "/etc/hosts"))) ?? Data()
            } else {
                hosts = Data(HostsFile.text(extraHosts: record.hostConfig.ExtraHosts ?? []).utf8)
            }
            try hosts.write(to: URL(fileURLWithPath: paths.hosts(id)))
            // A container on a network gets its file again at each start; one on none or the host's keeps this.
            let overrides = NetworkController.resolverOverrides(record.hostConfig)
            let resolv = overrides == ResolvConf.Overrides()
                ? (try? Data(contentsOf: URL(fileURLWithPath: "/etc/resolv.conf"))) ?? Data()
                : Data(ResolvConf.host().forContainer(networkNameServer: nil, userNetwork: false, overrides: overrides).utf8)
            try resolv.write(to: URL(fileURLWithPath: paths.resolvConf(id)))
            // The container's root owns its own copies, as it would without a user namespace.
            if let mapping = record.state.userNamespace {
                for file in [paths.hostname(id), paths.hosts(id), paths.resolvConf(id)] {
                    guard chown(file, mapping.hostBase, mapping.hostBase) == 0 else {
                        throw ContainerError.invalid("chown \(file): \(SystemError.text(errno))")
                    }
                }
            }
        } catch {
            try? manager.removeItem(atPath: paths.directory(id))
            throw error
        }
    }

    /// The runtimes `--runtime` may name: `berth`, the default (`runc` names it too, for clients
    /// that ask for Docker's default by name), and `berth-vm`, a utility VM as `--isolation vm` gives.
    public static let runtimeNames = ["berth", "runc", "berth-vm"]

    static func applyRuntime(_ host: inout HostConfig) throws {
        guard let name = host.Runtime, !name.isEmpty else {
            host.Runtime = "berth"
            return
        }
        guard runtimeNames.contains(name) else { throw ContainerError.invalid("unknown or invalid runtime name: \(name)") }
        if name == "berth-vm" {
            guard (host.Isolation ?? "").isEmpty || host.Isolation == "vm" else {
                throw ContainerError.invalid("runtime berth-vm conflicts with --isolation \(host.Isolation ?? "")")
            }
            host.Isolation = "vm"
        }
    }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    // MARK: Start

    public func start(_ reference: String) async throws {
        try await start(reference, byRestartPolicy: false)
    }

    func start(_ reference: String, byRestartPolicy: Bool) async throws {
        var record = try find(reference)
        switch record.state.status {
        case .running: throw ContainerError.notModified
        case .restarting where !byRestartPolicy: throw ContainerError.notModified
        case .restarting: break
        case .paused: throw ContainerError.conflict("cannot start a paused container, try unpause instead")
        case .removing, .dead: throw ContainerError.conflict("container \(record.name) is being removed")
        case .created, .exited: break
        }
        let id = record.id
        var plan = try launchPlan(record)
        let runtime = runtime(for: record)
        let inHostNamespace = runtime.capabilities.contains(.hostNetworkNamespace)
        var phases = PhaseTimer()
        let launched: LaunchedContainer
        var ports: [PublishedPort] = []
        do {
            try FileManager.default.createDirectory(atPath: paths.runtimeDirectory(id), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            // Linked containers are running, and where they are is in this one's environment and hosts.
            let links = try linkedContainers(record)
            plan.linkEnvironment = links.flatMap(\.environment)
            plan.joinedNetwork = try joinedNetwork(of: record)
            if record.runsInVM, let joined = plan.joinedNetwork { plan.sharedUtilityVM = try find(joined.containerID) }
            plan.joinedNamespaces = try joinedNamespaces(of: record)
            if !record.attachments.isEmpty {
                record.state.networks = try await networks.bringUp(record, inHostNamespace: inHostNamespace)
                ports = try await networks.publishPorts(record)
                try await networks.writeNetworkFiles(record, linkedHosts: links.flatMap(\.hosts))
                for attachment in record.attachments where attachment.links != nil {
                    await networks.refreshNameServer(attachment.networkID, including: record)
                }
                phases.mark("network")
            }
            // Only a VM's NICs need the networks' records; a container on none needs no read.
            let joined = record.attachments.isEmpty ? [] : try networks.catalog.all()
            launched = try await runtime.launch(record, plan: plan, networks: joined)
            phases.mark("launched")
        } catch {
            _ = await runtime.cleanUp(after: record)
            await networks.release(&record, ports: ports, inHostNamespace: inHostNamespace)
            try? FileManager.default.removeItem(atPath: paths.runtimeDirectory(id))
            var failure = Self.startFailure(error)
            // What the guest printed is the best clue to a VM that never came up.
            if case .startFailed(let code, let message) = failure {
                failure = .startFailed(code: code, message: message + runtime.failureDetail(of: record))
            }
            record.state.recordStartFailure(.init(code: failure.code, message: failure.description))
            try? catalog.updateState(id, record.state)
            for attachment in pendingAttachments.removeValue(forKey: id) ?? [] { attachment.process.resolve(nil) }
            // Docker removes an --rm container whose start failed; its client waits for that.
            if record.hostConfig.AutoRemove == true { try? await remove(id, force: true, removeVolumes: true) }
            throw failure
        }

        let run = ContainerRecord.Run(pid: launched.pid, supervisorPID: launched.supervisorPID, startedAt: Date(),
                                      cgroup: launched.cgroup, utilityVM: launched.utilityVM, publishedPorts: ports)
        let process = runtime.process(of: id)
        let waiting = pendingAttachments.removeValue(forKey: id) ?? []
        for attachment in waiting { attachment.process.resolve(process) }
        for attachment in waiting { _ = await attachment.connected.wait() }
        do {
            _ = try await process.start()
            phases.mark("exec")
        } catch {
            // The shim records the failed exec as the container's exit; pick that up like any exit.
            let failure = Self.startFailure(error)
            _ = try? await process.wait()
            await containerExited(id, reportedCode: failure.code, error: failure.description, unrecordedRun: run)
            throw failure
        }
        // A stop that came while the restart policy was starting it again wins: the run it did
        // not see ends at once, and the policy leaves it be.
        let stoppedMeanwhile = byRestartPolicy && (try? find(id))?.state.manuallyStopped == true
        record.state.phase = .running(run)
        record.state.manuallyStopped = stoppedMeanwhile ? true : nil
        let healthcheck = healthcheckPolicy(for: record)
        record.state.health = healthcheck.map { _ in ContainerHealth() }
        try catalog.updateState(id, record.state)
        for attachment in record.attachments { await networks.refreshNameServer(attachment.networkID) }
        phases.mark("recorded")
        logger.debug("started", metadata: ["id": "\(id.prefix(12))", "ms": "\(phases.summary)"])
        await publish("start", record)
        monitor(id, runtime: runtime)
        if stoppedMeanwhile {
            try? await process.kill(signal: SIGKILL)
            return
        }
        if let healthcheck { startHealthMonitor(id, policy: healthcheck, startedAt: run.startedAt) }
    }

    /// For `--network container:ID`: that container's network namespace, which it must be running to have.
    private func joinedNetwork(of record: ContainerRecord) throws -> (namespace: String, containerID: String)? {
        guard let reference = record.hostConfig.NetworkMode.flatMap(Self.joinedContainer) else { return nil }
        let other = try find(reference)
        guard other.state.status == .running || other.state.status == .paused, other.state.pid > 0 else {
            throw ContainerError.conflict("cannot join network namespace of a non running container: \(other.id)")
        }
        return ("/proc/\(other.state.pid)/ns/net", other.id)
    }

    /// The container a `container:NAME` network mode names.
    static func joinedContainer(_ networkMode: String) -> String? {
        networkMode.hasPrefix("container:") ? String(networkMode.dropFirst("container:".count)) : nil
    }

    func launchPlan(_ record: ContainerRecord) throws -> ContainerLaunchPlan {
        guard let imageDigest = try? Digest(parsing: record.imageID), let image = try images.catalog.image(id: imageDigest) else {
            throw ContainerError.conflict("the image of container \(record.name) (\(record.imageID)) is gone")
        }
        let layers = image.layers.reversed()
        return ContainerLaunchPlan(
            record: record, paths: paths, layers: layers.map { images.snapshots.diffPath($0.chainID) },
            chainIDs: layers.map(\.chainID.description), hostArchitecture: images.hostPlatform.architecture)
    }

    static func startFailure(_ error: Error) -> ContainerError {
        switch error {
        case ShimError.setup(let code, let message): return .startFailed(code: code, message: message)
        case let error as ContainerError: return error
        default: return .startFailed(code: 125, message: "\(error)")
        }
    }

    /// Follows the container's process until it exits, or until the runtime loses it.
    private func monitor(_ id: String, runtime: any ContainerRuntime) {
        let process = runtime.process(of: id)
        let logger = logger
        Task {
            let code = try? await process.wait()
            logger.debug("shim reported the exit", metadata: ["id": "\(id.prefix(12))", "uptime": "\(PhaseTimer.uptime)"])
            await self.containerExited(id, reportedCode: code, error: nil)
        }
    }

    /// Records an exit: what the runtime recorded is authoritative, then it tells about OOM.
    /// `unrecordedRun`: a run whose command failed to start, not in the catalog yet, whose
    /// cgroups, VM and ports are released like any run's.
    func containerExited(_ id: String, reportedCode: Int32?, error: String?, unrecordedRun: ContainerRecord.Run? = nil) async {
        healthMonitors.removeValue(forKey: id)?.cancel()
        guard var record = try? find(id), record.state.isActive || error != nil else { return }
        if let unrecordedRun { record.state.phase = .running(unrecordedRun) }
        var phases = PhaseTimer()
        let runtime = runtime(for: record)
        let recorded = runtime.recordedExit(of: id)
        var message = error ?? ""
        if let reason = recorded?.reason { message = reason + runtime.failureDetail(of: record) }
        if recorded == nil, reportedCode == nil { message = "the container's shim exited without recording the container's status" }
        let oomKilled = await runtime.cleanUp(after: record)
        phases.mark("runtime cleaned up")
        await networks.release(&record, ports: record.state.publishedPorts ?? [],
                               inHostNamespace: runtime.capabilities.contains(.hostNetworkNamespace))
        phases.mark("network released")
        // A stop may have come while this cleaned up: its mark must survive this write.
        if let current = try? find(id) { record.state.manuallyStopped = current.state.manuallyStopped }
        record.state.phase = .exited(ContainerRecord.Exit(
            code: recorded?.code ?? reportedCode ?? 255, error: message, oomKilled: oomKilled, startedAt: record.state.startedAt,
            finishedAt: recorded?.finishedAt ?? Date(), utilityVM: record.state.utilityVM), failure: nil)
        try? FileManager.default.removeItem(atPath: paths.runtimeDirectory(id))
        do {
            try catalog.updateState(id, record.state)
        } catch {
            logger.error("recording the container's exit failed: \(StateStore.systemError(error) ?? error)", metadata: ["id": "\(id.prefix(12))"])
        }
        phases.mark("recorded")
        logger.debug("exited", metadata: ["id": "\(id.prefix(12))", "ms": "\(phases.summary)", "uptime": "\(PhaseTimer.uptime)"])
        let stoppedOnPurpose = record.state.manuallyStopped == true
        if record.state.oomKilled { await publish("oom", record) }
        await publish("die", record, extra: ["exitCode": String(record.state.exitCode)])
        let status = ExitStatus(code: record.state.exitCode, error: error)
        for latch in exitLatches.removeValue(forKey: id) ?? [] { latch.resolve(status) }
        if record.hostConfig.AutoRemove == true {
            try? await remove(id, force: true, removeVolumes: true)
        } else if !stoppedOnPurpose, let rule = try? RestartRule(record.hostConfig.RestartPolicy),
                  rule.restarts(exitCode: record.state.exitCode, restartCount: record.state.restartCount) {
            scheduleRestart(record)
        }
    }

    /// Docker's backoff: 100 ms, doubling per restart up to a minute, back to 100 ms after a run of 10 s.
    private func scheduleRestart(_ record: ContainerRecord) {
        var record = record
        let ranLong = (record.state.finishedAt ?? Date()).timeIntervalSince(record.state.startedAt ?? Date()) >= 10
        let delay = ranLong ? 0.1 : min(0.1 * pow(2, Double(min(record.state.restartCount, 10))), 60)
        guard let exit = record.state.lastExit else { return }
        record.state.phase = .restarting(after: exit)
        record.state.restartCount += 1
        try? catalog.updateState(record.id, record.state)
        let id = record.id
        Task {
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            await self.restartIfStillWanted(id)
        }
    }

    private func restartIfStillWanted(_ id: String, afterDaemonStart: Bool = false) async {
        guard let record = try? find(id) else { return }
        if !afterDaemonStart { guard record.state.status == .restarting, record.state.manuallyStopped != true else { return } }
        do {
            try await start(id, byRestartPolicy: true)
        } catch {
            logger.warning("restart failed", metadata: ["id": "\(id.prefix(12))", "error": "\(error)"])
            var failed = record
            if case .restarting(let exit) = failed.state.phase { failed.state.phase = .exited(exit, failure: nil) }
            try? catalog.updateState(id, failed.state)
        }
    }

    /// Marks a container stopped by request, so its restart policy leaves it be.
    private func markManuallyStopped(_ record: ContainerRecord) -> ContainerRecord {
        var record = record
        record.state.manuallyStopped = true
        if case .restarting(let exit) = record.state.phase { record.state.phase = .exited(exit, failure: nil) }
        try? catalog.updateState(record.id, record.state)
        return record
    }

    // MARK: Signals and stopping

    public func kill(_ reference: String, signal: Int32) async throws {
        var record = try find(reference)
        guard record.state.isActive, record.state.status != .restarting else {
            throw ContainerError.conflict("Container \(record.id) is not running")
        }
        if signal == SIGKILL || signal == SIGTERM { record = markManuallyStopped(record) }
        // As dockerd: a SIGKILL returns once the container is down, so the next inspect sees it exited.
        let exit = signal == SIGKILL ? exitLatch(record.id) : nil
        try await ContainerError.translatingErrors { try await runtime(for: record).process(of: record.id).kill(signal: signal) }
        await publish("kill", record, extra: ["signal": String(signal)])
        if let exit { _ = await Self.wait(for: exit, seconds: 10) }
    }

    /// The stop signal, then SIGKILL after `timeout` seconds; returns once the container has exited.
    public func stop(_ reference: String, signal: Int32? = nil, timeout: Int? = nil) async throws {
        var record = try find(reference)
        guard record.state.isActive else { throw ContainerError.notModified }
        record = markManuallyStopped(record)
        // Between two runs there is no process to signal.
        if record.state.status != .running && record.state.status != .paused { return }
        let id = record.id
        if record.state.status == .paused { try? runtime(for: record).setFrozen(false, record) }
        let stopSignal = signal ?? record.config.StopSignal.flatMap(ContainerLaunchPlan.signal(named:)) ?? SIGTERM
        let seconds = timeout ?? record.config.StopTimeout ?? 10
        let process = runtime(for: record).process(of: id)
        try? await process.kill(signal: stopSignal)
        let exited = await waitForExit(id, seconds: seconds)
        if !exited {
            try? await process.kill(signal: SIGKILL)
            _ = await waitForExit(id, seconds: 30)
        }
        await publish("stop", record)
    }

    /// True when the container exited within `seconds` (negative waits forever).
    private func waitForExit(_ id: String, seconds: Int) async -> Bool {
        guard let record = try? find(id), record.state.isActive else { return true }
        return await Self.wait(for: exitLatch(id), seconds: seconds)
    }

    /// True when `latch` opened within `seconds` (negative waits forever).
    private static func wait(for latch: Latch<ExitStatus>, seconds: Int) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = await latch.wait(); return true }
            if seconds >= 0 {
                group.addTask {
                    try? await Task.sleep(nanoseconds: UInt64(seconds) * 1_000_000_000)
                    return false
                }
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func exitLatch(_ id: String) -> Latch<ExitStatus> {
        let latch = Latch<ExitStatus>()
        exitLatches[id, default: []].append(latch)
        return latch
    }

    /// Registers a wait now and returns what to await: the status when `condition` holds.
    public func waiter(_ reference: String, condition: WaitCondition) throws -> @Sendable () async -> ExitStatus {
        let record = try find(reference)
        let latch: Latch<ExitStatus>
        switch condition {
        case .notRunning:
            if !record.state.isActive {
                let status = ExitStatus(code: record.state.exitCode, error: nil)
                return { status }
            }
            latch = exitLatch(record.id)
        case .nextExit:
            latch = exitLatch(record.id)
        case .removed:
            latch = Latch()
            removalLatches[record.id, default: []].append(latch)
        }
        return { await latch.wait() ?? ExitStatus(code: -1, error: "wait cancelled") }
    }

    public func wait(_ reference: String, condition: WaitCondition) async throws -> ExitStatus {
        let waiting = try waiter(reference, condition: condition)
        return await waiting()
    }

    // MARK: Remove

    /// `removeVolumes` (`rm -v`, and `--rm` containers): its anonymous volumes go with it.
    public func remove(_ reference: String, force: Bool, removeVolumes: Bool = false) async throws {
        var record = try find(reference)
        if record.state.isActive {
            guard force else {
                throw ContainerError.conflict(
                    "cannot remove container \"/\(record.name)\": container is \(record.state.status.rawValue): "
                        + "stop the container before removing or force remove")
            }
            try? await runtime(for: record).process(of: record.id).kill(signal: SIGKILL)
            if !(await waitForExit(record.id, seconds: 30)) {
                throw ContainerError.conflict("could not kill container \(record.id)")
            }
            record = try find(record.id)
        }
        let id = record.id
        for attachment in pendingAttachments.removeValue(forKey: id) ?? [] { attachment.process.resolve(nil) }
        await runtime(for: record).remove(record)
        try FileManager.default.removeItem(atPath: paths.directory(id))
        try? FileManager.default.removeItem(atPath: paths.runtimeDirectory(id))
        try catalog.delete(id)
        if removeVolumes { await removeAnonymousVolumes(of: record) }
        execs = execs.filter { $0.value.containerID != id }
        await publish("destroy", record)
        let status = ExitStatus(code: record.state.exitCode, error: nil)
        for latch in removalLatches.removeValue(forKey: id) ?? [] { latch.resolve(status) }
        logger.debug("removed", metadata: ["id": "\(id.prefix(12))", "uptime": "\(PhaseTimer.uptime)"])
    }

    // MARK: Attach

    /// The process of a running container, or, for one not started yet, its process once it is
    /// set up; `connected` must then be called once attached, which lets the container start.
    func processForAttach(_ reference: String) async throws -> (any ContainerProcess, PendingAttachment?, ContainerRecord) {
        let record = try find(reference)
        switch record.state.status {
        case .running, .paused, .restarting:
            return (runtime(for: record).process(of: record.id), nil, record)
        case .created, .exited:
            let pending = PendingAttachment()
            pendingAttachments[record.id, default: []].append(pending)
            return (try await pendingProcess(pending, name: record.name), pending, record)
        case .removing, .dead:
            throw ContainerError.conflict("You cannot attach to a stopped container, start it first")
        }
    }

    private nonisolated func pendingProcess(_ pending: PendingAttachment, name: String) async throws -> any ContainerProcess {
        guard let process = await pending.process.wait() ?? nil else {
            throw ContainerError.conflict("container \(name) was removed before it started")
        }
        return process
    }

    /// Attaches to a container's stdio; an attach before start holds the start until connected.
    public nonisolated func attach<Result: Sendable>(
        _ reference: String, stdin: Bool, stdout: Bool, stderr: Bool,
        _ body: @escaping @Sendable (ContainerAttachment) async throws -> Result
    ) async throws -> Result {
        let (process, pending, record) = try await processForAttach(reference)
        do {
            return try await process.attach(stdin: stdin, stdout: stdout, stderr: stderr,
                                            // Like Docker, a tty's input never ends with a client's.
                                            stdinOnce: record.config.StdinOnce == true && record.config.Tty != true) { attachment in
                pending?.connected.resolve(true)
                return try await body(attachment)
            }
        } catch {
            pending?.connected.resolve(false)
            throw ContainerError.translating(error)
        }
    }

    public func resize(_ reference: String, rows: Int, columns: Int) async throws {
        let record = try find(reference)
        guard record.state.isActive else { throw ContainerError.conflict("Container \(record.id) is not running") }
        try await ContainerError.translatingErrors {
            try await runtime(for: record).process(of: record.id).resize(rows: rows, columns: columns)
        }
    }

    // MARK: Restart of the daemon

    /// Re-attaches to every shim still running; containers whose shim vanished are marked exited.
    public func restore() async {
        guard let all = try? catalog.all() else { return }
        for record in all where record.state.status == .restarting
            || (!record.state.isActive && (try? RestartRule(record.hostConfig.RestartPolicy))?.startsWithDaemon(record.state) == true) {
            Task { await self.restartIfStillWanted(record.id, afterDaemonStart: true) }
        }
        for record in all where record.state.isActive && record.state.status != .restarting {
            let runtime = runtime(for: record)
            if runtime.isStillRunning(record) {
                logger.info("re-attached to running container", metadata: ["id": "\(record.id.prefix(12))"])
                await networks.restore(record)
                monitor(record.id, runtime: runtime)
                if let healthcheck = healthcheckPolicy(for: record), let startedAt = record.state.startedAt {
                    startHealthMonitor(record.id, policy: healthcheck, startedAt: startedAt)
                }
            } else {
                let reason = runtime.recordedExit(of: record.id) == nil
                    ? "the container's shim vanished while berthd was down" : nil
                await containerExited(record.id, reportedCode: nil, error: reason)
            }
        }
        // The build a step's container served ended with the daemon before this one; followed
        // again above, the container can be ended and removed as a build's failure would.
        for record in all where record.hostConfig.Annotations?[HostConfig.buildStepAnnotation] != nil {
            logger.notice("removing the container of a build step cut short", metadata: ["id": "\(record.id.prefix(12))"])
            do {
                try await remove(record.id, force: true, removeVolumes: true)
            } catch {
                logger.warning("the container of a build step cut short stays: \(error)", metadata: ["id": "\(record.id.prefix(12))"])
            }
        }
    }

    /// Docker's signal names (`TERM`, `SIGKILL`) and numbers.
    public nonisolated static func signal(named name: String) -> Int32? {
        ContainerLaunchPlan.signal(named: name)
    }

    // MARK: Events

    func publish(_ action: String, _ record: ContainerRecord, extra: [String: String] = [:]) async {
        var attributes = record.config.Labels ?? [:]
        attributes["name"] = record.name
        attributes["image"] = record.imageName
        attributes.merge(extra) { $1 }
        await events.publish(EngineEvent(type: "container", action: action, actorID: record.id, attributes: attributes))
    }
}
