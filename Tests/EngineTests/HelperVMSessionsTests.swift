import Synchronization
import Testing
@testable import Engine

struct HelperVMSessionsTests {
    /// What happened, in order.
    final class Journal: Sendable {
        private let lines = Mutex<[String]>([])
        func note(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A helper that notes its boot and its end.
    final class NotedHelper: HelperVM {
        let name: String
        let journal: Journal
        init(_ name: String, _ journal: Journal) {
            self.name = name
            self.journal = journal
            journal.note("boot \(name)")
        }
        func end() async { journal.note("end \(name)") }
    }

    @Test func aContainersUsesTakeTurnsShareABootAndAStartEndsTheHelper() async throws {
        let sessions = HelperVMSessions(linger: .seconds(30)), journal = Journal()
        let first = Task<Int, Error> {
            try await sessions.withHelper(containerID: "c1", name: "one", operation: "cp", boot: { NotedHelper("c1", journal) }) { _ in
                journal.note("first begins")
                try await Task.sleep(for: .milliseconds(300))
                journal.note("first ends")
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let second = Task<Int, Error> {
            try await sessions.withHelper(containerID: "c1", name: "one", operation: "diff", boot: { NotedHelper("c1 again", journal) }) { _ in
                journal.note("second")
                return 2
            }
        }
        // Another container's helper does not wait.
        let other = try await sessions.withHelper(containerID: "c2", name: "two", operation: "cp", boot: { NotedHelper("c2", journal) }) { _ in
            journal.note("other")
            return 3
        }
        try await Task.sleep(for: .milliseconds(50))
        await sessions.beginStart(of: "c1")
        journal.note("started")
        let values = (try await first.value, try await second.value)
        #expect(values.0 == 1 && values.1 == 2 && other == 3)
        #expect(journal.all == ["boot c1", "first begins", "boot c2", "other", "first ends", "second", "end c1", "started"], "\(journal.all)")
    }

    @Test func aHelperEndsAfterItsLingerAndAFailedUseEndsIt() async throws {
        let sessions = HelperVMSessions(linger: .milliseconds(100)), journal = Journal()
        _ = try await sessions.withHelper(containerID: "c1", name: "one", operation: "cp", boot: { NotedHelper("first", journal) }) { _ in 0 }
        try await Task.sleep(for: .milliseconds(400))
        #expect(journal.all == ["boot first", "end first"])
        struct Broken: Error {}
        await #expect(throws: Broken.self) {
            try await sessions.withHelper(containerID: "c1", name: "one", operation: "cp", boot: { NotedHelper("second", journal) }) { _ -> Int in
                throw Broken()
            }
        }
        #expect(journal.all == ["boot first", "end first", "boot second", "end second"])
    }

    @Test func aShutdownEndsTheHelpersWaiting() async throws {
        let sessions = HelperVMSessions(linger: .seconds(30)), journal = Journal()
        for id in ["c1", "c2"] {
            _ = try await sessions.withHelper(containerID: id, name: id, operation: "cp", boot: { NotedHelper(id, journal) }) { _ in 0 }
        }
        await sessions.endAllIdle()
        #expect(journal.all.sorted() == ["boot c1", "boot c2", "end c1", "end c2"], "\(journal.all)")
    }

    @Test func aHelperIsRefusedWhileItsContainerStarts() async throws {
        let sessions = HelperVMSessions(), journal = Journal()
        await sessions.beginStart(of: "c1")
        await #expect(throws: ContainerError.self) {
            try await sessions.withHelper(containerID: "c1", name: "one", operation: "cp", boot: { NotedHelper("c1", journal) }) { _ in 0 }
        }
        sessions.endStart(of: "c1")
        #expect(try await sessions.withHelper(containerID: "c1", name: "one", operation: "cp", boot: { NotedHelper("c1", journal) }) { _ in 4 } == 4)
        await sessions.finish("c1")
        #expect(journal.all == ["boot c1", "end c1"])
    }
}
