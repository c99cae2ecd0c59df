import APIModels
import Foundation
import NativeRuntime
import Synchronization
@testable import Engine

/// A runtime without a kernel behind it: a launch makes a process that runs until the test (or a
/// signal) ends it, and every call is written down for the test to read.
final class FakeContainerRuntime: ContainerRuntime {
    let capabilities: ContainerRuntimeCapabilities
    private let state = Mutex(State())

    private struct State {
        var processes: [String: FakeProcess] = [:]
        var exits: [String: ExitRecord] = [:]
        var launchFailure: String?
        var execFailure: String?
        var calls: [String] = []
        var cleanedUpPIDs: [Int32] = []
        var nextPID: Int32 = 1000
        var launchHold: Hold?
        var cleanUpHold: Hold?
    }

    /// A point a call stops at until the test lets it go, to land another call in between.
    final class Hold: Sendable {
        private let entered = AsyncStream<Void>.makeStream()
        private let released = AsyncStream<Void>.makeStream()

        /// Returns once the held call has reached the hold.
        func waitUntilReached() async { for await _ in entered.stream { return } }

        func release() { released.continuation.finish() }

        fileprivate func pass() async {
            entered.continuation.yield()
            for await _ in released.stream {}
        }
    }

    /// The next launch waits, as a slow VM boot does, until the hold is released.
    func holdNextLaunch() -> Hold {
        let hold = Hold()
        state.withLock { $0.launchHold = hold }
        return hold
    }

    /// The next clean-up after an exit waits until the hold is released.
    func holdNextCleanUp() -> Hold {
        let hold = Hold()
        state.withLock { $0.cleanUpHold = hold }
        return hold
    }

    init(capabilities: ContainerRuntimeCapabilities = [.pause, .hostProcesses, .liveNetworkChanges]) {
        self.capabilities = capabilities
    }

    /// What the runtime was asked, in order: "launch <id>", "cleanUp <id>", "remove <id>", "freeze <id>"…
    var calls: [String] { state.withLock { $0.calls } }

    /// The next launch fails, as a shim that cannot set the container up does.
    func failNextLaunch(_ message: String) { state.withLock { $0.launchFailure = message } }

    /// The next launched process fails to run its command, as an exec of a missing file does.
    func failNextExec(_ message: String) { state.withLock { $0.execFailure = message } }

    /// The pid each clean-up found in the container's state: that of the run it cleaned up after.
    var cleanedUpPIDs: [Int32] { state.withLock { $0.cleanedUpPIDs } }

    /// Ends the container's running process with `code`, as its command exiting would.
    func exit(_ id: String, code: Int32) {
        let process = state.withLock { state -> FakeProcess? in
            guard let process = state.processes[id] else { return nil }
            state.exits[id] = ExitRecord(code: code, finishedAt: Date())
            return process
        }
        process?.end(code)
    }

    private func record(_ call: String) { state.withLock { $0.calls.append(call) } }

    func prepare(_ record: ContainerRecord) throws -> ContainerCgroup? {
        self.record("prepare \(record.id)")
        return nil
    }

    func launch(_ record: ContainerRecord, plan: ContainerLaunchPlan, networks: [NetworkRecord]) async throws -> LaunchedContainer {
        if let hold = state.withLock({ state in defer { state.launchHold = nil }; return state.launchHold }) { await hold.pass() }
        let result = state.withLock { state -> Result<LaunchedContainer, Error> in
            state.calls.append("launch \(record.id)")
            if let message = state.launchFailure {
                state.launchFailure = nil
                return .failure(ShimError.setup(code: 127, message: message))
            }
            state.nextPID += 2
            let pid = state.nextPID
            state.exits[record.id] = nil
            let execFailure = state.execFailure
            state.execFailure = nil
            state.processes[record.id] = FakeProcess(pid: pid, execFailure: execFailure) { [weak self] signal in
                self?.exit(record.id, code: 128 + signal)
            }
            return .success(LaunchedContainer(pid: pid, supervisorPID: pid + 1, cgroup: nil, utilityVM: nil))
        }
        return try result.get()
    }

