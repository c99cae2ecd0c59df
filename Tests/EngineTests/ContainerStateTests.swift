import Foundation
import Testing
@testable import Engine

/// The container's phases, and the flat JSON rows they are stored as.
struct ContainerStateTests {
    static func decode(_ json: String) throws -> ContainerRecord.State {
        try JSONDecoder().decode(ContainerRecord.State.self, from: Data(json.utf8))
    }

    @Test func rowsOfEarlierVersionsReadAsTheirPhase() throws {
        let running = try Self.decode(#"{"status":"running","pid":42,"shimPID":41,"exitCode":0,"error":"","oomKilled":false,"#
            + #""startedAt":100,"restartCount":2,"publishedPorts":[{"hostPort":8080,"containerPort":80,"proto":"tcp"}]}"#)
        guard case .running(let run) = running.phase else { Issue.record("not running: \(running.phase)"); return }
        #expect(run.pid == 42 && run.supervisorPID == 41 && run.publishedPorts.map(\.hostPort) == [8080])
        #expect(running.restartCount == 2 && running.finishedAt == nil && running.isActive)

        let exited = try Self.decode(#"{"status":"exited","pid":0,"shimPID":0,"exitCode":137,"error":"","oomKilled":true,"#
            + #""startedAt":100,"finishedAt":160,"restartCount":0}"#)
        #expect(exited.phase == .exited(.init(code: 137, oomKilled: true, startedAt: Date(timeIntervalSinceReferenceDate: 100),
                                              finishedAt: Date(timeIntervalSinceReferenceDate: 160)), failure: nil))
        #expect(exited.pid == 0 && exited.publishedPorts == nil && !exited.isActive)

        let failed = try Self.decode(#"{"status":"created","pid":0,"shimPID":0,"exitCode":127,"error":"not found","oomKilled":false,"restartCount":0}"#)
        #expect(failed.phase == .created(preparedCgroup: nil, failure: .init(code: 127, message: "not found")))
    }

    @Test func anExitedContainerCanBeAttachedToForItsNextStart() {
        let attachable = [ContainerRecord.Status.created, .running, .paused, .restarting, .removing, .exited, .dead].filter(\.isAttachable)
        #expect(attachable == [.created, .running, .paused, .restarting, .exited])
    }

    @Test func whatAPhaseHoldsSurvivesTheRow() throws {
        let started = Date(timeIntervalSince1970: 1_800_000_000)
        let run = ContainerRecord.Run(pid: 7, supervisorPID: 6, startedAt: started,
                                      publishedPorts: [PublishedPort(hostAddress: nil, hostPort: 8080, containerPort: 80, proto: "tcp")])
        let exit = ContainerRecord.Exit(code: 3, error: "", startedAt: started, finishedAt: started.addingTimeInterval(5))
        for phase: ContainerRecord.Phase in [.created(preparedCgroup: nil, failure: nil), .running(run), .paused(run),
                                             .restarting(after: exit), .exited(exit, failure: nil), .removing, .dead] {
            var state = ContainerRecord.State()
            state.phase = phase
            state.restartCount = 1
            let read = try JSONDecoder().decode(ContainerRecord.State.self, from: JSONEncoder().encode(state))
            #expect(read == state, "\(phase)")
        }
    }

    @Test func aFailedStartKeepsThePhaseAndShowsItsCode() {
        var state = ContainerRecord.State()
        let exit = ContainerRecord.Exit(code: 0, startedAt: Date(), finishedAt: Date())
        state.phase = .restarting(after: exit)
        state.recordStartFailure(.init(code: 127, message: "exec: \"nosuch\": executable file not found in $PATH"))
        #expect(state.status == .exited && state.exitCode == 127 && state.error.hasPrefix("exec:"))
        #expect(state.startedAt == exit.startedAt && state.finishedAt == exit.finishedAt)
        var fresh = ContainerRecord.State()
        fresh.recordStartFailure(.init(code: 126, message: "permission denied"))
        #expect(fresh.status == .created && fresh.exitCode == 126 && fresh.pid == 0)
    }
}
