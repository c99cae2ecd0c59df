import Foundation
import Synchronization
import Testing
@testable import Engine

/// What berthd keeps of the layers it delivered into a VM that containers join, and how deliveries
/// into one VM wait for each other.
struct SharedVMContentsTests {
    @Test func theRecordReadsBackAndIsEmptyWhenAbsent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shared-layers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(SharedVMContents.read(directory: directory) == SharedVMContents(ownLayers: 0))
        let written = SharedVMContents(ownLayers: 2, targets: ["sha256:aa": "/pod/layers/0", "sha256:bb": "/pod/layers/1"])
        try written.write(directory: directory)
        #expect(SharedVMContents.read(directory: directory) == written)
        // A torn or foreign file is no record: the next delivery starts from none.
        try Data("{".utf8).write(to: URL(fileURLWithPath: SharedVMContents.path(directory: directory)))
        #expect(SharedVMContents.read(directory: directory) == SharedVMContents(ownLayers: 0))
    }

    @Test func bodiesOfOneKeyRunOneAfterAnotherAndOtherKeysAlongside() async throws {
        let queue = KeyedSerialQueue()
        let running = Mutex<Int>(0)
        let ran = Mutex<Int>(0)
        @Sendable func exclusive() async throws {
            let alone = running.withLock { running in
                running += 1
                return running == 1
            }
            #expect(alone, "two bodies of one key ran at once")
            try await Task.sleep(for: .milliseconds(20))
            running.withLock { $0 -= 1 }
            ran.withLock { $0 += 1 }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { try await queue.serialized("vm-a") { try await exclusive() } } }
            try await group.waitForAll()
        }
        #expect(ran.withLock { $0 } == 4)

        // A body of another key runs while one of the first waits: that one waits for the other's
        // signal, which never comes if keys are not independent.
        let (started, startedSignal) = AsyncStream<Void>.makeStream()
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        defer { releaseSignal.finish() }
        let waiting = Task {
            try await queue.serialized("vm-a") {
                startedSignal.yield()
                for await _ in release { return true }
                return false
            }
        }
        for await _ in started { break }
        let other = Task { try await queue.serialized("vm-b") { releaseSignal.yield() } }
        let released = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await other.value
                return try await waiting.value
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                // Let the first key's body end, so that nothing is left waiting.
                releaseSignal.finish()
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        #expect(released, "a body of another key waited for the first key's")
        // A failing body is its caller's error, and the next one of its key still runs.
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await queue.serialized("vm-a") { () async throws -> Int in throw Refused() } }
        #expect(try await queue.serialized("vm-a") { 7 } == 7)
    }
}
