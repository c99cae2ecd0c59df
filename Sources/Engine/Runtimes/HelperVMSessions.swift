import Foundation
import Synchronization

/// A helper VM at work on a stopped container's disks, as the sessions keep it between uses.
protocol HelperVM: AnyObject, Sendable {
    /// Powers the helper off once what it wrote is on the disks, and ends what is left of it.
    func end() async
}

/// The helper VMs at work on stopped VM containers' disks: one at a time per container (it writes
/// the container's disk, which QEMU locks), none while the container starts. A helper stays up for
/// `linger` after its last use, so that the requests of one client command (`docker cp` asks for
/// a path's stat, then copies) share one boot. A start or a removal waits for the helpers already
/// asked for and ends the one waiting.
final class HelperVMSessions: Sendable {
    private struct Sessions {
        /// The last use asked for, per container; each waits for the one before it.
        var queued: [String: Task<Void, Never>] = [:]
        /// A helper between uses, and the number of its last use (a later use makes its end moot).
        var idle: [String: (helper: any HelperVM, use: Int)] = [:]
        var uses = 0
        var starting: Set<String> = []
    }

    private let sessions = Mutex(Sessions())
    let linger: Duration

    init(linger: Duration = .seconds(3)) {
        self.linger = linger
    }

    /// Runs `use` with the container's helper, once its earlier uses are done: the one waiting, or
    /// one `boot` makes. Refused while the container starts.
    func withHelper<Helper: HelperVM, T: Sendable>(containerID: String, name: String, operation: String,
                                                  boot: @escaping @Sendable () async throws -> Helper,
                                                  _ use: @escaping @Sendable (Helper) async throws -> T) async throws -> T {
        let work: Task<T, Error>? = sessions.withLock { sessions in
            guard !sessions.starting.contains(containerID) else { return nil }
            let earlier = sessions.queued[containerID]
            let work = Task<T, Error> {
                await earlier?.value
                let waiting = self.sessions.withLock { $0.idle.removeValue(forKey: containerID)?.helper }
                let helper: Helper
                if let waiting = waiting as? Helper {
                    helper = waiting
                } else {
                    await waiting?.end()
                    helper = try await boot()
                }
                do {
                    let result = try await use(helper)
                    self.park(helper, of: containerID)
                    return result
                } catch {
                    await helper.end()
                    throw error
                }
            }
            sessions.queued[containerID] = Task { _ = try? await work.value }
            return work
        }
        guard let work else {
            throw ContainerError.conflict("\(operation) of container \(name): it is starting; try again once it runs")
        }
        return try await work.value
    }

    /// Keeps `helper` for the container's next use, and ends it after `linger` if none came.
    private func park(_ helper: any HelperVM, of containerID: String) {
        let use = sessions.withLock { sessions in
            sessions.uses += 1
            sessions.idle[containerID] = (helper, sessions.uses)
            return sessions.uses
        }
        Task {
            try? await Task.sleep(for: linger)
            let expired = sessions.withLock { sessions -> (any HelperVM)? in
                guard let idle = sessions.idle[containerID], idle.use == use else { return nil }
                sessions.idle[containerID] = nil
                return idle.helper
            }
            await expired?.end()
        }
    }

    /// Marks the container as starting once every use asked for earlier is done and its helper has ended.
    func beginStart(of id: String) async {
        let earlier = sessions.withLock { sessions in
            sessions.starting.insert(id)
            return sessions.queued.removeValue(forKey: id)
        }
        await earlier?.value
        await endIdle(id)
    }

    func endStart(of id: String) {
        _ = sessions.withLock { $0.starting.remove(id) }
    }

    /// Waits for the container's helpers and ends the one waiting, before its disks are removed.
    func finish(_ id: String) async {
        await sessions.withLock { $0.queued.removeValue(forKey: id) }?.value
        await endIdle(id)
    }

    /// Ends every helper waiting for a next use (berthd is shutting down).
    func endAllIdle() async {
        let waiting = sessions.withLock { sessions in
            defer { sessions.idle.removeAll() }
            return sessions.idle.values.map(\.helper)
        }
        for helper in waiting { await helper.end() }
    }

    private func endIdle(_ id: String) async {
        await sessions.withLock { $0.idle.removeValue(forKey: id)?.helper }?.end()
    }
}
