import Foundation
import NativeRuntime
import Synchronization
import VMRuntime

/// A stopped VM container's files (`cp`, `export`, `diff`, `commit`) are reached in a helper VM:
/// a short-lived VM with the container's disks, whose guest kernel reads the untrusted filesystem
/// the host kernel never mounts, and whose agent runs the same builtins as for a running container,
/// chrooted into the root it assembles instead of entering the container's namespaces. An ext4
/// reader in berthd would be one more parser of hostile input running as root on the host; the
/// helper reuses the guest's code and costs a clone's start (about a second here), once per client
/// command: it waits a moment for the next request (`HelperVMSessions`).
extension UtilityVMContainerRuntime {
    /// Boots a helper for the container's disks (a VM of the host's architecture: ext4 is the same on
    /// every one, the host's has the template and pool, and a `--vm-kernel` the container asked for
    /// need not serve) and has its agent assemble the container's root with its volumes and binds, as
    /// at its start.
    func bootHelper(_ record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> UtilityVMHelper {
        if let unreachable = settings.unreachableFiles {
            throw ContainerError.conflict("the files of container \(record.name) are on its VM's disks, and utility VMs cannot start: \(unreachable)")
        }
        // The container's own VM, if it just ended, lets go of the disks first.
        await waitForTeardown(of: record.id)
        let directory = Self.helperDirectory(record.id, paths: paths), name = Self.helperDomainName(record.id)
        let hypervisor = try self.hypervisor()
        let paths = paths
        try await runBlocking {
            Self.endStaleHelper(record.id, paths: paths, hypervisor: hypervisor)
            // QEMU runs as libvirt-qemu: it must be able to pass through berthd's directories.
            for path in [paths.base, paths.vmRoot, paths.vmDirectory(record.id), directory] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                chmod(path, 0o711)
            }
        }
        var (definition, _) = try machineDefinition(imageArchitecture: settings.hostArchitecture, name: name, directory: directory,
                                                    accelerator: nil)
        let (layers, writable) = try await containerDisks(record, plan: plan)
        definition.disks = layers.map { .init(path: $0, readOnly: true) } + [.init(path: writable, readOnly: false)]
        let user = Self.guestUserMounts(record, paths: paths)
        definition.shares = user.shares
        let (pid, template, _) = try await start(definition, hypervisor: hypervisor, runDirectory: directory)
        let helper = UtilityVMHelper(pid: template == nil ? nil : pid, name: name, directory: directory, hypervisor: hypervisor)
        let mounts = Self.rootMounts(layers: layers.count, writableSlot: template?.layout.writableSlot) + user.mounts
        let socket = definition.agentSocket, agentTimeout = Duration.seconds(settings.agentTimeoutSeconds)
        let generation = template == nil ? nil : Self.generationRequest()
        do {
            try await runBlocking {
                let connection = try GuestAgentConnection(socket: socket, deadline: .now + agentTimeout)
                helper.connected(connection)
                if let generation { try connection.ask(generation.kind, generation.tokens, deadline: .now + agentTimeout) }
                for mount in mounts {
                    do {
                        try connection.ask("m", Self.mountTokens(mount), deadline: .now + agentTimeout)
                    } catch {
                        throw ContainerError.conflict("assembling the root of container \(record.name) in a helper VM: \(error)")
                    }
                }
            }
        } catch {
            await helper.end()
            throw error
        }
        return helper
    }

    static func helperDirectory(_ id: String, paths: ContainerPaths) -> String { paths.vmDirectory(id) + "/helper" }

    static func helperDomainName(_ id: String) -> String { domainName(id) + "-files" }

    /// Ends a helper berthd left running when it ended, after its agent has synced what the helper
    /// wrote: before the container's disks are used again. A helper that ended took its directory
    /// along, so a start finds nothing to ask libvirt about.
    static func endStaleHelper(_ id: String, paths: ContainerPaths, hypervisor: LibvirtHypervisor?) {
        let directory = helperDirectory(id, paths: paths), name = helperDomainName(id)
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let pid = QEMUProcess.pid(runDirectory: directory)
        let cold = pid == nil && hypervisor?.isRunning(name) == true
        if pid != nil || cold {
            let helper = UtilityVMHelper(pid: pid, name: name, directory: directory, hypervisor: hypervisor)
            if let connection = try? GuestAgentConnection(socket: directory + "/agent.sock", deadline: .now + .seconds(2)) {
                helper.connected(connection)
            }
            helper.endNow()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A mount as the agent's `mount` request says it (PROTOCOL.md), as berth-shim sends it.
    static func mountTokens(_ mount: LaunchSpec.Mount) -> [(key: String, value: String)] {
        [("source", mount.source), ("target", mount.target), ("fstype", mount.type), ("options", mount.data),
         ("readonly", mount.flags.contains(.readOnly) ? "1" : "0"), ("bind", mount.flags.contains(.bind) ? "1" : "0"),
         ("flags", String(mount.flags.rawValue))]
    }
}

/// A helper VM berthd booted for a stopped container's disks and speaks to itself: a clone's QEMU
/// (`pid`) or a cold boot's libvirt domain.
final class UtilityVMHelper: HelperVM {
    let pid: Int32?
    let name: String
    let directory: String
    let hypervisor: LibvirtHypervisor?
    private let connection = Mutex<GuestAgentConnection?>(nil)

    init(pid: Int32?, name: String, directory: String, hypervisor: LibvirtHypervisor?) {
        self.pid = pid
        self.name = name
        self.directory = directory
        self.hypervisor = hypervisor
    }

    func connected(_ agent: GuestAgentConnection) {
        connection.withLock { $0 = agent }
    }

    /// The agent's builtins, "in the container" chrooted into the root it assembled.
    var agent: GuestBuiltin {
        get throws {
            guard let connection = connection.withLock({ $0 }) else { throw ContainerError.conflict("the helper VM's agent is not connected") }
            return GuestBuiltin(route: .agent(connection, root: UtilityVMContainerRuntime.guestRoot))
        }
    }

    func end() async {
        _ = try? await runBlocking { self.endNow() }
    }

    /// Asks the agent to power the VM off (it syncs first), waits for that, then ends what is left.
    func endNow() {
        UtilityVMContainerRuntime.powerOff(clone: pid, domain: name, runDirectory: directory, hypervisor: hypervisor,
                                           agent: connection.withLock { $0 }, poweringOff: false)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
