import API
import APIModels
import ArgumentParser
import AsyncHTTPClient
import Engine
import Foundation
import HostProbe
import ImageStore
import Logging
import Networking
import NativeRuntime
import Registry
import SystemSupport

@main
struct Berthd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berthd",
        abstract: "The Berth daemon: runs OCI images of any platform, serving the Docker Engine API.",
        version: BerthVersion.version)

    @Option(help: "Directory for persistent state.")
    var root = "/var/lib/berth"

    @Option(help: "Directory for runtime files (sockets, pids).")
    var execRoot = "/run/berth"

    @Option(help: "Unix socket the API listens on (created with mode 0660).")
    var socket = "/run/berth/berth.sock"

    @Option(help: "Directory for host-wide caches (the KVM verdict, built guest kernels).")
    var cacheDir = "/var/cache/berth"

    @Option(help: "libvirt URI for utility VMs.")
    var libvirtURI = "qemu:///system"

    @Option(help: "Seconds a utility VM's guest agent has to answer after the VM is created before the start fails.")
    var vmAgentTimeout = 30

    @Option(name: .customLong("insecure-registry"), help: "A registry (host:port) to reach over plain HTTP. Loopback registries always are. Repeatable.")
    var insecureRegistries: [String] = []

    @Option(help: "The berth-shim executable (default: next to berthd).")
    var shim: String?

    @Option(name: .customLong("userns-remap"),
            help: "Give every container its own user namespace unless it asks for --userns=host: auto (or default), or empty.")
    var usernsRemap = ""

    @Option(help: "The default network's bridge device, made if missing (at most 15 characters, starting with berth).")
    var bridge = "berth0"

    @Option(help: "The default network's gateway address and subnet, as 172.17.0.1/16 (default: a free /16 found when first needed).")
    var bip: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "berthd")
        do {
            try await serve(logger: logger)
        } catch {
            // One clear line, then a failing exit: the caller (a person, a service manager) sees why.
            FileHandle.standardError.write(Data("berthd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func serve(logger: Logger) async throws {
        guard geteuid() == 0 else {
            throw ValidationError("berthd must run as root (namespaces, mounts, cgroups and VMs need it)")
        }
        for directory in [root, execRoot, (socket as NSString).deletingLastPathComponent] {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // Guest kernels and agents are cached here, and QEMU reads them as libvirt-qemu.
        try FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let lock = try RootLock(root: root)
        defer { lock.release() }
        if SocketCheck.isListening(socket) {
            throw ValidationError("another process is already serving \(socket): stop it, or pass a different --socket")
        }

        let store = try StateStore(directory: root)
        let prober = HostProber(configuration: .init(libvirtURI: libvirtURI, scratchDirectory: root, cacheDirectory: cacheDir))
        let host = HostState(report: await prober.probe(logger: logger))
        let events = EventBus()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let registry = RegistryClient(http: http, configuration: .init(insecureRegistries: Set(insecureRegistries)))
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
        // Isolation between networks drops forwarding from one berth* bridge to another.
        guard bridge.hasPrefix("berth"), bridge.utf8.count <= 15 else {
            throw ValidationError("--bridge: a name of at most 15 characters starting with berth")
        }
        var bridgeAddress: (gateway: IPv4Address, subnet: IPv4Subnet)?
        if let bip {
            let parts = bip.split(separator: "/")
            guard parts.count == 2, let gateway = IPv4Address(parts[0]), let length = Int(parts[1]), (8...30).contains(length) else {
                throw ValidationError("--bip: an address and prefix length, as 172.17.0.1/16")
            }
            bridgeAddress = (gateway, IPv4Subnet(gateway, prefixLength: length))
        }
        guard ["", "auto", "default"].contains(usernsRemap) else {
            throw ValidationError("--userns-remap: use auto (or default); Berth picks the ids itself")
        }
        guard FileManager.default.isExecutableFile(atPath: shimPath) else {
            throw ValidationError("berth-shim not found at \(shimPath): build it with `make build` (shim/), or pass --shim")
        }
        let containers = try ContainerService(
            paths: ContainerPaths(root: root, execRoot: execRoot), catalog: ContainerCatalog(database: store.database),
            images: images, events: events, cgroups: CgroupManager(), launcher: ShimLauncher(shimPath: shimPath, setupTimeout: .seconds(max(60, vmAgentTimeout + 30))),
            logger: logger, defaultUsernsMode: usernsRemap == "default" ? "auto" : usernsRemap,
            utilityVMs: UtilityVMSettings(cacheDirectory: cacheDir, libvirtURI: libvirtURI,
                                          accelerator: await host.report.accelerator.kind == .kvm ? .kvm : .tcg,
                                          agentTimeoutSeconds: vmAgentTimeout),
            hostState: host, defaultBridge: bridge, defaultBridgeAddress: bridgeAddress)
        // Shims kept containers running while berthd was away; follow them again before serving.
        await containers.restore()
        let context = DaemonContext(
            root: root, execRoot: execRoot, socketPath: socket, store: store, events: events, host: host,
            images: images, debug: logLevel <= .debug)

        var router = Router()
        SystemRoutes.register(on: &router, context: context)
        let spool = execRoot + "/spool"
        // Bodies and archives of requests cut short by a crash are of no further use.
        try? FileManager.default.removeItem(atPath: spool)
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let builder = ImageBuilder(containers: containers, images: images)
        ImageRoutes.register(on: &router, images: images, spoolDirectory: spool, intermediateImages: { try builder.cache.images() })
        AuthRoutes.register(on: &router, registry: registry)
        ContainerRoutes.register(on: &router, containers: containers, spoolDirectory: spool)
        VolumeRoutes.register(on: &router, containers: containers)
        NetworkRoutes.register(on: &router, containers: containers)
        BuildRoutes.register(on: &router, builder: builder, spoolDirectory: spool)
        let signals = SignalWatcher()
        let server = try await APIServer.bind(
            socketPath: socket, mode: 0o660, router: router, spoolDirectory: spool, logger: logger)
        let report = await host.report
        logger.info("berthd \(BerthVersion.version) listening", metadata: [
            "socket": "\(socket)", "root": "\(root)", "pid": "\(getpid())",
            "accelerator": "\(report.accelerator.kind.rawValue)", "cgroups": "\(report.cgroups.layout.rawValue)",
        ])

        // Runs until a shutdown signal, or until the server fails; either way everything is closed.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask {
                for await request in signals.requests {
                    switch request {
                    case .reload:
                        await reprobe(prober: prober, host: host, events: events, store: store, logger: logger)
                    case .shutdown(let signal):
                        logger.info("shutting down", metadata: ["signal": "\(signal)"])
                        return
                    }
                }
            }
            try await group.next()
            await server.close()
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
        try? await http.shutdown()
        logger.info("stopped")
    }

    /// SIGHUP: probe the host again (a new qemu, libvirt restarted, binfmt registered) and say so.
    private func reprobe(prober: HostProber, host: HostState, events: EventBus, store: StateStore, logger: Logger) async {
        let report = await prober.probe(logger: logger)
        await host.replace(with: report)
        let daemonID = (try? store.daemonID()) ?? ""
        await events.publish(EngineEvent(
            type: "daemon", action: "reload", actorID: daemonID,
            attributes: ["name": ProcessInfo.processInfo.hostName, "accelerator": report.accelerator.kind.rawValue]))
        logger.info("host re-probed on SIGHUP")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
