import Foundation
import Glibc
import SystemSupport

/// Templates of booted utility VMs under berthd's root, one directory per fingerprint, and the
/// clones started from them. A template is built by booting a VM to the point where its agent
/// waits for a container and saving it with QEMU's `x-ignore-shared` migration: the RAM stays in
/// the template's file, which every clone maps copy-on-write, and only the device state is loaded.
/// libvirt cannot start a domain that way (its restore streams the whole RAM through a pipe), so
/// berthd runs these QEMUs itself and speaks to them over QMP; cold starts stay libvirt's.
public struct VMTemplateStore: Sendable {
    public var directory: String
    public var layout: VMTemplateLayout
    /// The user QEMU drops to when a VM has no 9p shares, as libvirt's QEMU runs.
    public var qemuUser: String?
    /// Whether clones offer all their memory to kernel same-page merging (KSM), which then shares
    /// what clones of one template hold alike; it takes KSM running (`berthd --vm-merge-memory`).
    public var mergesMemory: Bool

    public init(directory: String, layout: VMTemplateLayout = VMTemplateLayout(), qemuUser: String?, mergesMemory: Bool = false) {
        self.directory = directory
        self.layout = layout
        self.qemuUser = qemuUser
        self.mergesMemory = mergesMemory
    }

    public func path(_ fingerprint: String) -> String { directory + "/" + fingerprint }

    /// The intact template `definition` can be cloned from, if there is one. One that is not whole
    /// or not what its record says is removed, so the next build replaces it.
    public func template(for definition: UtilityVMDefinition) -> VMTemplate? {
        let fingerprint = VMTemplate.fingerprint(of: definition, layout: layout)
        let folder = path(fingerprint)
        guard FileManager.default.fileExists(atPath: folder) else { return nil }
        guard let data = FileManager.default.contents(atPath: VMTemplateFiles(directory: folder).manifest),
              let template = try? Self.decoder.decode(VMTemplate.self, from: data),
              template.fingerprint == fingerprint, template.layout == layout, template.isIntact(in: folder) else {
            try? FileManager.default.removeItem(atPath: folder)
            return nil
        }
        return template
    }

    /// Boots a template VM for `definition`'s machine, kernel, memory and CPUs, saves it, and moves it
    /// into place whole (a crash leaves only a `.building-` directory, removed by `removeUnfinished`).
    public func build(for definition: UtilityVMDefinition, agentTimeout: Duration = .seconds(30)) throws -> VMTemplate {
        let fingerprint = VMTemplate.fingerprint(of: definition, layout: layout)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o711)
        let building = directory + "/.building-\(fingerprint)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: building, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: building) }
        // QEMU's own user reads the state through migration's `cat` once it has dropped root.
        chmod(building, 0o755)
        let files = VMTemplateFiles(directory: building)
        try Self.makeSparseFile(files.memory, bytes: Int64(definition.memoryMiB) << 20, mode: 0o600)
        try Self.makeSparseFile(files.blankLayer, bytes: VMTemplateLayout.blankDiskBytes, mode: 0o644)
        try Self.makeSparseFile(files.blankWritable, bytes: VMTemplateLayout.blankDiskBytes, mode: 0o644)
        try FileManager.default.createDirectory(atPath: files.emptyShare, withIntermediateDirectories: false)
        chmod(files.emptyShare, 0o755)
        // Migration's `cat` writes the state as the user QEMU dropped to; it is root's again once saved.
        try Self.makeSparseFile(files.state, bytes: 0, mode: 0o644)
        if let user = qemuUser, let account = getpwnam(user) { chown(files.state, account.pointee.pw_uid, account.pointee.pw_gid) }

