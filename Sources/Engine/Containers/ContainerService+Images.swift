import APIModels
import Foundation
import OCI

extension ContainerService {
    /// Docker's `commit`: the container's changes as a new layer on its image, with the
    /// container's settings (as changed by `overrides` and Dockerfile-style `changes`).
    public func commit(_ reference: String, name: Reference?, comment: String, author: String, pause: Bool,
                       overrides: ContainerConfig?, changes: [String]) async throws -> String {
        let record = try find(reference)
        guard let base = try? images.catalog.image(id: try Digest(parsing: record.imageID)) else {
            throw ContainerError.conflict("the image of container \(record.name) is gone")
        }
        var config = record.config
        if let overrides {
            if let cmd = overrides.Cmd { config.Cmd = cmd }
            if let entrypoint = overrides.Entrypoint { config.Entrypoint = entrypoint }
            if let env = overrides.Env { config.Env = env }
            if let workingDir = overrides.WorkingDir { config.WorkingDir = workingDir }
            if let user = overrides.User { config.User = user }
            if let labels = overrides.Labels { config.Labels = (config.Labels ?? [:]).merging(labels) { $1 } }
            if let exposed = overrides.ExposedPorts { config.ExposedPorts = exposed }
        }
        for change in changes { try ConfigChange.apply(change, to: &config) }
        let runtime = runtime(for: record)
        var freeze = pause && record.state.status == .running && runtime.capabilities.contains(.pause)
        if freeze {
            do {
                try runtime.setFrozen(true, record)
            } catch where !runtime.isStillRunning(record) {
                // It exited before its exit reached us: nothing to hold still.
                freeze = false
            }
        }
        defer { if freeze { try? runtime.setFrozen(false, record) } }
        let details = ImageService.CommitDetails(config: config, comment: comment, author: author,
                                                 createdBy: ([record.path] + record.arguments).joined(separator: " "))
        let placeholders = Set(Self.mountPlaceholders.map { String($0.dropFirst()) })
        // A VM container's layer is written in its guest, into berthd's image store directory.
        let layerArchive = images.snapshots.root + "/.ingest-guest-\(UUID().uuidString).tar"
        defer { unlink(layerArchive) }
        let written = try await runtime.writeLayer(of: record, plan: try launchPlan(record), placeholders: placeholders, to: layerArchive)
        let image = written
            ? try await images.commit(base: base, layerArchive: layerArchive, details: details, name: name)
            : try await images.commit(base: base, upperDirectory: paths.upper(record.id), details: details, name: name, placeholders: placeholders)
        return image.id.description
    }

    // MARK: Pause, rename, prune

    public func pause(_ reference: String) async throws {
        var record = try find(reference)
        try require(.pause, of: record, "pause")
        guard case .running(let run) = record.state.phase else {
            throw ContainerError.conflict(record.state.status == .paused
                ? "Container \(record.id) is already paused" : "Container \(record.id) is not running")
        }
        try runtime(for: record).setFrozen(true, record)
        record.state.phase = .paused(run)
        try catalog.updateState(record.id, record.state)
        await publish("pause", record)
    }

    public func unpause(_ reference: String) async throws {
        var record = try find(reference)
        guard case .paused(let run) = record.state.phase else { throw ContainerError.conflict("Container \(record.id) is not paused") }
        try runtime(for: record).setFrozen(false, record)
        record.state.phase = .running(run)
        try catalog.updateState(record.id, record.state)
        await publish("unpause", record)
    }

    public func rename(_ reference: String, to newName: String) async throws {
        let record = try find(reference)
        let name = newName.hasPrefix("/") ? String(newName.dropFirst()) : newName
        guard ContainerNames.isValid(name) else {
            throw ContainerError.invalid("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if name == record.name { throw ContainerError.invalid("Renaming a container with the same name as its current name") }
        if let holder = try catalog.all().first(where: { $0.name == name }) {
            throw ContainerError.conflict("Conflict. The container name \"/\(name)\" is already in use by container \"\(holder.id)\". "
                + "You have to remove (or rename) that container to be able to reuse that name.")
        }
        try catalog.rename(record.id, to: name)
        await publish("rename", record, extra: ["oldName": "/" + record.name, "name": name])
    }

    /// Removes every container that is not running; returns their IDs and the bytes freed.
    public func prune() async throws -> (ids: [String], freed: Int64) {
        var ids: [String] = []
        var freed: Int64 = 0
        for record in try catalog.all() where !record.state.isActive {
            freed += Self.directorySize(paths.upper(record.id))
            try await remove(record.id, force: false)
            ids.append(record.id)
        }
        return (ids, freed)
    }

    /// `ps` of the container's processes: a native container's cgroup's on the host, a VM
    /// container's in its guest (the guest's pids).
    public func top(_ reference: String) throws -> (titles: [String], processes: [[String]]) {
        let record = try find(reference)
        guard record.state.isActive else { throw ContainerError.conflict("Container \(record.id) is not running") }
        let ticks = max(sysconf(Int32(_SC_CLK_TCK)), 1)
        let processes = try runtime(for: record).processes(of: record).map { process -> [String] in
            let user = getpwuid(process.uid).map { String(cString: $0.pointee.pw_name) } ?? String(process.uid)
            let seconds = process.cpuTicks / ticks
            let time = String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
            return [user, String(process.pid), String(process.parentPID), time, process.command]
        }
        return (["UID", "PID", "PPID", "TIME", "CMD"], processes)
    }

    public func stats(_ reference: String) throws -> (record: ContainerRecord, usage: ContainerResourceUsage?) {
        let record = try find(reference)
        return (record, runtime(for: record).usage(of: record))
    }

    /// Bytes in the container's upper directory, and those plus its image's layers.
    public func sizes(_ record: ContainerRecord) -> (writable: Int64, total: Int64) {
        let writable = Self.directorySize(paths.upper(record.id))
        let image = (try? Digest(parsing: record.imageID)).flatMap { try? images.catalog.image(id: $0) }
        return (writable, writable + (image?.size ?? 0))
    }

    static func directorySize(_ path: String) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let name = enumerator.nextObject() as? String {
            var info = stat_t()
            if lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int64(info.st_size) }
        }
        return total
    }
}

typealias stat_t = stat
