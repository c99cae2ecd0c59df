import Foundation
import HostModel
import HostProbe
import Logging
import Testing

/// The KVM decision, driven by stand-in `qemu` scripts that behave like a booting or a hanging guest.
@Suite struct AcceleratorProbeTests {
    let logger = Logger(label: "test")

    func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "accel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/module/kvm_pvm", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/kvm", contents: Data())
        FileManager.default.createFile(atPath: directory + "/vmlinuz", contents: Data("kernel".utf8))
        return directory
    }

    func script(_ directory: String, _ body: String) throws -> String {
        let path = directory + "/qemu-\(UUID().uuidString.prefix(6))"
        // Written through a close-on-exec descriptor: a process another test spawns meanwhile must
        // not keep it open for writing, or running the script fails with ETXTBSY.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let text = Array("#!/bin/sh\n\(body)\n".utf8)
        fchmod(descriptor, 0o755)
        let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == text.count else { throw POSIXError(.EIO) }
        return path
    }

    /// A guest that answers gets the generous `timeout` (a loaded machine starts a shell script slowly);
    /// the hanging one is given a short one, since it waits all of it.
    func probe(_ directory: String, qemu: String?, cache: Bool = false, timeout: Duration = .seconds(20)) -> AcceleratorProbe {
        var probe = AcceleratorProbe(qemuPath: qemu, testKernel: directory + "/vmlinuz", cacheFile: cache ? directory + "/cache.json" : nil)
        probe.devicePath = directory + "/kvm"
        probe.moduleDirectory = directory + "/module"
        probe.bootTimeout = timeout
        return probe
    }

    @Test func kernelThatReachesPanicMeansKVM() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let qemu = try script(directory, "echo '[0.5] Kernel panic - not syncing: VFS: Unable to mount root fs'; exit 0")
        let report = await probe(directory, qemu: qemu).probe(logger: logger)
        #expect(report.kind == .kvm, "\(report.reason)")
    }

    @Test func hangingGuestUnderKvmPvmMeansTCGWithReason() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let qemu = try script(directory, "echo $$ > \(directory)/pid; exec sleep 300")
        let report = await probe(directory, qemu: qemu, timeout: .seconds(3)).probe(logger: logger)
        // The hung guest was killed at the deadline, not waited for.
        let pid = try #require(Int32(String(contentsOfFile: directory + "/pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(report.kind == .tcg)
        #expect(report.kvmModule == "kvm_pvm")
        #expect(report.reason.contains("kvm_pvm"))
        #expect(report.reason.contains("did not boot under KVM within 3000 ms"))
    }

    @Test func guestThatDiesEarlyMeansTCG() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let qemu = try script(directory, "echo 'qemu: could not access KVM kernel module' >&2; exit 1")
        let report = await probe(directory, qemu: qemu).probe(logger: logger)
        #expect(report.kind == .tcg)
        #expect(report.reason.contains("qemu exit 1"))
    }

    @Test func missingPiecesAreNamed() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(await probe(directory, qemu: nil).probe(logger: logger).kind == .none)
        var noDevice = probe(directory, qemu: "/bin/true")
        noDevice.devicePath = directory + "/absent"
        let report = await noDevice.probe(logger: logger)
        #expect(report.kind == .tcg && report.reason.contains("does not exist"))
    }

    @Test func verdictIsCachedUntilQemuChanges() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let qemu = try script(directory, "echo 'Kernel panic'")
        #expect(await probe(directory, qemu: qemu, cache: true).probe(logger: logger).kind == .kvm)
        // Same file, same size and mtime: the cached verdict stands even though the script now hangs.
        try "#!/bin/sh\nexec sleep 9\n".write(toFile: qemu, atomically: false, encoding: .utf8)
        let changed = await probe(directory, qemu: qemu, cache: true, timeout: .seconds(3)).probe(logger: logger)
        #expect(changed.kind == .tcg, "a changed qemu binary must be tested again")
    }
}