        var booted = definition
        booted.name = "berth-template-\(fingerprint)"
        booted.disks = []
        booted.shares = []
        booted.interfaces = []
        booted.consoleLog = building + "/console.log"
        booted.agentSocket = building + "/agent.sock"
        let command = QEMUCommandLine(definition: booted, layout: layout, role: .template, files: files, runDirectory: building, user: qemuUser)
        let pid = try QEMUProcess.start(command)
        defer { QEMUProcess.end(pid, runDirectory: building) }
        let deadline = ContinuousClock.now + agentTimeout
        // Connected while the VM is saved, so that no disconnect is still on its way to the guest
        // when it stops: every clone resumes with its agent in the same state.
        let agent = try GuestAgentConnection(socket: booted.agentSocket, deadline: deadline)
        defer { withExtendedLifetime(agent) {} }
        let monitor = try QMPConnection(socket: command.monitorSocket, deadline: deadline)
        try monitor.execute("stop")
        try monitor.execute("migrate-set-capabilities", ["capabilities": [["capability": "x-ignore-shared", "state": true]]])
        try monitor.execute("migrate", ["uri": "exec:cat > " + Self.shellQuoted(files.state)])
        while true {
            let progress = try monitor.execute("query-migrate") as? [String: Any]
            let status = progress?["status"] as? String
            if status == "completed" { break }
            guard status != "failed", status != "cancelled", ContinuousClock.now < deadline else {
                throw QEMUError.failed("saving the template VM: migration \(status ?? "did not finish")"
                    + ((progress?["error-desc"] as? String).map { ": " + $0 } ?? ""))
            }
            usleep(5_000)
        }
        chown(files.state, 0, 0)
        _ = try? monitor.execute("quit")
        QEMUProcess.waitForExit(pid, deadline: ContinuousClock.now + .seconds(10))

