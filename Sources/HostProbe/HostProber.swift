import Foundation
import HostModel
import Logging
import OCI
import VMRuntime

/// Probes the host once: what it is, and every platform it can run and how.
public struct HostProber: Sendable {
    public struct Configuration: Sendable {
        /// libvirt URI for utility VMs.
        public var libvirtURI: String
        /// A writable directory on the filesystem that will hold container layers (overlay test mount).
        public var scratchDirectory: String
        /// Where slow verdicts (the KVM boot test) are cached across daemon starts.
        public var cacheDirectory: String?
        /// Kernel used to prove KVM; by default the newest `/boot/vmlinuz-*`.
        public var kvmTestKernel: String?

        public init(libvirtURI: String, scratchDirectory: String, cacheDirectory: String?, kvmTestKernel: String? = nil) {
            self.libvirtURI = libvirtURI
            self.scratchDirectory = scratchDirectory
            self.cacheDirectory = cacheDirectory
            self.kvmTestKernel = kvmTestKernel
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func probe(logger: Logger) async -> HostReport {
        let kernel = Self.uname()
        let hostPlatform = Platform.host(machine: kernel.machine)
        let osRelease = Self.osRelease()
        let emulators = EmulatorScanner.scan()
        let hostEmulator = EmulatorScanner.binary(for: hostPlatform, in: emulators)

        let acceleratorProbe = AcceleratorProbe(
            qemuPath: hostEmulator?.path,
            testKernel: configuration.kvmTestKernel ?? Self.newestBootKernel(),
            cacheFile: configuration.cacheDirectory.map { $0 + "/accelerator.json" })
        async let accelerator = acceleratorProbe.probe(logger: logger)

        return await HostReport(
            operatingSystem: osRelease["PRETTY_NAME"] ?? "Linux",
            osVersion: osRelease["VERSION_ID"] ?? "",
            kernelVersion: kernel.release,
            machine: kernel.machine,
            hostPlatform: hostPlatform,
            cpus: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: Int64(ProcessInfo.processInfo.physicalMemory),
            cgroups: CgroupDetector.detect(),
            overlayfs: KernelFeatures.overlayfs(scratchDirectory: configuration.scratchDirectory),
            seccomp: KernelFeatures.seccomp(),
            userNamespaces: KernelFeatures.userNamespaces(),
            binfmt: BinfmtScanner.scan(),
            systemEmulators: emulators,
            libvirt: LibvirtCheck.check(uri: configuration.libvirtURI),
            accelerator: accelerator,
            vmFileAccess: QEMUFileAccess.check(roots: [configuration.scratchDirectory], directories: configuration.cacheDirectory.map { [$0] } ?? []),
            guestKernels: guestKernels(for: emulators))
    }

    /// What a VM of each emulated architecture would boot, by OCI architecture name.
    func guestKernels(for emulators: [SystemEmulator]) -> [String: String] {
        guard let cache = configuration.cacheDirectory else { return [:] }
        var kernels: [String: String] = [:]
        for platform in emulators.flatMap(\.platforms) {
            if let kernel = GuestKernel.select(platformArchitecture: platform.architecture, cacheDirectory: cache) {
                kernels[platform.architecture] = kernel.summary
            }
        }
        return kernels
    }

    static func uname() -> (release: String, machine: String) {
        var name = utsname()
        Foundation.uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return (field(name.release), field(name.machine))
    }

    static func osRelease() -> [String: String] {
        let text = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let value = line[line.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            values[String(line[..<equals])] = value
        }
        return values
    }

    static func newestBootKernel() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            .last
            .map { "/boot/" + $0 }
    }
}
