import API
import APIModels
import ArgumentParser
import AsyncHTTPClient
import CRI
import DaemonConfiguration
import Engine
import Foundation
import HostProbe
import ImageStore
import Logging
import NativeRuntime
import Networking
import Registry
import SystemSupport
import VMRuntime

@main
struct Berthd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berthd",
        abstract: "The Berth daemon: runs OCI images of any platform, serving the Docker Engine API.",
        version: BerthVersion.version)

    /// dockerd's `--tls` and `--tlsverify` are flags that also take `=false`: a bare one means true.
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst().map { argument in
            argument == "--tls" || argument == "--tlsverify" ? argument + "=true" : argument
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// What `-H`, `--socket`, `-G` and the TLS flags ask to serve. A TCP host without TLS is
    /// refused unless `--tls=false` says the operator means it: the API is root on this host.
    func listeners(logger: Logger?) throws -> [APIListener] {
        var groupID: gid_t?
        if let group {
            guard let entry = getgrnam(group) else { throw ValidationError("-G \(group): no such group") }
            groupID = entry.pointee.gr_gid
        }
        let verify = tlsverify == true
        let settings = verify || tls == true
            ? APITLSSettings(certificate: tlscert, key: tlskey, clientCA: verify ? tlscacert : nil, verifyClients: verify) : nil
        var listeners = try hosts.map { host in
            do {
                return try APIListener.parse(host, mode: 0o660, group: groupID, tls: settings)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if !listeners.contains(where: { if case .unix = $0 { true } else { false } }) {
            listeners.insert(.unix(path: socket, mode: 0o660, group: groupID), at: 0)
        }
        for case .tcp(let host, let port, nil) in listeners {
            guard tls == false else {
                throw ValidationError("""
                    refusing to serve the API on tcp://\(host):\(port) without TLS: whoever reaches that port is root on this \
                    host. Pass --tlsverify with --tlscacert, --tlscert and --tlskey, or --tls=false to accept that risk
                    """)
            }
            logger?.critical("""
                SERVING THE API ON tcp://\(host):\(port) WITHOUT TLS (--tls=false): anyone who can reach that port controls this \
                host as root. Use --tlsverify.
                """)
        }
        return listeners
    }

    @Option(name: [.customLong("root"), .customLong("data-root")], help: "Directory for persistent state (default: /var/lib/berth).")
    var root: String?

    @Option(help: "Directory for runtime files: sockets, pids (default: /run/berth).")
    var execRoot: String?

    @Option(help: "Unix socket the API listens on (mode 0660, root's; see -G), served unless -H names unix sockets.")
    var socket = "/run/berth/berth.sock"

    @Option(name: [.customShort("H"), .customLong("host")],
            help: "Where to serve the API, as dockerd: unix:///path or tcp://address:port (TLS: see --tlsverify). Repeatable.")
    var hosts: [String] = []

    @Option(name: [.customShort("G"), .customLong("group")], help: "Group that may use the unix sockets besides root (default: none).")
    var group: String?

    @Option(help: "TLS on tcp:// hosts (implied by --tlsverify); --tls=false serves plain HTTP, which gives root to anyone who reaches the port.")
    var tls: Bool?

    @Option(help: "TLS on tcp:// hosts, and clients must present a certificate signed by --tlscacert.")
    var tlsverify: Bool?

    @Option(help: "CA whose certificates clients must present (default: /etc/berth/ca.pem).")
    var tlscacert = "/etc/berth/ca.pem"

    @Option(help: "The server's TLS certificate (default: /etc/berth/cert.pem).")
    var tlscert = "/etc/berth/cert.pem"

    @Option(help: "The server's TLS key (default: /etc/berth/key.pem).")
    var tlskey = "/etc/berth/key.pem"

    @Option(help: "Daemon configuration file in dockerd's daemon.json format; flags win over it (default: \(DaemonConfig.defaultPath)).")
    var configFile: String?

    @Option(help: "Directory for host-wide caches (the KVM verdict, built guest kernels).")
    var cacheDir = "/var/cache/berth"

    @Option(help: "libvirt URI for utility VMs.")
    var libvirtURI = "qemu:///system"

    @Flag(inversion: .prefixedNo,
          help: "Start utility VMs as clones of a booted, saved VM of the same kernel, memory and CPUs (made under the root after the first cold boot).")
    var vmTemplates = true

    @Flag(help: "Turn the kernel's same-page merging (KSM) on for the host and offer all of each VM clone's memory to it, so clones of one template share what they hold alike; their QEMUs run without address-space randomisation so that those pages line up.")
    var vmMergeMemory = false

    @Option(name: .customLong("vm-pool"),
            help: "Keep N utility VMs of an architecture (amd64, arm64, arm) started as clones of their template, handed to the next containers that fit (no volumes or binds, at most one network), ARCH=N. Repeatable.")
    var vmPool: [String] = []

    @Option(help: "Seconds a utility VM's guest agent has to answer after the VM is created before the start fails.")
    var vmAgentTimeout = 30

    @Option(name: .customLong("registry-mirror"), help: "A mirror of Docker Hub (http[s]://host[:port]), or of another registry (REGISTRY=http[s]://host[:port]), tried before it. Repeatable.")
    var registryMirrors: [String] = []

    @Option(name: .customLong("insecure-registry"),
            help: "A registry (host[:port]) or address range (CIDR) to reach over plain HTTP. Loopback registries always are. Repeatable.")
    var insecureRegistries: [String] = []

    @Option(help: "The berth-shim executable (default: next to berthd).")
    var shim: String?

    @Option(help: "Unix socket of the Kubernetes CRI (runtime.v1), root's only (default: cri.sock in --exec-root, /run/berth/cri.sock); \"\" serves none.")
    var criSocket: String?

    @Option(help: "host:port of the CRI's streaming server, where Exec, Attach and PortForward URLs point (default: 127.0.0.1:0, any free port).")
    var criStreamAddress: String = "127.0.0.1:0"

    @Option(name: .customLong("userns-remap"),
            help: "Give every container its own user namespace unless it asks for --userns=host: auto (or default), or empty.")
    var usernsRemap: String?

    @Option(help: "The default network's bridge device, made if missing (at most 15 characters, starting with berth; default berth0).")
    var bridge: String?

    @Option(help: "The default network's gateway address and subnet, as 172.17.0.1/16 (default: a free /16 found when first needed).")
    var bip: String?

    @Flag(help: "Check the store under --root and --exec-root for what a killed daemon or a full disk left (partial downloads, orphaned layers, directories and mounts), repair what is safe, report the rest, and exit: 0 when the store is consistent. Refused while a daemon uses the root.")
    var check = false

    @Option(help: "Log level: debug, info, warn, error, fatal (default: info).")
    var logLevel: String?

    @Option(name: .customLong("log-opt"), help: "A default json-file log option for containers, KEY=VALUE (max-size, max-file). Repeatable.")
    var logOptions: [String] = []

    @Option(name: .customLong("default-ulimit"), help: "A default ulimit for containers, NAME=SOFT[:HARD]. Repeatable.")
    var defaultUlimits: [String] = []

    /// The settings the flags give; unset ones come from the configuration file.
    func flagConfig() throws -> DaemonConfig {
        var config = DaemonConfig()
        config.dataRoot = root
        config.execRoot = execRoot
        config.bridge = bridge
        config.bridgeAddress = bip
        config.usernsRemap = usernsRemap
        config.logLevel = logLevel
        config.registryMirrors = registryMirrors.isEmpty ? nil : registryMirrors
        config.insecureRegistries = insecureRegistries.isEmpty ? nil : insecureRegistries
        if !logOptions.isEmpty {
            config.logOptions = try Dictionary(logOptions.map { option in
                guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                    throw ValidationError("--log-opt: KEY=VALUE, not \(option)")
                }
                return (String(option[..<equals]), String(option[option.index(after: equals)...]))
            }) { _, last in last }
        }
        if !defaultUlimits.isEmpty {
            config.defaultUlimits = try defaultUlimits.map { text in
                guard let limit = Ulimit(parsing: text) else { throw ValidationError("--default-ulimit: NAME=SOFT[:HARD], not \(text)") }
                return limit
            }
        }
        do {
            try config.check()
        } catch let problem as DaemonConfigError.Problem {
            throw ValidationError(problem.message)
        }
        return config
    }

    /// Flags over the configuration file.
    func effectiveConfig() throws -> DaemonConfig {
        let file = try DaemonConfig.read(path: configFile ?? DaemonConfig.defaultPath, explicitlyRequested: configFile != nil)
        return try flagConfig().overriding(file)
    }

    func run() async throws {
        let config: DaemonConfig
        let level: Logger.Level
        do {
            config = try effectiveConfig()
            level = try config.resolvedLogLevel()
        } catch {
            FileHandle.standardError.write(Data("berthd: \(error)\n".utf8))
            throw ExitCode.failure
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "berthd")
        if check { try checkStore(config: config) }
        do {
            try await serve(config: config, logger: logger)
        } catch {
            // One clear line, then a failing exit: the caller (a person, a service manager) sees why.
            FileHandle.standardError.write(Data("berthd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// `--check`: the start's own repairs, run alone and reported one line each.
    private func checkStore(config: DaemonConfig) throws -> Never {
        let root = config.resolvedDataRoot
        guard geteuid() == 0 else {
            FileHandle.standardError.write(Data("berthd: --check must run as root\n".utf8))
            throw ExitCode.failure
        }
        guard FileManager.default.fileExists(atPath: root + "/berth.db") else {
            print("no store under \(root): nothing to check")
            throw ExitCode.success
        }
        let findings: [StoreFinding]
        do {
            let lock = try RootLock(root: root)
            defer { lock.release() }
            findings = try StoreCheck(root: root, execRoot: config.resolvedExecRoot).run()
        } catch {
            FileHandle.standardError.write(Data("berthd: --check: \(error)\n".utf8))
            throw ExitCode.failure
        }
        for finding in findings { print(finding) }
        let left = findings.filter { !$0.isRepaired }.count
        if left > 0 {
            print("\(root): \(left) problem\(left == 1 ? "" : "s") left to repair by hand")
            throw ExitCode.failure
        }
        print("\(root): consistent\(findings.isEmpty ? "" : " (\(findings.count) repaired)")")
        throw ExitCode.success
    }

    /// The registry client's connections are closed however serving ends.
    /// KSM is the host's: berthd turns it on, and leaves it on (other users of it may rely on it).
    static func startSamePageMerging(logger: Logger) throws {
        let control = "/sys/kernel/mm/ksm/run"
        guard let state = try? String(contentsOfFile: control, encoding: .utf8) else {
            throw ValidationError("--vm-merge-memory: this kernel has no same-page merging (\(control) is missing)")
        }
        guard state.trimmingCharacters(in: .whitespacesAndNewlines) != "1" else { return }
        do {
            try "1".write(toFile: control, atomically: false, encoding: .utf8)
        } catch {
            throw ValidationError("--vm-merge-memory: turning same-page merging on (\(control)): \(error)")
        }
        logger.notice("turned the kernel's same-page merging on for VM clones (\(control))")
    }

    private func serve(config: DaemonConfig, logger: Logger) async throws {
        // A registry that cannot be reached fails a pull in seconds: the registry client retries a
        // failed connection itself (a few times, backing off), so the pool must not keep trying
        // until its connect timeout for every one of those attempts.
        var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        do {
            try await serve(config: config, logger: logger, http: http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
    }

    private func serve(config: DaemonConfig, logger: Logger, http: HTTPClient) async throws {
        let root = config.resolvedDataRoot
        let execRoot = config.resolvedExecRoot
        let bridge = config.resolvedBridge
        guard geteuid() == 0 else {
            throw ValidationError("berthd must run as root (namespaces, mounts, cgroups and VMs need it)")
        }
        let listeners = try listeners(logger: logger)
        let socketPaths = listeners.compactMap { listener -> String? in
            if case .unix(let path, _, _) = listener { path } else { nil }
        }
        for directory in [root, execRoot] + socketPaths.map({ ($0 as NSString).deletingLastPathComponent }) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // Guest kernels and agents are cached here, and QEMU reads them as libvirt-qemu.
        try FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let lock = try RootLock(root: root)
        defer { lock.release() }
        let criSocketPath = criSocket ?? execRoot + "/cri.sock"
        if !criSocketPath.isEmpty {
            try FileManager.default.createDirectory(atPath: (criSocketPath as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        for path in socketPaths + [criSocketPath] where !path.isEmpty && SocketCheck.isListening(path) {
            throw ValidationError("another process is already serving \(path): stop it, or pass a different --socket or -H")
        }

        // What a killed daemon left is cleared before anything reads the store.
        for finding in try StoreCheck(root: root, execRoot: execRoot).run() {
            if finding.isRepaired {
                logger.notice("store check: \(finding)")
            } else {
                logger.warning("store check: \(finding)")
            }
        }
        let store = try StateStore(directory: root)
        let prober = HostProber(configuration: .init(libvirtURI: libvirtURI, scratchDirectory: root, cacheDirectory: cacheDir))
        let host = HostState(report: await prober.probe(logger: logger), cacheDirectory: cacheDir)
        let events = EventBus()
        let registry = RegistryClient(http: http, settings: try config.registrySettings())
        let images = ImageService(
            content: try ContentStore(root: root + "/content"),
            snapshots: try SnapshotStore(root: root + "/snapshots"),
            catalog: ImageCatalog(database: store.database),
            registry: registry,
            events: events,
            hostPlatform: await host.report.hostPlatform,
            imagesInUse: { [catalog = ContainerCatalog(database: store.database)] in try catalog.imageIDsInUse() })
        let shimPath = shim ?? (URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("berth-shim").path)
        let bridgeAddress = try config.resolvedBridgeAddress()
        guard FileManager.default.isExecutableFile(atPath: shimPath) else {
            throw ValidationError("berth-shim not found at \(shimPath): build it with `make build` (shim/), or pass --shim")
        }
        let containerPaths = ContainerPaths(root: root, execRoot: execRoot)
        let launcher = ShimLauncher(shimPath: shimPath, setupTimeout: .seconds(max(60, vmAgentTimeout + 30)))
        let poolSizes = try Dictionary(vmPool.map { try UtilityVMPool.parseSize($0) }, uniquingKeysWith: { $1 })
        if !vmTemplates, poolSizes.values.contains(where: { $0 > 0 }) {
            throw ValidationError("--vm-pool takes VM templates: drop --no-vm-templates")
        }
        // Pool VMs of a berthd before this one are of no use to it: they end before new ones start.
        let pool = UtilityVMPool(sizes: poolSizes, directory: root + "/vm-pool")
        pool.endAll()
        let utilityVMs = UtilityVMSettings(cacheDirectory: cacheDir, libvirtURI: libvirtURI,
                                           accelerator: await host.report.accelerator.kind == .kvm ? .kvm : .tcg,
                                           agentTimeoutSeconds: vmAgentTimeout,
                                           templates: vmTemplates ? VMTemplateStore(directory: root + "/vm-templates",
                                                                                    qemuUser: getpwnam(QEMUFileAccess.defaultUser) == nil ? nil : QEMUFileAccess.defaultUser,
                                                                                    mergesMemory: vmMergeMemory) : nil,
                                           pool: pool.sizes.isEmpty ? nil : pool,
                                           hostArchitecture: await host.report.hostPlatform.architecture,
                                           unreachableFiles: await host.report.vmFileAccess.available ? nil : host.report.vmFileAccess.detail,
                                           logger: logger)
        if let unreachable = utilityVMs.unreachableFiles { logger.warning("utility VMs cannot start: \(unreachable)") }
        if vmMergeMemory { try Self.startSamePageMerging(logger: logger) }
        // A template build that berthd's end cut short leaves a directory of no use.
        utilityVMs.templates?.removeUnfinished()
        let runtimes = ContainerRuntimes(cgroups: CgroupManager(), launcher: launcher, paths: containerPaths, utilityVMs: utilityVMs)
        let containers = try ContainerService(
            paths: containerPaths, catalog: ContainerCatalog(database: store.database), images: images, events: events,
            runtimes: runtimes, logger: logger, defaultUsernsMode: config.resolvedUsernsMode, containerDefaults: config.containerDefaults,
            guestKernelCache: cacheDir, hostState: host, defaultBridge: bridge, defaultBridgeAddress: bridgeAddress)
        // Shims kept containers running while berthd was away; follow them again before serving.
        await containers.restore()
        let registries = RegistryService(client: registry)
        let context = DaemonContext(
            root: root, execRoot: execRoot, socketPath: socketPaths[0], store: store, events: events, host: host,
            images: images, registry: registries, debug: logger.logLevel <= .debug,
            vmTemplates: utilityVMs.templates.map { templates in
                { [pool = utilityVMs.pool] in
                    let waiting = pool?.counts()
                    return templates.list().map { template in
                        .init(Architecture: template.architecture, Kernel: template.kernel, MemoryMiB: template.memoryMiB, VCPUs: template.vcpus,
                              Created: template.created.formatted(.iso8601), Fingerprint: template.fingerprint,
                              Pooled: waiting.map { $0[template.fingerprint] ?? 0 })
                    }
                }
            })

        var router = Router()
        SystemRoutes.register(on: &router, context: context)
        let spool = execRoot + "/spool"
        // Bodies and archives of requests cut short by a crash are of no further use.
        try? FileManager.default.removeItem(atPath: spool)
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let builder = ImageBuilder(containers: containers, images: images)
        ImageRoutes.register(on: &router, images: images, registry: registries, spoolDirectory: spool, intermediateImages: { try builder.cache.images() })
        AuthRoutes.register(on: &router, registry: registries)
        ContainerRoutes.register(on: &router, containers: containers, spoolDirectory: spool)
        VolumeRoutes.register(on: &router, containers: containers)
        NetworkRoutes.register(on: &router, containers: containers)
        BuildRoutes.register(on: &router, builder: builder, spoolDirectory: spool)
        DiskUsageRoutes.register(on: &router, containers: containers)
        SwarmRoutes.register(on: &router)
        let signals = SignalWatcher()
        let reprober = Reprober(prober: prober, host: host, logger: logger)
        var servers: [APIServer] = []
        for listener in listeners {
            do {
                servers.append(try await APIServer.bind(listener, router: router, spoolDirectory: spool, logger: logger))
            } catch {
                for server in servers { await server.close() }
                throw ValidationError("serving \(listener): \(error)")
            }
        }
        var criServer: CRIServer?
        var streamingServer: CRIStreamingServer?
        if !criSocketPath.isEmpty {
            do {
                let cache = cacheDir
                let pauseImage = try PauseImage(images: images, binary: (shimPath as NSString).deletingLastPathComponent + "/berth-pause",
                                                foreignBinary: { GuestKernel.pauseProgram(platformArchitecture: $0, cacheDirectory: cache) })
                guard let separator = criStreamAddress.lastIndex(of: ":"), let port = Int(criStreamAddress[criStreamAddress.index(after: separator)...]) else {
                    throw ValidationError("--cri-stream-address takes host:port, not \(criStreamAddress)")
                }
                let streamHost = String(criStreamAddress[..<separator]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                let streaming = try await CRIStreamingServer.bind(host: streamHost, port: port, containers: containers, logger: logger)
                streamingServer = streaming
                let runtime = CRIRuntimeService(host: host, containers: containers, images: images, pauseImage: pauseImage,
                                                streaming: streaming, logger: logger)
                criServer = try CRIServer.bind(path: criSocketPath, runtime: runtime, images: CRIImageService(images: images), logger: logger)
            } catch {
                for server in servers { await server.close() }
                await streamingServer?.close()
                throw ValidationError("serving the CRI on \(criSocketPath): \(error)")
            }
        }
        let report = await host.report
        logger.info("berthd \(BerthVersion.version) listening", metadata: [
            "on": "\(listeners.map(\.description).joined(separator: ", "))", "cri": "\(criSocketPath.isEmpty ? "off" : criSocketPath)", "root": "\(root)", "pid": "\(getpid())",
            "accelerator": "\(report.accelerator.kind.rawValue)", "cgroups": "\(report.cgroups.layout.rawValue)",
        ])

        // Runs until a shutdown signal, or until the server fails; either way everything is closed.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in servers { group.addTask { try await server.run() } }
            if let criServer { group.addTask { try await criServer.run() } }
            group.addTask {
                for await request in signals.requests {
                    switch request {
                    case .reload:
                        reloadRegistries(registry, logger: logger)
                        await publishReload(host: host, events: events, store: store)
                        await reprober.request()
                    case .shutdown(let signal):
                        logger.info("shutting down", metadata: ["signal": "\(signal)"])
                        return
                    }
                }
            }
            try await group.next()
            for server in servers { await server.close() }
            criServer?.close()
            await streamingServer?.close()
            // Pool VMs wait for containers of this berthd only, helper VMs for its next request.
            pool.endAll()
            await runtimes.endIdleHelperVMs()
            await events.finishAll()
            group.cancelAll()
            // A request stuck in something that cannot be cancelled must not keep berthd up; its
            // state is crash-safe, and containers run on under their shims.
            let watchdog = Task.detached {
                try await Task.sleep(for: .seconds(10))
                logger.warning("requests still running 10 s after the shutdown signal; exiting anyway")
                Glibc.exit(0)
            }
            try await group.waitForAll()
            watchdog.cancel()
        }
        logger.info("stopped")
    }

    /// SIGHUP: the configuration file's mirrors and insecure registries apply from the next pull
    /// (flags still win). A file that no longer reads leaves the running settings as they were.
    private func reloadRegistries(_ registry: RegistryClient, logger: Logger) {
        do {
            let settings = try effectiveConfig().registrySettings()
            registry.settings = settings
            logger.info("registry settings reloaded", metadata: [
                "mirrors": "\(settings.mirrors)", "insecure": "\(settings.insecureRegistries + settings.insecureCIDRs.map(\.description))",
            ])
        } catch {
            logger.error("configuration not reloaded: \(error)")
        }
    }

    /// SIGHUP's event goes out at once, with what the host report says now; the probe that may
    /// change it runs after, in the background (see `Reprober`).
    private func publishReload(host: HostState, events: EventBus, store: StateStore) async {
        let daemonID = (try? store.daemonID()) ?? ""
        await events.publish(EngineEvent(
            type: "daemon", action: "reload", actorID: daemonID,
            attributes: ["name": ProcessInfo.processInfo.hostName, "accelerator": await host.report.accelerator.kind.rawValue]))
    }
}