        // The RAM reached the file through QEMU's shared mapping; both files are made durable
        // before the record that vouches for them.
        for file in [files.memory, files.state] { try Self.sync(file) }
        for leftover in ["console.log", "agent.sock", "qmp.sock", "qemu.pid", "qemu.log"] { unlink(building + "/" + leftover) }
        guard let state = FileManager.default.contents(atPath: files.state) else { throw QEMUError.failed("the template's state was not written") }
        let template = VMTemplate(fingerprint: fingerprint, architecture: definition.machine.architecture, kernel: definition.kernel,
                                  memoryMiB: definition.memoryMiB, vcpus: definition.vcpus, created: Date(), layout: layout, stateSHA256: VMTemplate.sha256(state),
                                  stateBytes: Int64(state.count), memoryBytes: Int64(definition.memoryMiB) << 20,
                                  memoryIdentity: VMTemplate.identity(of: files.memory))
        try AtomicFile.write(try Self.encoder.encode(template), to: files.manifest)
        let target = path(fingerprint)
        try? FileManager.default.removeItem(atPath: target)
        guard rename(building, target) == 0 else { throw SystemError.call("moving the template into \(target)", errno) }
        try AtomicFile.syncDirectory(directory)
        return template
    }

    /// Starts a clone of `template` as the VM `definition` describes, in `runDirectory`, and returns
    /// QEMU's pid once the guest runs again. Its agent then waits for the container's requests,
    /// the first of them a `generation` (fresh seed and clock).
    public func startClone(of template: VMTemplate, as definition: UtilityVMDefinition, runDirectory: String,
                           timeout: Duration = .seconds(15)) throws -> Int32 {
        let files = VMTemplateFiles(directory: path(template.fingerprint))
        let command = QEMUCommandLine(definition: definition, layout: layout, role: .clone, files: files, runDirectory: runDirectory,
                                      user: definition.shares.isEmpty ? qemuUser : nil)
        let pid = try QEMUProcess.start(command, merging: mergesMemory)
        do {
            let monitor = try QMPConnection(socket: command.monitorSocket, deadline: ContinuousClock.now + timeout)
            try monitor.execute("migrate-set-capabilities", ["capabilities": [["capability": "x-ignore-shared", "state": true],
                                                                               ["capability": "events", "state": true]]])
            try monitor.execute("migrate-incoming", ["uri": "exec:cat " + Self.shellQuoted(files.state)])
            let ended = try monitor.waitForEvent("MIGRATION") { ["completed", "failed", "cancelled"].contains($0["status"] as? String ?? "") }
            let status = (ended["data"] as? [String: Any])?["status"] as? String ?? "failed"
            guard status == "completed" else { throw QEMUError.failed("loading the template's state: migration \(status)") }
            // The template was stopped when saved, so its clone waits to be told to run.
            try monitor.execute("cont")
        } catch {
            // QEMU may be exiting on its own already (a failed load ends it): it is ours, just started,
            // and its TAPs go only with it.
            QEMUProcess.end(pid, runDirectory: runDirectory)
            QEMUProcess.waitForExit(pid, deadline: ContinuousClock.now + .seconds(5))
            throw error
        }
        return pid
    }

    /// Gives a running clone started with blank disks (a pool VM) a container's disks, in the slots a
    /// clone started for it would have had them: each file is opened here and passed to QEMU over
    /// its monitor (QEMU has dropped root), then put under the slot's device in place of the blank.
    /// The guest keeps the size it probed; the agent drops what it cached of a disk before mounting it.
    public func handDisks(toCloneIn runDirectory: String, layers: [String], writable: String, timeout: Duration = .seconds(10)) throws {
        guard layers.count <= layout.layerSlots else { throw QEMUError.failed("\(layers.count) layers do not fit \(layout.layerSlots) slots") }
        let monitor = try QMPConnection(socket: runDirectory + "/qmp.sock", deadline: ContinuousClock.now + timeout)
        let disks = layers.enumerated().map { (slot: $0.offset, path: $0.element, readOnly: true) }
            + [(slot: layout.writableSlot, path: writable, readOnly: false)]
        for disk in disks { try Self.hand(disk.path, toSlot: disk.slot, readOnly: disk.readOnly, monitor: monitor) }
    }

    /// Puts a read-only layer disk in a running clone's blank layer slot `slot` (for a container that
    /// joins the clone's VM, a pod's), as `handDisks` does.
    public func handLayerDisk(_ path: String, toSlot slot: Int, inCloneIn runDirectory: String, timeout: Duration = .seconds(10)) throws {
        guard slot < layout.layerSlots else { throw QEMUError.failed("the VM has no free layer slot (it has \(layout.layerSlots))") }
        let monitor = try QMPConnection(socket: runDirectory + "/qmp.sock", deadline: ContinuousClock.now + timeout)
        try Self.hand(path, toSlot: slot, readOnly: true, monitor: monitor)
    }

    private static func hand(_ path: String, toSlot slot: Int, readOnly: Bool, monitor: QMPConnection) throws {
        let descriptor = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError.call("opening \(path)", errno) }
        defer { close(descriptor) }
        // fd sets are numbered by the slot, so a disk handed twice would find its set taken.
        let added = try monitor.execute("add-fd", ["fdset-id": slot + 1, "opaque": "slot\(slot)"], passing: descriptor)
        guard let set = (added as? [String: Any])?["fdset-id"] as? Int else { throw QEMUError.failed("add-fd: no fd set in QEMU's answer") }
        try monitor.execute("blockdev-add", ["driver": "file", "node-name": "handed\(slot)", "filename": "/dev/fdset/\(set)",
                                             "read-only": readOnly])
        try monitor.execute("blockdev-reopen", ["options": [["driver": "raw", "node-name": "disk\(slot)", "file": "handed\(slot)",
                                                             "read-only": readOnly]]])
        try monitor.execute("blockdev-del", ["node-name": "file\(slot)"])
    }

    /// The templates recorded here, as their records say (whether whole is checked when one is used).
    public func list() -> [VMTemplate] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted().compactMap { entry in
            FileManager.default.contents(atPath: VMTemplateFiles(directory: path(entry)).manifest)
                .flatMap { try? Self.decoder.decode(VMTemplate.self, from: $0) }
        }
    }

    /// Directories of builds that never finished (berthd ended during one).
    public func removeUnfinished() {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where entry.hasPrefix(".building-") {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
    }

    /// A file of `bytes` that holds no blocks, with exactly `mode`: berthd's umask may be narrowed
    /// for a moment while it binds its socket, and QEMU's user must read these.
    public static func makeSparseFile(_ path: String, bytes: Int64, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw SystemError.call("creating \(path)", errno) }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode) == 0 else { throw SystemError.call("setting the mode of \(path)", errno) }
        guard ftruncate(descriptor, off_t(bytes)) == 0 else { throw SystemError.call("sizing \(path)", errno) }
    }

    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError.call("opening \(path)", errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SystemError.call("syncing \(path)", errno) }
    }

    /// One word for /bin/sh, which runs migration's `exec:` command.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
