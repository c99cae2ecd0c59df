import APIModels
import Foundation
import Testing
@testable import Engine

/// The container service's own rules — states, events, restart policies, removal — over a fake
/// runtime, so they are checked without a kernel.
struct ContainerServiceLifecycleTests {
    @Test func createStartAndExitWalkTheStates() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create(name: "walker")
            #expect(try await fixture.status(id).status == .created)
            #expect(fixture.runtime.calls == ["prepare \(id)"])

            try await fixture.containers.start("walker")
            let running = try await fixture.status(id)
            #expect(running.status == .running && running.pid > 0 && running.startedAt != nil)
            await #expect(throws: ContainerError.notModified) { try await fixture.containers.start(id) }

            fixture.runtime.exit(id, code: 3)
            let exited = try await fixture.waitFor(id) { $0.status == .exited }
            #expect(exited.status == .exited && exited.exitCode == 3 && exited.pid == 0 && exited.finishedAt != nil)
            #expect(fixture.runtime.calls == ["prepare \(id)", "launch \(id)", "cleanUp \(id)"])
            #expect(try await fixture.containerActions(id) == ["create", "start", "die"])
        }
    }

    @Test func onFailureRestartsUpToItsLimit() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create { $0.RestartPolicy = RestartPolicy(Name: "on-failure", MaximumRetryCount: 2) }
            try await fixture.containers.start(id)
            for restart in 1...2 {
                fixture.runtime.exit(id, code: 1)
                let back = try await fixture.waitFor(id) { $0.status == .running && $0.restartCount == restart }
                #expect(back.status == .running && back.restartCount == restart, "\(back)")
            }
            fixture.runtime.exit(id, code: 1)
            let last = try await fixture.waitFor(id) { $0.status == .exited }
            #expect(last.status == .exited && last.restartCount == 2, "\(last)")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await fixture.status(id).status == .exited)
            #expect(try await fixture.containerActions(id) == ["create", "start", "die", "start", "die", "start", "die"])
        }
    }

    @Test func aSuccessfulExitIsNotRestartedOnFailure() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create { $0.RestartPolicy = RestartPolicy(Name: "on-failure") }
            try await fixture.containers.start(id)
            fixture.runtime.exit(id, code: 0)
            _ = try await fixture.waitFor(id) { $0.status == .exited }
            try await Task.sleep(for: .milliseconds(300))
            let state = try await fixture.status(id)
            #expect(state.status == .exited && state.restartCount == 0)
        }
    }

    @Test func stopSignalsAndKeepsAlwaysPolicyFromRestarting() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create { $0.RestartPolicy = RestartPolicy(Name: "always") }
            try await fixture.containers.start(id)
            try await fixture.containers.stop(id, timeout: 5)
            let stopped = try await fixture.status(id)
            #expect(stopped.status == .exited && stopped.exitCode == 128 + SIGTERM && stopped.manuallyStopped == true)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await fixture.status(id).status == .exited)
            #expect(try await fixture.containerActions(id) == ["create", "start", "die", "stop"])
            await #expect(throws: ContainerError.notModified) { try await fixture.containers.stop(id) }
        }
    }

    /// A running container with the `always` policy whose command exited, held at `hold`'s point.
    static func exitHeld(in fixture: EngineFixture, at hold: (FakeContainerRuntime) -> FakeContainerRuntime.Hold) async throws
        -> (String, FakeContainerRuntime.Hold)
    {
        let id = try await fixture.create { $0.RestartPolicy = RestartPolicy(Name: "always") }
        try await fixture.containers.start(id)
        let held = hold(fixture.runtime)
        fixture.runtime.exit(id, code: 0)
        await held.waitUntilReached()
        return (id, held)
    }

    /// A stop that lands while the restart policy is starting the container again wins: the run the
    /// stop did not see ends at once and is not restarted.
    @Test func aStopDuringARestartKeepsTheContainerStopped() async throws {
        try await EngineFixture.with { fixture in
            let (id, launch) = try await Self.exitHeld(in: fixture) { $0.holdNextLaunch() }
            try await fixture.containers.stop(id, timeout: 1)
            launch.release()
            // The stop's own record matches at once; the run it did not see has ended once cleaned up after.
            let stopped = try await fixture.waitFor(id) { state in
                state.status == .exited && state.restartCount == 1 && state.pid == 0 && fixture.runtime.cleanedUpPIDs.count == 2
            }
            #expect(stopped.status == .exited && stopped.manuallyStopped == true && fixture.runtime.cleanedUpPIDs.count == 2, "\(stopped)")
            try await Task.sleep(for: .milliseconds(500))
            let later = try await fixture.status(id)
            #expect(later.status == .exited && later.restartCount == 1, "the policy left it be: \(later)")
        }
    }

    /// A stop that lands while an exit is being cleaned up keeps its mark: the policy does not restart.
    @Test func aStopDuringAnExitsCleanUpIsKept() async throws {
        try await EngineFixture.with { fixture in
            let (id, cleanUp) = try await Self.exitHeld(in: fixture) { $0.holdNextCleanUp() }
            let stopping = Task { try await fixture.containers.stop(id, timeout: 1) }
            _ = try await fixture.waitFor(id) { $0.manuallyStopped == true }
            cleanUp.release()
            try await stopping.value
            try await Task.sleep(for: .milliseconds(500))
            let state = try await fixture.status(id)
            #expect(state.status == .exited && state.restartCount == 0 && state.manuallyStopped == true, "\(state)")
        }
    }

    @Test func removalNeedsForceWhileRunningAndLeavesNothing() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create(name: "doomed")
            try await fixture.containers.start(id)
            do {
                try await fixture.containers.remove(id, force: false)
                Issue.record("a running container was removed without force")
            } catch ContainerError.conflict(let message) {
                #expect(message.contains("container is running: stop the container before removing or force remove"))
            }
            try await fixture.containers.remove("doomed", force: true)
            await #expect(throws: ContainerError.notFound("No such container: doomed")) { try await fixture.containers.find("doomed") }
            #expect(fixture.runtime.calls.suffix(2) == ["cleanUp \(id)", "remove \(id)"])
            #expect(!FileManager.default.fileExists(atPath: fixture.containers.paths.directory(id)))
            #expect(try await fixture.containerActions(id) == ["create", "start", "die", "destroy"])
        }
    }

    @Test func autoRemoveGoesAtExit() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create { $0.AutoRemove = true }
            let removed = try await fixture.containers.waiter(id, condition: .removed)
            try await fixture.containers.start(id)
            fixture.runtime.exit(id, code: 0)
            #expect(await removed().code == 0)
            #expect(try await fixture.containers.list().isEmpty)
            #expect(try await fixture.containerActions(id) == ["create", "start", "die", "destroy"])
        }
    }

    @Test func aFailedLaunchLeavesTheContainerCreatedWithItsError() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create()
            fixture.runtime.failNextLaunch("exec: \"nosuch\": executable file not found in $PATH")
            do {
                try await fixture.containers.start(id)
                Issue.record("the start succeeded")
            } catch ContainerError.startFailed(let code, let message) {
                #expect(code == 127 && message.contains("executable file not found"))
            }
            let state = try await fixture.status(id)
            #expect(state.status == .created && state.exitCode == 127 && state.error.contains("executable file not found"))
            #expect(try await fixture.containerActions(id) == ["create"])
            // What creation prepared is released, as after an exit.
            #expect(fixture.runtime.calls == ["prepare \(id)", "launch \(id)", "cleanUp \(id)"])
            try await fixture.containers.start(id)
            #expect(try await fixture.status(id).status == .running)
        }
    }

    @Test func aCommandThatCannotRunEndsTheRunItWasLaunchedIn() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create()
            fixture.runtime.failNextExec("exec: \"nosuch\": executable file not found in $PATH")
            await #expect(throws: ContainerError.startFailed(code: 127, message: "exec: \"nosuch\": executable file not found in $PATH")) {
                try await fixture.containers.start(id)
            }
            let state = try await fixture.status(id)
            #expect(state.status == .exited && state.exitCode == 127 && state.error.contains("executable file not found"))
            // The clean-up saw the launched run (its cgroups, VM and ports), not the state before it.
            #expect(fixture.runtime.cleanedUpPIDs.count == 1 && fixture.runtime.cleanedUpPIDs[0] > 0)
            #expect(try await fixture.containerActions(id) == ["create", "die"])
        }
    }

    @Test func pauseGoesThroughTheRuntimeAndOnlyWhenItCan() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.create()
            try await fixture.containers.start(id)
            try await fixture.containers.pause(id)
            #expect(try await fixture.status(id).status == .paused)
            await #expect(throws: ContainerError.conflict("cannot start a paused container, try unpause instead")) {
                try await fixture.containers.start(id)
            }
            try await fixture.containers.unpause(id)
            #expect(fixture.runtime.calls.suffix(2) == ["freeze \(id)", "thaw \(id)"])
            #expect(try await fixture.containerActions(id) == ["create", "start", "pause", "unpause"])
        }
        try await EngineFixture.with(runtime: FakeContainerRuntime(capabilities: [])) { fixture in
            let id = try await fixture.create(name: "unpausable")
            try await fixture.containers.start(id)
            await #expect(throws: ContainerError.invalid("pause is not available for containers in utility VMs yet (container unpausable)")) {
                try await fixture.containers.pause(id)
            }
        }
    }
}
