import Foundation
import Glibc
import Testing
@testable import VMRuntime

struct QEMUProcessTests {
    /// A daemonized QEMU is reaped by whoever adopted it, maybe a second later: waiting for its exit
    /// must end when it has exited, not when it is reaped.
    @Test func anExitedButUnreapedProcessCountsAsEnded() throws {
        let running = try spawn(["/bin/sleep", "30"])
        let ending = try spawn(["/bin/true"])
        defer {
            kill(running, SIGKILL)
            var status: Int32 = 0
            waitpid(running, &status, 0)
            waitpid(ending, &status, 0)
        }
        let clock = ContinuousClock()
        // `true` exits at once and stays a zombie: this test does not reap it until the end.
        let waitedFrom = clock.now
        QEMUProcess.waitForExit(ending, deadline: clock.now + .seconds(10))
        #expect(clock.now - waitedFrom < .seconds(5), "waiting ended with the exit, not at the deadline")
        #expect(kill(ending, 0) == 0, "the exited child is still there to be reaped")
        #expect(!QEMUProcess.isRunning(ending))
        #expect(QEMUProcess.isRunning(running))
        let started = clock.now
        QEMUProcess.waitForExit(running, deadline: clock.now + .milliseconds(300))
        #expect(clock.now - started >= .milliseconds(300), "a running process is waited for until the deadline")
        #expect(!QEMUProcess.isRunning(Int32.max), "no such process")
    }

    private func spawn(_ arguments: [String]) throws -> pid_t {
        var pid: pid_t = 0
        let pointers = arguments.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        let result = posix_spawn(&pid, arguments[0], nil, nil, pointers, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
        return pid
    }
}
