import CLinux
import Foundation
import Glibc
import SystemSupport

/// A QEMU that berthd starts itself: it daemonizes once its devices are set up (so the VM
/// outlives berthd, as a libvirt domain does) and is known afterwards by its pid file.
public enum QEMUProcess {
    /// Runs QEMU and returns its pid once it has daemonized; its error output before that is in
    /// `qemu.log` of the run directory and in the error thrown.
    /// QEMU runs without transparent huge pages, which would put a whole 2 MiB page under each
    /// touched part of its code buffer and heap. With `merging`, all of QEMU's memory (not only
    /// guest RAM) is offered to kernel same-page merging, and QEMU's address space is laid out
    /// without randomisation: clones of one template then hold their heaps and device state at the
    /// same addresses, so the pointers in them match and the pages merge.
    static func start(_ command: QEMUCommandLine, merging: Bool = false) throws -> Int32 {
        let log = command.runDirectory + "/qemu.log"
        let errors = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard errors >= 0 else { throw QEMUError.failed("opening \(log): \(SystemError.text(errno))") }
        defer { close(errors) }
        unlink(command.pidFile)
        unlink(command.monitorSocket)
        // posix_spawn and waitpid, not Foundation's Process: it learns of an exit through a socket the
        // child inherits, which the daemonized QEMU would keep open.
        var launcher: pid_t = 0
        let pointers = command.arguments.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        let environment = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { free(environment[0]) }
        let spawned = pointers.withUnsafeBufferPointer { argv in
            environment.withUnsafeBufferPointer { envp in
                berth_spawn_vm(command.arguments[0], argv.baseAddress!, envp.baseAddress!, errors, errors, merging ? 1 : 0, &launcher)
            }
        }
        guard spawned == 0 else { throw QEMUError.failed("starting \(command.arguments[0]): \(SystemError.text(spawned))") }
        var status: Int32 = 0
        while waitpid(launcher, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exited == 0, let pid = pid(runDirectory: command.runDirectory) else {
            let said = (try? String(contentsOfFile: log, encoding: .utf8))?.split(whereSeparator: \.isNewline)
                .filter { !$0.contains("has no peer") }.suffix(3).joined(separator: " | ")
            throw QEMUError.failed("QEMU did not start (exit \(exited)): \(said ?? "")")
        }
        return pid
    }

    /// The running QEMU of the VM in `runDirectory`, if its pid file names one that is still that QEMU.
    public static func pid(runDirectory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: runDirectory + "/qemu.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, isQEMU(pid, of: runDirectory) else { return nil }
        return pid
    }

    /// Ends the VM of `runDirectory` at once, if its QEMU still runs (the guest has synced what it
    /// wrote), and returns once it has exited or `deadline` passed: only then are its TAPs, whose
    /// names the VM started next may take, and its disks' write locks let go.
    public static func end(_ pid: Int32, runDirectory: String, deadline: ContinuousClock.Instant = .now + .seconds(5)) {
        guard isQEMU(pid, of: runDirectory) else { return }
        kill(pid, SIGKILL)
        waitForExit(pid, deadline: deadline)
    }

    /// Whether `pid` is still the QEMU of `runDirectory`. QEMU holds its pid file open while it runs,
    /// so its descriptors name the file where it is now: moved into `runDirectory` with a pool VM
    /// handed to a container, or removed with the directory.
    /// The table is read through any of its threads: a main thread that has exited already shows none.
    static func isQEMU(_ pid: Int32, of runDirectory: String) -> Bool {
        let pidFile = runDirectory + "/qemu.pid"
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for thread in threads {
            let descriptors = "/proc/\(pid)/task/\(thread)/fd"
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: descriptors), !entries.isEmpty else { continue }
            return entries.contains { entry in
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: descriptors + "/" + entry) else { return false }
                return target == pidFile || target == pidFile + " (deleted)"
            }
        }
        return false
    }

    /// Returns once `pid` has exited or `deadline` passed. QEMU daemonized, so it is not our child
    /// to wait for, and whoever reaps it may take a second: an exited QEMU (a zombie) has let go of
    /// the VM's memory and files already.
    public static func waitForExit(_ pid: Int32, deadline: ContinuousClock.Instant) {
        while isRunning(pid), ContinuousClock.now < deadline { usleep(5_000) }
    }

    /// Whether `pid` is a process that has not exited, by the state in `/proc/PID/stat`. Its main
    /// thread may be a zombie while other threads still run and hold the descriptors (QEMU's vCPU
    /// threads end after it under load): the process has exited when no other thread is left.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let nameEnd = stat.lastIndex(of: ")") else { return false }
        // The state follows the command name, which may hold spaces and parentheses of its own.
        let state = stat[stat.index(after: nameEnd)...].first { $0 != " " }
        guard state == "Z" || state == "X" else { return true }
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return threads.contains { $0 != String(pid) }
    }
}
