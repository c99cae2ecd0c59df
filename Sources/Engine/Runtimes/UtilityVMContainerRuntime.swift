import APIModels
import Foundation
import NativeRuntime
import Networking
import OCI
import Synchronization
import SystemSupport
import VMRuntime

/// Containers in utility VMs: the VM is a transient libvirt domain booting the guest kernel; each
/// image layer is a read-only disk, the container's writable layer a disk of its own, and the
/// guest agent assembles the overlay and runs the process for the container's shim, which holds
/// the agent's port.
final class UtilityVMContainerRuntime: ShimHostedRuntime {
    let settings: UtilityVMSettings
    let paths: ContainerPaths
    let shims: ShimHost
    private let state = Mutex(MutableState())
    let helperVMs = HelperVMSessions()
    /// Layer deliveries into VMs that containers join, one at a time per VM.
    let sharedVMDeliveries = KeyedSerialQueue()

    private struct MutableState {
        /// One libvirt connection, made when the first VM is needed.
        var libvirt: LibvirtHypervisor?
        /// VMs being ended in the background (libvirt takes a second or more); a restart of the
        /// same container waits for its old VM to be gone.
        var teardowns: [String: Task<Void, Never>] = [:]
        /// Templates being built, by fingerprint: one build each at a time.
        var templateBuilds: Set<String> = []
        /// Pools being filled, by template fingerprint: one filler each at a time.
        var poolFills: Set<String> = []
    }

    init(settings: UtilityVMSettings, launcher: ShimLauncher, paths: ContainerPaths) {
        self.settings = settings
        self.paths = paths
        shims = ShimHost(launcher: launcher, paths: paths)
        fillPool()
    }

    var capabilities: ContainerRuntimeCapabilities { [.pause, .liveNetworkChanges] }

    static func domainName(_ id: String) -> String { "berth-\(id.prefix(12))" }

    /// Where the agent assembles the container's root in the guest.
    static let guestRoot = "/rootfs"
    /// Where the overlay's upper directory is in the guest: on the writable disk, mounted at /writable.
    static let guestUpper = "/writable/upper"

    /// The VM is made at start: nothing to prepare.
    func prepare(_ record: ContainerRecord) throws -> ContainerCgroup? { nil }

    func launch(_ record: ContainerRecord, plan: ContainerLaunchPlan, networks: [NetworkRecord]) async throws
        -> LaunchedContainer
    {
        if let host = plan.sharedUtilityVM { return try await launchInSharedVM(record, host: host, plan: plan) }
        // Not while a helper VM has the container's disks.
        await helperVMs.beginStart(of: record.id)
        defer { helperVMs.endStart(of: record.id) }
        // A VM that booted is ended by `cleanUp(after:)` when what follows fails.
        let (spec, qemuPID, details) = try await boot(record, plan: plan, networks: networks)
        let shim = try await shims.launch(spec, containerID: record.id)
        return LaunchedContainer(pid: qemuPID, supervisorPID: shim.shimPID, cgroup: nil, utilityVM: details)
    }

    /// The shim powers the VM off as the container ends; this ends one whose shim died first. The
    /// OOM killer's verdict is the guest's, which the agent gave with the exit.
    func cleanUp(after record: ContainerRecord) async -> Bool {
        // A container that joined another's VM leaves the VM to it, and its host paths in the VM's share.
        if let host = Self.sharedVMHostID(record) {
            PodShare(vmDirectory: paths.vmDirectory(host)).release(member: Self.sharedVMName(record.id))
        } else {
            endVM(record)
        }
        return recordedExit(of: record.id)?.oomKilled ?? false
    }

    func remove(_ record: ContainerRecord) async {
        // Its writes stay on the VM's writable disk until that container is removed.
        guard Self.sharedVMHostID(record) == nil else { return }
        await helperVMs.finish(record.id)
        let paths = paths, hypervisor = try? hypervisor()
        _ = try? await runBlocking { Self.endStaleHelper(record.id, paths: paths, hypervisor: hypervisor) }
        endVM(record, removingFiles: true)
        // QEMU may still hold the disks open while it ends; their space is freed when it lets go.
        _ = state.withLock { $0.teardowns.removeValue(forKey: record.id) }
        do {
            try MountTable.removeUnmounted(paths.vmDirectory(record.id))
        } catch {
            settings.logger.warning("a utility VM's directory stays", metadata: ["container": "\(record.id)", "error": "\(error)"])
        }
    }

    /// An exec in a VM container: the container's shim relays it to the agent, which runs it in
    /// the container's root.
    func launchExec(_ record: ContainerRecord, plan: ContainerLaunchPlan, config: ExecConfig, execID: String) async throws
        -> any ContainerProcess
    {
        let filter = try plan.seccompFilter(from: paths.seccompFilters, architecture: Self.imageArchitecture(record, plan: plan),
                                            privilegedExec: config.Privileged == true)
        var spec = try plan.confinedExecSpec(config, execID: execID, seccompFilter: filter)
        let route = agentRoute(record)
        spec.placement = .utilityVMExec(relay: route.socket, root: route.container.map(Self.sharedVMRoot) ?? Self.guestRoot,
                                        container: route.container)
        return try await shims.launchExec(spec, containerID: record.id, execID: execID)
    }

    /// The container's cgroup in the guest is frozen, as a native one's on the host: the VM and its
    /// clock run on, and execs and the agent's builtins (outside that cgroup) still work.
    func setFrozen(_ frozen: Bool, _ record: ContainerRecord) throws {
        _ = try guestBuiltin(record, for: frozen ? "pause" : "unpause", timeout: .seconds(30)) {
            try $0.run(.freeze, frozen ? "1" : "0", inContainer: false)
        }
    }

