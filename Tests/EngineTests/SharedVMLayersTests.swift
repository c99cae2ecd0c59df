import Foundation
import Synchronization
import Testing
@testable import Engine

/// What berthd keeps of the layers it delivered into a VM that containers join, and how deliveries
/// into one VM wait for each other.
struct SharedVMLayersTests {
    @Test func theRecordReadsBackAndIsEmptyWhenAbsent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shared-layers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(SharedVMLayers.read(directory: directory) == SharedVMLayers(ownLayers: 0))
        let written = SharedVMLayers(ownLayers: 2, targets: ["sha256:aa": "/pod/layers/0", "sha256:bb": "/pod/layers/1"])
        try written.write(directory: directory)
        #expect(SharedVMLayers.read(directory: directory) == written)
        // A torn or foreign file is no record: the next delivery starts from none.
        try Data("{".utf8).write(to: URL(fileURLWithPath: SharedVMLayers.path(directory: directory)))
        #expect(SharedVMLayers.read(directory: directory) == SharedVMLayers(ownLayers: 0))
    }

    @Test func bodiesOfOneKeyRunOneAfterAnotherAndOtherKeysAlongside() async throws {
        let queue = KeyedSerialQueue()
        let running = Mutex<[String: Int]>([:])
        let overlapped = Mutex<Set<String>>([])
        let order = Mutex<[Int]>([])
        func body(_ key: String, _ number: Int) -> @Sendable () async throws -> Int {
            {
                let others = running.withLock { running in
                    running[key, default: 0] += 1
                    return running.filter { $0.key != key && $0.value > 0 }.count
                }
                if others > 0 { overlapped.withLock { _ = $0.insert(key) } }
                try await Task.sleep(for: .milliseconds(50))
                let alone = running.withLock { running in
                    defer { running[key, default: 1] -= 1 }
                    return running[key] == 1
                }
                #expect(alone, "two bodies of \(key) ran at once")
                if key == "vm-a" { order.withLock { $0.append(number) } }
                return number
            }
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for number in 0..<4 {
                group.addTask { try await queue.serialized("vm-a", body("vm-a", number)) }
                try await Task.sleep(for: .milliseconds(5))
            }
            group.addTask { try await queue.serialized("vm-b", body("vm-b", 9)) }
            try await group.waitForAll()
        }
        #expect(order.withLock { $0 } == [0, 1, 2, 3])
        #expect(overlapped.withLock { $0 }.contains("vm-b"), "another VM's delivery does not wait")
        // A failing body is its caller's error, and the next one of its key still runs.
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await queue.serialized("vm-a") { () async throws -> Int in throw Refused() } }
        #expect(try await queue.serialized("vm-a") { 7 } == 7)
    }
}
