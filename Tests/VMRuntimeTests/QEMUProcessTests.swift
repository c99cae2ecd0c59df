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

    /// Ending a VM returns once its QEMU has exited (the next VM may take its TAP's name), and ends
    /// only a process that holds the VM's pid file open.
    @Test func endingReturnsOnceTheVMsProcessHasExitedAndSparesOthers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qemu-end-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: directory + "/qemu.pid", contents: Data())
        let vm = try spawn(["/bin/sh", "-c", "exec 3<\(directory)/qemu.pid; exec /bin/sleep 30"])
        let stranger = try spawn(["/bin/sleep", "30"])
        defer {
            var status: Int32 = 0
            for pid in [vm, stranger] {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while !QEMUProcess.isQEMU(vm, of: directory), clock.now < deadline { usleep(2_000) }
        #expect(QEMUProcess.isQEMU(vm, of: directory))
        QEMUProcess.end(stranger, runDirectory: directory)
        #expect(QEMUProcess.isRunning(stranger), "a process without the VM's pid file is not the VM's")
        QEMUProcess.end(vm, runDirectory: directory)
        #expect(!QEMUProcess.isRunning(vm), "end returned before the VM's process had exited")
    }

    /// A process whose main thread has exited while another still runs shows its main thread as a
    /// zombie; its descriptors (a QEMU's TAP and pid file) stay open until the last thread ends.
    @Test func aProcessIsRunningUntilItsLastThreadHasExited() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qemu-threads-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lockFile = directory + "/held"
        // The second thread takes the lock, the main thread exits on its own (SYS_exit, not
        // exit_group), and the second thread lets the lock go with the process a second later.
        let script = """
            import ctypes, fcntl, os, threading, time
            held = open('\(lockFile)', 'w'); fcntl.flock(held, fcntl.LOCK_EX)
            pid_file = open('\(directory)/qemu.pid', 'w')
            threading.Thread(target=lambda: (time.sleep(1.5), os._exit(0))).start()
            open('\(directory)/ready', 'w').close()
            ctypes.CDLL(None).syscall(93 if os.uname().machine == 'aarch64' else 60, 0)
            """
        let pid = try spawn(["/usr/bin/python3", "-c", script])
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: directory + "/ready"), clock.now < deadline { usleep(2_000) }
        while !Self.mainThreadIsZombie(pid), clock.now < deadline { usleep(2_000) }
        #expect(Self.mainThreadIsZombie(pid), "the main thread exited first")
        #expect(QEMUProcess.isRunning(pid), "its other thread still runs")
        #expect(QEMUProcess.isQEMU(pid, of: directory), "its descriptors are read through the thread left")
        QEMUProcess.waitForExit(pid, deadline: clock.now + .seconds(10))
        let lock = open(lockFile, O_RDONLY | O_CLOEXEC)
        defer { close(lock) }
        #expect(flock(lock, LOCK_EX | LOCK_NB) == 0, "waiting returned while the process still held its descriptors")
    }

    private static func mainThreadIsZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(end, offsetBy: 2)] == "Z"
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