    func updateResources(of record: ContainerRecord) throws {
        throw ContainerError.invalid(
            "changing the resources of a running container in a utility VM is not available yet (container \(record.name)): stop it first")
    }

    /// The container's `-m`, `--memory-reservation`, `--cpus` (or quota), `--cpu-shares` and
    /// `--pids-limit` as writes to its cgroup in the guest, made before it starts, as berth-shim
    /// makes them natively: the VM is sized for the container, and the cgroup holds it to its
    /// limits inside it. Only the files the guest's controllers have (no cpuset, no swap).
    static func guestCgroupLimits(_ limits: CgroupLimits, cgroup path: String = "/sys/fs/cgroup/container") throws
        -> [LaunchSpec.VMRequest]
    {
        let cgroup = ContainerCgroup(v1: [:], unified: path, unifiedHasControllers: true)
        let guestFiles: Set<String> = ["memory.max", "memory.low", "cpu.max", "cpu.weight", "pids.max"]
        var requests: [LaunchSpec.VMRequest] = []
        try CgroupManager.apply(limits, to: cgroup) { value, path in
            guard guestFiles.contains((path as NSString).lastPathComponent) else { return }
            requests.append(.init(kind: "w", tokens: [("path", path), ("data", value)]))
        }
        return requests
    }

