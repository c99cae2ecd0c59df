import Foundation
import SystemSupport

/// What a utility VM holds for the containers that joined it (the image layers delivered, its pod
/// share), kept in the VM's directory so that a restarted berthd plugs no layer twice: made afresh
/// at each boot of the VM.
struct SharedVMContents: Codable, Sendable, Equatable {
    /// How many layer slots the VM's own container fills (a clone's layers follow them).
    var ownLayers: Int
    /// The guest's mount point of each layer delivered, by chain ID.
    var targets: [String: String] = [:]
    /// The 9p tag of the VM's pod share (see `PodShare`), nil for a VM booted without one.
    var podShareTag: String?
    /// Whether the guest has mounted the pod share yet.
    var podShareMounted = false

    static func path(directory: String) -> String { directory + "/shared-vm.json" }

    static func read(directory: String) -> SharedVMContents {
        FileManager.default.contents(atPath: path(directory: directory)).flatMap { try? JSONDecoder().decode(Self.self, from: $0) }
            ?? SharedVMContents(ownLayers: 0)
    }

    func write(directory: String) throws {
        try AtomicFile.write(JSONEncoder().encode(self), to: Self.path(directory: directory))
    }
}

/// Runs the bodies given for one key one after another (deliveries into one VM), and those of
/// different keys side by side; a key is forgotten once its last body has run.
actor KeyedSerialQueue {
    private var tails: [String: (number: Int, task: Task<Void, Never>)] = [:]
    private var issued = 0

    func serialized<T: Sendable>(_ key: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tails[key]?.task
        let task = Task {
            await previous?.value
            return try await body()
        }
        issued += 1
        let number = issued
        tails[key] = (number, Task { _ = try? await task.value })
        defer { if tails[key]?.number == number { tails[key] = nil } }
        return try await task.value
    }
}
