import Foundation

/// The kernel and initramfs a utility VM of one architecture boots: the minimal kernel from
/// guest-kernel/build when one is built (about twice as fast to boot), else the newest Debian
/// stock kernel that vm-images/build prepared with the modules it lacks.
public struct GuestKernel: Sendable, Equatable {
    public enum Origin: String, Sendable { case minimal, stock }

    public var kernel: String
    public var initramfs: String
    public var release: String
    public var origin: Origin

    /// nil when neither is there: the VM cannot boot, and the error says which script to run.
    public static func select(architecture: String, cacheDirectory: String) -> GuestKernel? {
        guard let images = newest(in: cacheDirectory + "/vm-images", architecture: architecture, containing: "initramfs.cpio") else {
            return nil
        }
        if let built = newest(in: cacheDirectory + "/guest-kernels", architecture: architecture, containing: "kernel"),
           let release = try? String(contentsOfFile: built + "/release", encoding: .utf8) {
            return GuestKernel(kernel: built + "/kernel", initramfs: images + "/initramfs.cpio",
                               release: release.trimmingCharacters(in: .whitespacesAndNewlines), origin: .minimal)
        }
        let stock = images + "/stock"
        let releases = ((try? FileManager.default.contentsOfDirectory(atPath: stock)) ?? [])
            .filter { FileManager.default.fileExists(atPath: "\(stock)/\($0)/kernel") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let release = releases.last else { return nil }
        return GuestKernel(kernel: "\(stock)/\(release)/kernel", initramfs: "\(stock)/\(release)/initramfs.cpio",
                           release: release, origin: .stock)
    }

    /// The most recently built `<architecture>-<key>` directory holding `file`.
    static func newest(in directory: String, architecture: String, containing file: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let candidates = names.filter { $0.hasPrefix(architecture + "-") }
            .map { "\(directory)/\($0)" }
            .filter { FileManager.default.fileExists(atPath: "\($0)/\(file)") }
        func modified(_ path: String) -> Date {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
        }
        return candidates.max { modified($0) < modified($1) }
    }

    /// The cache's name for a platform's architecture (OCI `amd64` is the kernel's `x86_64`).
    public static func architecture(forPlatform architecture: String) -> String {
        architecture == "amd64" ? "x86_64" : architecture
    }

    /// What a VM for an image of this OCI architecture (`amd64`, `arm64`, `arm`) would boot.
    public static func select(platformArchitecture: String, cacheDirectory: String) -> GuestKernel? {
        select(architecture: architecture(forPlatform: platformArchitecture), cacheDirectory: cacheDirectory)
    }

    /// One line for `berth info`.
    public var summary: String {
        origin == .minimal ? "\(release) (minimal)" : "\(release) (Debian stock; guest-kernel/build makes a faster one)"
    }
}