    /// A network card plugged into the running VM (through libvirt for a cold-booted VM, through
    /// QEMU's monitor for a clone) on an empty root port, put on the network's bridge, then
    /// addressed by the agent once the guest has found it. A card that cannot be addressed is
    /// unplugged again.
    func plugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, into record: ContainerRecord) async throws {
        guard let mac = attachment.macAddress, let device = attachment.hostInterface, let address = attachment.address else { return }
        let interface = UtilityVMDefinition.Interface(bridge: network.bridge, macAddress: mac, device: device)
        let directory = paths.vmDirectory(record.id), name = Self.domainName(record.id)
        let clone = QEMUProcess.pid(runDirectory: directory) != nil
        let hypervisor = clone ? nil : try self.hypervisor()
        let ports = settings.templates?.layout.hotplugPorts ?? UtilityVMDefinition.hotplugPorts
        do {
            try await runBlocking {
                if let hypervisor {
                    try hypervisor.plug(interface, into: name)
                } else {
                    try CloneNetworkCards.plug(interface, runDirectory: directory, ports: ports)
                    try self.attachTaps([interface])
                }
            }
        } catch let error as ContainerError {
            throw error
        } catch {
            throw ContainerError.conflict("connecting container \(record.name) to network \(network.name): \(error)")
        }
        do {
            _ = try guestBuiltin(record, for: "connecting to network \(network.name)", timeout: .seconds(30)) {
                try $0.run(.address, mac, "\(address)/\(network.subnet.prefixLength)", inContainer: false)
            }
        } catch {
            try? await unplugNetwork(attachment, on: network, from: record)
            throw error
        }
    }

    /// The card is unplugged and the guest lets go of it (its address goes with it); returns once its TAP is gone.
    func unplugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, from record: ContainerRecord) async throws {
        guard let mac = attachment.macAddress, let device = attachment.hostInterface else { return }
        let interface = UtilityVMDefinition.Interface(bridge: network.bridge, macAddress: mac, device: device)
        let directory = paths.vmDirectory(record.id), name = Self.domainName(record.id)
        let hypervisor = QEMUProcess.pid(runDirectory: directory) == nil ? try self.hypervisor() : nil
        // Once the host has asked, the agent powers the card's slot off: an ARM guest's PCIe hot-plug
        // driver would wait five seconds first. Where the guest lets go at once (ACPI), nothing is left.
        let relay = paths.socket(record.id)
        let hastened = Task.detached {
            try? await Task.sleep(for: .milliseconds(300))
            _ = try? GuestBuiltin(relaySocket: relay, timeout: .seconds(10)).run(.release, mac, inContainer: false)
        }
        defer { hastened.cancel() }
        do {
            try await runBlocking {
                if let hypervisor {
                    try hypervisor.unplug(interface, from: name)
                    // libvirt may return with the guest's release still pending.
                    let deadline = ContinuousClock.now + .seconds(20)
                    let links = try RouteSocket()
                    while links.index(of: device) != nil {
                        guard ContinuousClock.now < deadline else { throw QEMUError.failed("the guest did not let go of its card \(device)") }
                        usleep(50_000)
                    }
                } else {
                    try CloneNetworkCards.unplug(interface, runDirectory: directory)
                }
            }
        } catch {
            throw ContainerError.conflict("disconnecting container \(record.name) from network \(network.name): \(error)")
        }
    }

    /// A VM container's writable layer is its disk, mounted in a guest: the agent lists it, checking
    /// the image's layers (mounted beside it) for each path.
    func writableLayerEntries(of record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> [WritableLayerEntry]? {
        let upper = Self.upperDirectory(of: record)
        let listed = try await withAgent(record, plan: plan, for: "diff") { try $0.run(.changes, upper, inContainer: false) }
        return WritableLayerEntry.parseGuestList(listed)
    }

    func writeLayer(of record: ContainerRecord, plan: ContainerLaunchPlan, placeholders: Set<String>, to path: String) async throws -> Bool {
        let upper = Self.upperDirectory(of: record)
        _ = try await withAgent(record, plan: plan, for: "commit") {
            try $0.run(.layer, upper, placeholders.sorted().joined(separator: ":"), inContainer: false, output: path)
        }
        return true
    }

    /// A VM container's files for `cp` and `export`, through an agent's builtins, whose statuses
    /// become the errors of the host's own file walk.
    func withFiles<T: Sendable>(of record: ContainerRecord, plan: ContainerLaunchPlan,
                                _ body: @escaping @Sendable (any ContainerFiles) throws -> T) async throws -> T? {
        try await withAgent(record, plan: plan, for: "copying files", translatingFailures: false) {
            try body(GuestContainerFiles(agent: $0))
        }
    }

    /// Runs `body` on a thread of its own with an agent that reaches the container's disks: a running
    /// container's own, through its shim; a stopped one's in a helper VM (`bootHelper`) with its disks,
    /// volumes and binds mounted as at its start, which the host never mounts itself (the guest
    /// kernel reads the untrusted filesystem). A builtin's failure is a conflict unless the body
    /// says what it means itself.
    private func withAgent<T: Sendable>(_ record: ContainerRecord, plan: ContainerLaunchPlan, for operation: String,
                                        translatingFailures: Bool = true, _ body: @escaping @Sendable (GuestBuiltin) throws -> T) async throws -> T {
        do {
            if record.state.isActive {
                let route = agentRoute(record)
                let agent = GuestBuiltin(relaySocket: route.socket, container: route.container)
                return try await runBlocking { try body(agent) }
            }
            guard Self.sharedVMHostID(record) == nil else {
                throw ContainerError.conflict("\(operation) of container \(record.name) needs it running: its files are in the utility VM "
                    + "it shared, which no helper VM reaches")
            }
            return try await helperVMs.withHelper(containerID: record.id, name: record.name, operation: operation,
                                                  boot: { try await self.bootHelper(record, plan: plan) }) { helper in
                let agent = try helper.agent
                return try await runBlocking { try body(agent) }
            }
        } catch let failure as GuestBuiltin.Failure where translatingFailures {
            throw ContainerError.conflict("\(operation) of container \(record.id): \(failure.message)")
        }
    }

    /// Runs a builtin of a running VM container's agent for `operation`, its failure said as a conflict.
    private func guestBuiltin<T>(_ record: ContainerRecord, for operation: String, timeout: Duration = .seconds(600),
                                 _ body: (GuestBuiltin) throws -> T) throws -> T {
        guard record.state.isActive else { throw ContainerError.conflict("Container \(record.id) is not running") }
        let route = agentRoute(record)
        do {
            return try body(GuestBuiltin(relaySocket: route.socket, container: route.container, timeout: timeout))
        } catch let failure as GuestBuiltin.Failure {
            throw ContainerError.conflict("\(operation) of container \(record.id): \(failure.message)")
        }
    }

    /// The processes of the container's cgroup in the guest, with the guest's pids.
    func processes(of record: ContainerRecord) throws -> [ContainerProcessEntry] {
        let listed = try guestBuiltin(record, for: "top", timeout: .seconds(30)) { try $0.run(.processes, "", inContainer: false) }
        return ContainerProcessEntry.parseGuestList(String(decoding: listed, as: UTF8.self))
    }

    /// The counters of the container's cgroup and network in the guest, the guest's memory as the
    /// limit it has none of its own, and what the VM costs the host (`utility_vm_rss`, QEMU's
    /// resident memory) among the memory stats.
    func usage(of record: ContainerRecord) -> ContainerResourceUsage? {
        guard let listed = try? guestBuiltin(record, for: "stats", timeout: .seconds(10), { try $0.run(.cgroup, "", inContainer: false) })
        else { return nil }
        let files = Self.sections(String(decoding: listed, as: UTF8.self))
        let guestMemory = UInt64(record.state.utilityVM?.MemoryMiB ?? 0) << 20
        var usage = ContainerResourceUsage(CgroupStats(unifiedFiles: { files[$0] }, memoryWhenUnlimited: guestMemory))
        usage.networks = files["net/dev"].map(ContainerResourceUsage.interfaces) ?? [:]
        if let status = try? String(contentsOfFile: "/proc/\(record.state.pid)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
           let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) }) {
            usage.memoryStat["utility_vm_rss"] = kibibytes << 10
        }
        return usage
    }

    /// The `cgroup` builtin's output: "== NAME" lines, each followed by that file's contents.
    static func sections(_ text: String) -> [String: String] {
        var files: [String: String] = [:]
        var name: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("== ") {
                name = String(line.dropFirst(3))
                files[name!] = ""
            } else if let name {
                files[name, default: ""] += line + "\n"
            }
        }
        return files
    }

    /// The last lines of the VM's serial console, to say why it ended.
    func failureDetail(of record: ContainerRecord) -> String {
        let vm = Self.sharedVMHostID(record) ?? record.id
        guard let text = try? String(contentsOfFile: paths.vmDirectory(vm) + "/console.log", encoding: .utf8) else { return "" }
        let lines = text.split(whereSeparator: \.isNewline).suffix(5)
        guard !lines.isEmpty else { return "" }
        // A kernel given by path has no modules beside it: what the agent needs must be built in.
        let custom = record.hostConfig.Annotations?[HostConfig.vmKernelAnnotation]?.hasPrefix("/") == true
            ? " (a guest kernel given by path boots with the agent's initramfs alone: it needs virtio PCI, console, block and net, "
                + "ext4, overlay and 9p built in)" : ""
        return "; its console ended with: " + lines.joined(separator: " | ") + custom
    }

    /// One libvirt connection, made when the first VM is needed; made again when libvirtd went away.
    func hypervisor() throws -> LibvirtHypervisor {
        try state.withLock { state in
            if let libvirt = state.libvirt, libvirt.answers { return libvirt }
            let made = try LibvirtHypervisor(uri: settings.libvirtURI)
            state.libvirt = made
            return made
        }
    }

    /// Returns once the container's VM, if one was ending, has ended and let go of its disks.
    func waitForTeardown(of id: String) async {
        await state.withLock { $0.teardowns[id] }?.value
    }

    /// Ends the container's VM if it still runs, in the background: nothing of a transient domain
    /// remains after, and its agent's socket goes too (QEMU leaves it when killed). The writable
    /// disk stays with the container.
    /// With `removingFiles`, the VM's directory goes again once the VM has ended: a domain still
    /// ending may write its files after the caller removed them.
    private func endVM(_ record: ContainerRecord, removingFiles: Bool = false) {
        let id = record.id, directory = paths.vmDirectory(id)
        let socket = directory + "/agent.sock", name = Self.domainName(id)
        // A clone is a QEMU of berthd's own, found by its pid file (also when its container never
        // started) before the caller may remove it; a cold boot is a libvirt domain.
        let clone = QEMUProcess.pid(runDirectory: directory)
        let hypervisor = clone == nil ? try? self.hypervisor() : nil
        // The shim asks the guest to power off once it has recorded the container's end.
        let poweringOff = recordedExit(of: id) != nil
        state.withLock { state in
            let previous = state.teardowns[id]
            state.teardowns[id] = Task.detached {
                await previous?.value
                // Waiting for QEMU or libvirt blocks a thread for up to seconds: not one of the pool's.
                _ = try? await runBlocking {
                    // Asked here only when its shim did not ask (it died first) and the VM still runs.
                    let stillRunning = clone != nil || hypervisor?.isRunning(name) == true
                    let agent = poweringOff || !stillRunning
                        ? nil : try? GuestAgentConnection(socket: socket, deadline: .now + .milliseconds(300))
                    Self.powerOff(clone: clone, domain: name, runDirectory: directory, hypervisor: hypervisor, agent: agent,
                                  poweringOff: poweringOff)
                    unlink(socket)
                    PodShare(vmDirectory: directory).releaseAll()
                    if removingFiles { try? MountTable.removeUnmounted(directory) }
                }
            }
        }
    }

    /// Ends a VM once its guest has synced its disks: asked through `agent` when given (a free port:
    /// its shim is gone) or powering off already when `poweringOff`, it is given up to ten seconds
    /// to do so; then what is left of it ends at once, a clone's QEMU or a cold boot's domain.
    static func powerOff(clone: Int32?, domain: String, runDirectory: String, hypervisor: LibvirtHypervisor?,
                         agent: GuestAgentConnection?, poweringOff: Bool) {
        let asked = agent.map { (try? $0.shutDown()) != nil } ?? false
        let deadline = ContinuousClock.now + (asked || poweringOff ? .seconds(10) : .zero)
        if let clone {
            QEMUProcess.waitForExit(clone, deadline: deadline)
            QEMUProcess.end(clone, runDirectory: runDirectory)
        } else if let hypervisor {
            while hypervisor.isRunning(domain), ContinuousClock.now < deadline { usleep(20_000) }
            if hypervisor.isRunning(domain) { try? hypervisor.destroy(domain) }
        }
    }

    /// Starts the VM as a clone of its template when there is an intact one, else boots it through
    /// libvirt (and has the template made for next time). A clone that fails to start is ended and
    /// the VM booted cold instead, with a warning. A clone waiting in the pool is taken first when
    /// the VM needs no shares and at most one network. Returns QEMU's pid, the template cloned and
    /// whether the clone came from the pool.
    func start(_ definition: UtilityVMDefinition, hypervisor: LibvirtHypervisor, runDirectory: String) async throws
        -> (pid: Int32, template: VMTemplate?, pooled: Bool)
    {
        if let store = settings.templates, store.layout.fits(definition) {
            if let template = store.template(for: definition) {
                if let pool = settings.pool, definition.shares.isEmpty, definition.interfaces.count <= 1,
                   let member = pool.take(template.fingerprint) {
                    // Not while this VM's container starts: starting another clone would slow it.
                    defer { fillPool(after: .seconds(1)) }
                    do {
                        let pid = try await runBlocking { try self.handOver(member, to: definition, store: store, runDirectory: runDirectory) }
                        return (pid, template, true)
                    } catch {
                        settings.logger.warning("a pool VM could not be handed to its container; starting a clone instead",
                                                metadata: ["vm": "\(definition.name)", "error": "\(error)"])
                        _ = try? await runBlocking { Self.discard(member, movedInto: runDirectory) }
                    }
                }
                do {
                    let pid = try await runBlocking { try store.startClone(of: template, as: definition, runDirectory: runDirectory) }
                    return (pid, template, false)
                } catch {
                    // A template QEMU cannot load is of no use to the next VM either: it is made again.
                    settings.logger.warning("a utility VM's clone of its template failed; booting it cold and making the template again",
                                            metadata: ["vm": "\(definition.name)", "template": "\(template.fingerprint)", "error": "\(error)"])
                    try? FileManager.default.removeItem(atPath: store.path(template.fingerprint))
                    buildTemplate(like: definition, store: store)
                }
            } else {
                buildTemplate(like: definition, store: store)
            }
        }
        try await runBlocking { try hypervisor.create(definition) }
        let pidText = try? String(contentsOfFile: "/run/libvirt/qemu/\(definition.name).pid", encoding: .utf8)
        return (Int32(pidText?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0, nil, false)
    }

    /// Makes a pool clone the container's VM: its files moved into the VM's directory (QEMU keeps
    /// them open, the agent's socket answers at its new path), the container's disks handed to it,
    /// its TAP renamed to the container's and put on the network's bridge. Returns QEMU's pid.
    private func handOver(_ member: UtilityVMPool.Member, to definition: UtilityVMDefinition, store: VMTemplateStore,
                          runDirectory: String) throws -> Int32 {
        for file in Self.poolFiles {
            guard rename(member.directory + "/" + file, runDirectory + "/" + file) == 0 || errno == ENOENT else {
                throw SystemError.call("moving the pool VM's \(file)", errno)
            }
        }
        try? FileManager.default.removeItem(atPath: member.directory)
        try store.handDisks(toCloneIn: runDirectory, layers: definition.disks.dropLast().map(\.path),
                            writable: definition.disks.last?.path ?? "")
        if let interface = definition.interfaces.first {
            let links = try RouteSocket()
            guard let tap = links.index(of: member.tap) else {
                throw ContainerError.startFailed(code: 125, message: "the pool VM's network card \(member.tap) is missing")
            }
            try links.rename(tap, to: interface.device)
        }
        return member.pid
    }

    /// Ends a pool clone whose hand-over failed part way, wherever its files are by then; the
    /// container's own files in `runDirectory` stay for the clone started instead.
    private static func discard(_ member: UtilityVMPool.Member, movedInto runDirectory: String) {
        for directory in [member.directory, runDirectory] { QEMUProcess.end(member.pid, runDirectory: directory) }
        try? FileManager.default.removeItem(atPath: member.directory)
        for file in poolFiles { unlink(runDirectory + "/" + file) }
    }

    /// What a pool clone keeps in its directory, moved with it to its container's.
    private static let poolFiles = ["qemu.pid", "qmp.sock", "agent.sock", "console.log", "qemu.log"]

    private func fillPool(after delay: Duration) {
        Task.detached {
            try? await Task.sleep(for: delay)
            self.fillPool()
        }
    }

    /// Starts clones for the pool until each architecture has as many waiting as asked, in the
    /// background; a template not made yet is made first, and the pool filled after.
    func fillPool() {
        guard let pool = settings.pool, let store = settings.templates, settings.unreachableFiles == nil else { return }
        for (architecture, size) in pool.sizes.sorted(by: { $0.key < $1.key }) {
            let directory = pool.directory
            guard let (model, _) = try? machineDefinition(imageArchitecture: architecture, name: "berth-pool", directory: directory,
                                                          accelerator: nil) else { continue }
            let fingerprint = VMTemplate.fingerprint(of: model, layout: store.layout)
            guard pool.count(of: fingerprint) < size, state.withLock({ $0.poolFills.insert(fingerprint).inserted }) else { continue }
            let logger = settings.logger
            Task.detached {
                defer { _ = self.state.withLock { $0.poolFills.remove(fingerprint) } }
                do {
                    try await runBlocking {
                        guard let template = store.template(for: model) else { return self.buildTemplate(like: model, store: store) }
                        while pool.count(of: template.fingerprint) < size {
                            pool.add(try Self.startPoolMember(of: template, like: model, store: store, in: directory))
                        }
                    }
                } catch {
                    logger.warning("starting a pool VM failed", metadata: ["architecture": "\(architecture)", "error": "\(error)"])
                }
            }
        }
    }

    /// A clone with blank disks, a TAP of its own on no bridge and no shares, in a new directory under `directory`.
    private static func startPoolMember(of template: VMTemplate, like model: UtilityVMDefinition, store: VMTemplateStore,
                                        in directory: String) throws -> UtilityVMPool.Member {
        let name = String(format: "%010x", UInt64.random(in: 0..<(1 << 40)))
        let runDirectory = directory + "/" + name
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        // QEMU, once it has dropped root, reaches its sockets through these.
        for path in [(directory as NSString).deletingLastPathComponent, directory, runDirectory] { chmod(path, 0o711) }
        var definition = model
        definition.name = "berth-pool-" + name
        definition.consoleLog = runDirectory + "/console.log"
        definition.agentSocket = runDirectory + "/agent.sock"
        let tap = "vp" + name
        definition.interfaces = [.init(bridge: "", macAddress: VMTemplateLayout.templateMAC(0), device: tap)]
        do {
            // A blank of its own for writes: QEMU locks a disk it may write against every other QEMU.
            let blank = runDirectory + "/blank-writable"
            try VMTemplateStore.makeSparseFile(blank, bytes: VMTemplateLayout.blankDiskBytes, mode: 0o644)
            definition.disks = [.init(path: blank, readOnly: false)]
            let pid = try store.startClone(of: template, as: definition, runDirectory: runDirectory)
            return .init(fingerprint: template.fingerprint, directory: runDirectory, pid: pid, tap: tap)
        } catch {
            try? FileManager.default.removeItem(atPath: runDirectory)
            throw error
        }
    }

    /// Makes the template `definition` would be cloned from, in the background, once at a time.
    private func buildTemplate(like definition: UtilityVMDefinition, store: VMTemplateStore) {
        let fingerprint = VMTemplate.fingerprint(of: definition, layout: store.layout)
        guard state.withLock({ $0.templateBuilds.insert(fingerprint).inserted }) else { return }
        let logger = settings.logger, timeout = Duration.seconds(settings.agentTimeoutSeconds)
        // QEMU's user writes the template's state under the root, maybe before any VM booted.
        chmod(paths.base, 0o711)
        Task.detached {
            defer { _ = self.state.withLock { $0.templateBuilds.remove(fingerprint) } }
            do {
                let template = try await runBlocking { try store.build(for: definition, agentTimeout: timeout) }
                logger.info("made a utility VM template", metadata: ["template": "\(template.fingerprint)",
                                                                     "architecture": "\(definition.machine.architecture)"])
                self.fillPool()
            } catch {
                logger.warning("making a utility VM template failed; VMs keep booting cold", metadata: [
                    "template": "\(fingerprint)", "error": "\(error)"])
            }
        }
    }

    /// The VM an image of `imageArchitecture` runs in before the container's own needs (memory,
    /// CPUs, disks, networks, shares) are added: its machine, guest kernel (the cache's default
    /// unless one was `chosen`), accelerator and firmware.
    func machineDefinition(imageArchitecture: String, name: String, directory: String,
                                   accelerator requested: UtilityVMDefinition.Accelerator?,
                                   kernel chosen: GuestKernel? = nil) throws -> (UtilityVMDefinition, GuestKernel) {
        let architecture = GuestKernel.architecture(forPlatform: imageArchitecture)
        guard let machine = GuestMachine.forPlatform(architecture: imageArchitecture) else {
            throw ContainerError.startFailed(code: 125, message: "utility VMs for linux/\(imageArchitecture) are not available")
        }
        guard let guest = chosen ?? GuestKernel.select(architecture: architecture, cacheDirectory: settings.cacheDirectory) else {
            throw ContainerError.startFailed(code: 125, message: "no guest kernel for \(architecture) VMs: run `vm-images/build "
                + "\(architecture)` (make build does), and `guest-kernel/build \(architecture)` for the faster minimal kernel")
        }
        var definition = UtilityVMDefinition(name: name, kernel: guest.kernel, initramfs: guest.initramfs,
                                             consoleLog: directory + "/console.log", agentSocket: directory + "/agent.sock")
        definition.machine = machine
        // KVM runs only the host's own architecture.
        definition.accelerator = requested ?? (imageArchitecture == settings.hostArchitecture ? settings.accelerator : .tcg)
        if machine == .x86_64, FileManager.default.isReadableFile(atPath: UtilityVMDefinition.qboot) {
            definition.firmware = UtilityVMDefinition.qboot
        }
        return (definition, guest)
    }

    /// Boots the container's VM and returns the shim's spec, QEMU's pid and what was booted.
    private func boot(_ record: ContainerRecord, plan: ContainerLaunchPlan, networks: [NetworkRecord]) async throws
        -> (spec: LaunchSpec, qemuPID: Int32, details: ContainerRuntimeDetails.UtilityVM)
    {
        if let unreachable = settings.unreachableFiles { throw ContainerError.startFailed(code: 125, message: "utility VMs cannot start: \(unreachable)") }
        let imageArchitecture = Self.imageArchitecture(record, plan: plan)
        let requested = try ContainerRecord.requestedAccelerator(record.hostConfig, decision: record.state.platformDecision,
                                                                 foreign: imageArchitecture != plan.hostArchitecture)
        let chosenKernel: GuestKernel?
        do {
            chosenKernel = try ContainerRecord.requestedGuestKernel(record.hostConfig, decision: record.state.platformDecision,
                                                                    imageArchitecture: imageArchitecture, cacheDirectory: settings.cacheDirectory)
        } catch ContainerError.invalid(let reason) {
            throw ContainerError.startFailed(code: 125, message: reason)
        }
        let directory = paths.vmDirectory(record.id)
        var (definition, guest) = try machineDefinition(imageArchitecture: imageArchitecture, name: Self.domainName(record.id),
                                                        directory: directory, accelerator: requested, kernel: chosenKernel)
        // Before anything is made: libvirtd may be down.
        let hypervisor = try self.hypervisor()
        await state.withLock { $0.teardowns.removeValue(forKey: record.id) }?.value
        let paths = paths
        try await runBlocking { Self.endStaleHelper(record.id, paths: paths, hypervisor: hypervisor) }
        // QEMU runs as libvirt-qemu: it must be able to pass through berthd's directories.
        for path in [paths.base, paths.vmRoot, directory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o711)
        }
        let (layerDisks, writable) = try await containerDisks(record, plan: plan)
        if let memory = record.hostConfig.Memory, memory > 0 { definition.memoryMiB = max(Int(memory >> 20), 128) }
        if let cpus = record.hostConfig.NanoCpus, cpus > 0 { definition.vcpus = Int((cpus + 999_999_999) / 1_000_000_000) }
        definition.disks = layerDisks.map { .init(path: $0, readOnly: true) } + [.init(path: writable, readOnly: false)]
        let userMounts = Self.guestUserMounts(record, paths: paths)
        definition.shares = userMounts.shares
        // Containers that join this VM get their layers after these, from a clean slate at each boot;
        // a VM whose namespaces are shareable (a pod's) gets a share for their host paths.
        var contents = SharedVMContents(ownLayers: layerDisks.count)
        if record.hostConfig.IpcMode == "shareable" {
            let podShare = PodShare(vmDirectory: directory)
            try podShare.prepare()
            contents.podShareTag = "berth\(definition.shares.count)"
            definition.shares.append(.init(path: podShare.directory, tag: contents.podShareTag ?? "", readOnly: false))
        }
        try contents.write(directory: directory)
        definition.interfaces = record.attachments.compactMap { attachment in
            guard let network = networks.first(where: { $0.id == attachment.networkID }), let mac = attachment.macAddress,
                  let device = attachment.hostInterface else { return nil }
            return .init(bridge: network.bridge, macAddress: mac, device: device)
        }
        unlink(definition.agentSocket)
        let (qemuPID, template, pooled) = try await start(definition, hypervisor: hypervisor, runDirectory: directory)
        if template != nil {
            // QEMU made each TAP; the network's bridge takes it as libvirt's would.
            do {
                try attachTaps(definition.interfaces)
            } catch {
                QEMUProcess.end(qemuPID, runDirectory: directory)
                throw error
            }
        }

        var spec = try guestLaunchSpec(plan, architecture: imageArchitecture)
        var agent = LaunchSpec.UtilityVM(agentSocket: definition.agentSocket, agentTimeoutSeconds: settings.agentTimeoutSeconds,
                                          root: Self.guestRoot)
        agent.mounts = Self.rootMounts(layers: layerDisks.count, writableSlot: template?.layout.writableSlot) + userMounts.mounts
        if !record.attachments.isEmpty {
            agent.requests = guestNetwork(record, networks: networks, clonedCards: template != nil)
        }
        let etc = try guestEtcFiles(record, mounts: agent.mounts)
        agent.requests += etc.requests
        agent.mounts = etc.mounts
        agent.requests += try Self.guestCgroupLimits(plan.cgroupLimits)
        if template != nil { agent.requests.insert(Self.generationRequest(), at: 0) }
        spec.placement = .utilityVM(agent)
        let details = ContainerRuntimeDetails.UtilityVM(
            Domain: definition.name, Accelerator: definition.accelerator.rawValue, GuestKernel: "\(guest.release) (\(guest.origin.rawValue))",
            MemoryMiB: definition.memoryMiB, VCPUs: definition.vcpus, Start: template == nil ? "cold" : pooled ? "pool" : "template",
            TemplateCreated: template.map { $0.created.formatted(.iso8601) },
            Taints: template == nil && !definition.taints.isEmpty ? definition.taints : nil)
        return (spec, qemuPID, details)
    }

    /// The container's spec for its shim, for the guest's agent to confine it as the shim does
    /// natively: namespaces and a cgroup of its own in the guest (the agent makes them), its kernel
    /// filesystems with the guest's cgroup2 after /sys, the same capabilities, and the same seccomp
    /// policy for the guest's calls.
    func guestLaunchSpec(_ plan: ContainerLaunchPlan, architecture: String) throws -> LaunchSpec {
        let filter = try plan.seccompFilter(from: paths.seccompFilters, architecture: architecture)
        var spec = try plan.launchSpec(cgroup: ContainerCgroup(v1: [:], unified: nil, unifiedHasControllers: false), seccompFilter: filter)
        spec.namespaces = []
        spec.mounts = plan.kernelFilesystems
        if let sys = spec.mounts.firstIndex(where: { $0.target == "/sys" }) { spec.mounts.insert(Self.guestCgroupMount, at: sys + 1) }
        return spec
    }

    /// The container's disks: a read-only one per image layer (made once per layer, shared by every
    /// container), top first, and its writable one (made at its first need, kept until it is removed).
    func containerDisks(_ record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> (layers: [String], writable: String) {
        let disks = GuestDisks(directory: settings.cacheDirectory + "/layer-disks")
        let layers = zip(plan.layers, plan.chainIDs).map { ($0, $1) }
        let writable = paths.vmDirectory(record.id) + "/writable.ext4"
        return try await runBlocking {
            if !FileManager.default.fileExists(atPath: writable) { try GuestDisks.makeWritableDisk(at: writable, sizeMiB: 8192) }
            return (try layers.map { try disks.layerDisk(snapshot: $0.0, chainID: $0.1) }, writable)
        }
    }

    /// The agent's mounts that assemble the container's root from its disks. Disks appear in order:
    /// vda… for the layers (top first, as overlay lists them), then the one for writes (a clone's in
    /// its template's `writableSlot`, after all the layer slots).
    static func rootMounts(layers: Int, writableSlot: Int?) -> [LaunchSpec.Mount] {
        func device(_ index: Int) -> String { "/dev/" + UtilityVMDefinition.diskName(index) }
        return (0..<layers).map { .init(source: device($0), target: "/layers/\($0)", type: "ext4", flags: [.readOnly]) }
            + [.init(source: device(writableSlot ?? layers), target: "/writable", type: "ext4", flags: []),
               .init(source: "overlay", target: guestRoot, type: "overlay", flags: [],
                     data: "lowerdir=" + (0..<layers).map { "/layers/\($0)" }.joined(separator: ":")
                         + ",upperdir=\(guestUpper),workdir=/writable/work")]
    }

    /// Where the guest mounts the share holding a single file bound into the container: outside
    /// the container's root, so only the file is in it.
    static let guestFileShares = "/run/berth/file-shares"

    /// How the guest mounts a share: 9P2000.L keeps owners, modes and links; no client cache, so
    /// writes from the host and from other containers show at once.
    static let ninePOptions = "trans=virtio,version=9p2000.L,msize=262144,cache=none"

    /// The container's volumes and binds as 9p shares of their host directories (tags `berth0`, …),
    /// mounted in the guest where the container wants them; a bound file's directory is shared and
    /// mounted beside the root, and the file bound from it; tmpfs mounts are the guest's own.
    static func guestUserMounts(_ record: ContainerRecord, paths: ContainerPaths)
        -> (shares: [UtilityVMDefinition.Share], mounts: [LaunchSpec.Mount])
    {
        var shares: [UtilityVMDefinition.Share] = []
        var mounts: [LaunchSpec.Mount] = []
        for mount in record.state.mounts ?? [] {
            let readOnly: MountFlags = mount.readOnly ? .readOnly : []
            switch mount.kind {
            case .volume, .bind:
                let tag = "berth\(shares.count)"
                let source = mount.kind == .bind ? mount.source : paths.volumeData(mount.volume ?? "")
                if mount.kind == .bind, let file = singleFile(source) {
                    // The directory is shared as the bind is (read-only for a read-only bind): a file
                    // written through the bind is written in place, as natively.
                    let directory = (file as NSString).deletingLastPathComponent
                    let shared = "\(guestFileShares)/\(tag)"
                    shares.append(.init(path: directory, tag: tag, readOnly: mount.readOnly))
                    mounts.append(.init(source: tag, target: shared, type: "9p", flags: readOnly.union([.noSetuid, .noDevices, .noExec]),
                                        data: Self.ninePOptions))
                    mounts.append(.init(source: shared + "/" + (file as NSString).lastPathComponent, target: guestRoot + mount.target,
                                        type: "", flags: readOnly.union(.bind)))
                    continue
                }
                shares.append(.init(path: source, tag: tag, readOnly: mount.readOnly))
                mounts.append(.init(source: tag, target: guestRoot + mount.target, type: "9p", flags: readOnly, data: Self.ninePOptions))
            case .tmpfs:
                mounts.append(.init(source: "tmpfs", target: guestRoot + mount.target, type: "tmpfs",
                                    flags: readOnly.union([.noSetuid, .noDevices, .noExec]), data: mount.options))
            }
        }
        return (shares, mounts)
    }

    /// A bind source that is a regular file (through any symlinks): its resolved path, else nil.
    static func singleFile(_ source: String) -> String? {
        guard let resolved = realpath(source, nil) else { return nil }
        defer { free(resolved) }
        var info = stat()
        guard stat(resolved, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return String(cString: resolved)
    }

    /// The guest's side of the container's networks: each interface (found by its MAC address)
    /// addressed, the default route through the first network that leaves the host.
    private func guestNetwork(_ record: ContainerRecord, networks: [NetworkRecord], clonedCards: Bool) -> [LaunchSpec.VMRequest] {
        var requests: [LaunchSpec.VMRequest] = []
        var routed = false
        var card = 0
        for attachment in record.attachments {
            guard let network = networks.first(where: { $0.id == attachment.networkID }), let address = attachment.address,
                  let mac = attachment.macAddress else { continue }
            var tokens = [(key: "mac", value: mac), ("address", address.description), ("prefix", String(network.subnet.prefixLength))]
            // A clone's card still has its template's address, which finds it.
            if clonedCards { tokens.append(("current-mac", VMTemplateLayout.templateMAC(card))) }
            card += 1
            if !routed, !network.internal {
                tokens.append(("gateway", network.gateway.description))
                routed = true
            }
            requests.append(.init(kind: "a", tokens: tokens))
        }
        return requests
    }

    /// This start's /etc/hostname, /etc/hosts and /etc/resolv.conf (the host's copies, as a native
    /// container binds them) written in the guest and bound over the image's.
    private func guestEtcFiles(_ record: ContainerRecord, mounts: [LaunchSpec.Mount]) throws
        -> (requests: [LaunchSpec.VMRequest], mounts: [LaunchSpec.Mount])
    {
        var requests: [LaunchSpec.VMRequest] = []
        var binds: [LaunchSpec.Mount] = []
        for (file, host) in [("hostname", paths.hostname(record.id)), ("hosts", paths.hosts(record.id)),
                             ("resolv.conf", paths.resolvConf(record.id))] {
            let text = try String(contentsOfFile: host, encoding: .utf8)
            requests.append(.init(kind: "w", tokens: [("path", "/run/berth/" + file), ("data", text)]))
            binds.append(.init(source: "/run/berth/" + file, target: Self.guestRoot + "/etc/" + file, type: "", flags: [.bind]))
        }
        // After the root is assembled, before the container's own mounts (which may cover /etc).
        let rootIndex = (mounts.firstIndex { $0.target == Self.guestRoot } ?? mounts.count - 1) + 1
        var ordered = mounts
        ordered.insert(contentsOf: binds, at: min(rootIndex, ordered.count))
        return (requests, ordered)
    }

    /// A clone's first request: a random seed of its own (clones of one template share its random
    /// pool) and the wall clock (the template's stopped when it was saved).
    static func generationRequest() -> LaunchSpec.VMRequest {
        var generator = SystemRandomNumberGenerator()
        let seed = (0..<64).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let time = String(format: "%ld.%09ld", now.tv_sec, now.tv_nsec)
        return .init(kind: "g", tokens: [("seed", seed), ("time", time)])
    }

    /// Puts each TAP QEMU made for a clone on its network's bridge.
    private func attachTaps(_ interfaces: [UtilityVMDefinition.Interface]) throws {
        guard !interfaces.isEmpty else { return }
        let links = try RouteSocket()
        for interface in interfaces {
            guard let tap = links.index(of: interface.device), let bridge = links.index(of: interface.bridge) else {
                throw ContainerError.startFailed(code: 125, message: "the VM's network card \(interface.device) or bridge \(interface.bridge) is missing")
            }
            try links.attach(tap, toBridge: bridge)
        }
    }

    /// The container's own cgroup in the guest, as its cgroup namespace shows it: read-only, as natively.
    static let guestCgroupMount = LaunchSpec.Mount(source: "cgroup", target: "/sys/fs/cgroup", type: "cgroup2",
                                                   flags: [.noSetuid, .noExec, .noDevices, .readOnly])

    /// The image's architecture (Go's name): the host's for `--isolation=vm`, another for a foreign image.
    static func imageArchitecture(_ record: ContainerRecord, plan: ContainerLaunchPlan) -> String {
        (try? Platform(parsing: record.platform))?.architecture ?? plan.hostArchitecture
    }
}
