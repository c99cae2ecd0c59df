import Foundation
import HostModel
import Logging
import SystemSupport

/// Decides which accelerator utility VMs of the host's architecture use.
///
/// `/dev/kvm` existing proves nothing: under a paravirtual KVM (kvm_pvm) real-mode code runs but
/// ordinary kernels hang once they switch to long mode. So KVM is chosen only after a real kernel
/// booted under it to its end: with no root filesystem it panics, and `panic=-1` plus `-no-reboot`
/// make QEMU exit right after printing the panic on the serial console.
public struct AcceleratorProbe: Sendable {
    static let bootFinishedMarker = "Kernel panic"

    public var qemuPath: String?
    /// A kernel image of the host's architecture to boot (a guest kernel, or the host's own).
    public var testKernel: String?
    public var devicePath = "/dev/kvm"
    public var moduleDirectory = "/sys/module"
    public var bootTimeout: Duration = .seconds(8)
    /// Where the verdict is cached; it holds until the host reboots or QEMU or the kernel change.
    public var cacheFile: String?

    public init(qemuPath: String?, testKernel: String?, cacheFile: String?) {
        self.qemuPath = qemuPath
        self.testKernel = testKernel
        self.cacheFile = cacheFile
    }

    public func probe(logger: Logger) async -> AcceleratorReport {
        let module = kvmModule()
        guard let qemuPath else {
            return AcceleratorReport(
                kind: .none,
                reason: "no qemu-system binary for the host architecture is installed (apt-get install qemu-system-x86)",
                kvmModule: module)
        }
        guard FileManager.default.fileExists(atPath: devicePath) else {
            return AcceleratorReport(kind: .tcg, reason: "\(devicePath) does not exist", kvmModule: module)
        }
        guard let testKernel else {
            return AcceleratorReport(
                kind: .tcg, reason: "no kernel to prove KVM with (apt-get install linux-image-cloud-amd64)",
                kvmModule: module)
        }
        let key = cacheKey(files: [qemuPath, testKernel])
        if let cached = readCache(key: key) { return cached }

        let report = await bootTest(qemuPath: qemuPath, kernel: testKernel, module: module, logger: logger)
        writeCache(report, key: key)
        return report
    }

    func bootTest(qemuPath: String, kernel: String, module: String?, logger: Logger) async -> AcceleratorReport {
        do {
            let started = ContinuousClock.now
            let outcome = try await ProcessRunner.run(
                qemuPath,
                [
                    "-accel", "kvm", "-machine", "pc", "-m", "128", "-nodefaults", "-no-reboot",
                    "-display", "none", "-monitor", "none", "-serial", "stdio",
                    "-kernel", kernel, "-append", "console=ttyS0 panic=-1 quiet",
                ],
                timeout: bootTimeout)
            let elapsed = ContinuousClock.now - started
            logger.debug("KVM boot test", metadata: ["status": "\(String(describing: outcome.exitStatus))", "elapsed": "\(elapsed)"])
            if outcome.exitStatus != nil, outcome.output.contains(Self.bootFinishedMarker) {
                return AcceleratorReport(
                    kind: .kvm, reason: "a test kernel booted under KVM in \(elapsed.formattedMilliseconds)", kvmModule: module)
            }
            var reason: String
            if let status = outcome.exitStatus {
                let lastLine = outcome.output.split(separator: "\n").last.map(String.init) ?? "no output"
                reason = "a test kernel under KVM did not boot (qemu exit \(status): \(lastLine))"
            } else {
                reason = "a test kernel did not boot under KVM within \(bootTimeout.formattedMilliseconds)"
            }
            if module == "kvm_pvm" {
                reason = "KVM here is kvm_pvm, which boots only PVM-patched guest kernels: " + reason
            }
            return AcceleratorReport(kind: .tcg, reason: reason, kvmModule: module)
        } catch {
            return AcceleratorReport(kind: .tcg, reason: "could not run the KVM boot test: \(error)", kvmModule: module)
        }
    }

    func kvmModule() -> String? {
        ["kvm_pvm", "kvm_intel", "kvm_amd"].first {
            FileManager.default.fileExists(atPath: moduleDirectory + "/" + $0)
        }
    }

    func cacheKey(files: [String]) -> String {
        let bootID = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown-boot"
        let fileStamps = files.map { path -> String in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            return "\(path):\(Int64(modified)):\(size)"
        }
        return ([bootID] + fileStamps).joined(separator: " ")
    }

    private struct CacheEntry: Codable {
        var key: String
        var report: AcceleratorReport
    }

    func readCache(key: String) -> AcceleratorReport? {
        guard let cacheFile, let data = FileManager.default.contents(atPath: cacheFile),
              let entry = try? JSONDecoder().decode(CacheEntry.self, from: data), entry.key == key
        else { return nil }
        return entry.report
    }

    func writeCache(_ report: AcceleratorReport, key: String) {
        guard let cacheFile, let data = try? JSONEncoder().encode(CacheEntry(key: key, report: report)) else { return }
        try? AtomicFile.write(data, to: cacheFile)
    }
}

extension Duration {
    var formattedMilliseconds: String {
        let (seconds, attoseconds) = components
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }
}