    func process(of id: String) -> any ContainerProcess {
        state.withLock { $0.processes[id] } ?? FakeProcess(pid: 0) { _ in }
    }

    func recordedExit(of id: String) -> ExitRecord? { state.withLock { $0.exits[id] } }

    func isStillRunning(_ record: ContainerRecord) -> Bool { false }

    func cleanUp(after record: ContainerRecord) async -> Bool {
        if let hold = state.withLock({ state in defer { state.cleanUpHold = nil }; return state.cleanUpHold }) { await hold.pass() }
        state.withLock {
            $0.calls.append("cleanUp \(record.id)")
            $0.cleanedUpPIDs.append(record.state.pid)
        }
        return false
    }

    func remove(_ record: ContainerRecord) async { self.record("remove \(record.id)") }

    func launchExec(_ record: ContainerRecord, plan: ContainerLaunchPlan, config: ExecConfig, execID: String) async throws
        -> any ContainerProcess
    {
        throw ContainerError.invalid("the fake runtime runs no execs")
    }

    func execProcess(containerID: String, execID: String) -> any ContainerProcess { FakeProcess(pid: 0) { _ in } }

    func recordedExecExit(containerID: String, execID: String) -> Int32? { nil }

    func removeExecFiles(containerID: String, execID: String) {}

    func setFrozen(_ frozen: Bool, _ record: ContainerRecord) throws { self.record("\(frozen ? "freeze" : "thaw") \(record.id)") }

    func updateResources(of record: ContainerRecord) throws { self.record("update \(record.id)") }

    func processes(of record: ContainerRecord) throws -> [ContainerProcessEntry] { [] }

    func plugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, into record: ContainerRecord) async throws {
        self.record("plug \(record.id) \(network.name)")
    }

    func unplugNetwork(_ attachment: NetworkAttachment, on network: NetworkRecord, from record: ContainerRecord) async throws {
        self.record("unplug \(record.id) \(network.name)")
    }

    func withFiles<T: Sendable>(of record: ContainerRecord, plan: ContainerLaunchPlan, _ body: @escaping @Sendable (any ContainerFiles) throws -> T) async throws -> T? {
        nil
    }

    func writableLayerEntries(of record: ContainerRecord, plan: ContainerLaunchPlan) async throws -> [WritableLayerEntry]? { nil }

    func writeLayer(of record: ContainerRecord, plan: ContainerLaunchPlan, placeholders: Set<String>, to path: String) async throws -> Bool { false }

    func usage(of record: ContainerRecord) -> ContainerResourceUsage? { nil }

    func failureDetail(of record: ContainerRecord) -> String { "" }
}

/// A process that runs until `end`; SIGTERM and SIGKILL end it as they would a shell.
final class FakeProcess: ContainerProcess {
    let pid: Int32
    private let execFailure: String?
    private let exitCode = Latch<Int32>()
    private let onSignal: @Sendable (Int32) -> Void

    init(pid: Int32, execFailure: String? = nil, onSignal: @escaping @Sendable (Int32) -> Void) {
        self.pid = pid
        self.execFailure = execFailure
        self.onSignal = onSignal
    }

    func end(_ code: Int32) { exitCode.resolve(code) }

    /// A failed exec ends the process with 127, as the shim records it.
    func start() async throws -> Int32 {
        if let execFailure {
            end(127)
            throw ShimError.setup(code: 127, message: execFailure)
        }
        return pid
    }

    func kill(signal: Int32) async throws {
        if signal == SIGTERM || signal == SIGKILL { onSignal(signal) }
    }

    func resize(rows: Int, columns: Int) async throws {}

    func reopenLog() async throws {}

    func wait() async throws -> Int32 {
        guard let code = await exitCode.wait() else { throw CancellationError() }
        return code
    }

    func attach<Result: Sendable>(
        stdin: Bool, stdout: Bool, stderr: Bool, stdinOnce: Bool,
        _ body: @escaping @Sendable (ContainerAttachment) async throws -> Result
    ) async throws -> Result {
        throw ContainerError.invalid("the fake runtime has no stdio")
    }
}
