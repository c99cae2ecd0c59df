import Engine
import Foundation
import NIOCore
import Testing
@testable import API

struct ContainerRoutesTests {
    @Test func detachKeysParseAsDocker() throws {
        #expect(try ContainerRoutes.parseDetachKeys("ctrl-p,ctrl-q") == [0x10, 0x11])
        #expect(try ContainerRoutes.parseDetachKeys("ctrl-a,x") == [0x01, UInt8(ascii: "x")])
        #expect(throws: APIError.self) { try ContainerRoutes.parseDetachKeys("ctrl-foo") }
    }

    @Test func statusReadsLikeDockerPs() {
        let now = Date()
        var state = ContainerRecord.State()
        #expect(ContainerRoutes.status(state) == "Created")
        let run = ContainerRecord.Run(pid: 42, supervisorPID: 41, startedAt: now.addingTimeInterval(-3))
        state.phase = .running(run)
        #expect(ContainerRoutes.status(state, now: now) == "Up 3 seconds")
        state.phase = .paused(run)
        #expect(ContainerRoutes.status(state, now: now) == "Up 3 seconds (Paused)")
        state.phase = .exited(.init(code: 137, startedAt: run.startedAt, finishedAt: now.addingTimeInterval(-7200)), failure: nil)
        #expect(ContainerRoutes.status(state, now: now) == "Exited (137) 2 hours ago")
        #expect(ContainerRoutes.humanDuration(0.5) == "Less than a second" && ContainerRoutes.humanDuration(90) == "About a minute")
    }

    @Test func logEntriesAreFramedUnlessTTY() {
        let entry = ContainerLogs.Entry(stream: 2, text: "oops\n", time: "2026-11-25T10:00:00.000000001Z")
        var framed = ContainerRoutes.frame(entry, tty: false, timestamps: false)
        #expect(framed.readBytes(length: 8) == [2, 0, 0, 0, 0, 0, 0, 5] && framed.readString(length: 5) == "oops\n")
        var raw = ContainerRoutes.frame(entry, tty: true, timestamps: true)
        #expect(raw.readString(length: raw.readableBytes) == "2026-11-25T10:00:00.000000001Z oops\n")
    }
}
