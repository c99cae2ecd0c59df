import Foundation
import SystemSupport

/// The kernel and initramfs a utility VM of one architecture boots: the minimal kernel from
/// guest-kernel/build when one is built (about twice as fast to boot), else the newest Debian
/// stock kernel that vm-images/build prepared with the modules it lacks.
public struct GuestKernel: Sendable, Equatable {
    /// `custom`: a kernel image the user named by path (`--vm-kernel`).
    public enum Origin: String, Sendable { case minimal, stock, custom }

    public var kernel: String
    public var initramfs: String
    public var release: String
    public var origin: Origin

    /// nil when neither is there: the VM cannot boot, and the error says which script to run.
    public static func select(architecture: String, cacheDirectory: String) -> GuestKernel? {
        minimal(architecture: architecture, cacheDirectory: cacheDirectory) ?? stock(architecture: architecture, cacheDirectory: cacheDirectory).last
    }

    /// The minimal kernel guest-kernel/build made, with the agent's initramfs; nil when either is missing.
    static func minimal(architecture: String, cacheDirectory: String) -> GuestKernel? {
        guard let images = agentImages(architecture: architecture, cacheDirectory: cacheDirectory),
              let built = newest(in: cacheDirectory + "/guest-kernels", architecture: architecture, containing: "kernel"),
              let release = try? String(contentsOfFile: built + "/release", encoding: .utf8) else { return nil }
        return GuestKernel(kernel: built + "/kernel", initramfs: images + "/initramfs.cpio",
                           release: release.trimmingCharacters(in: .whitespacesAndNewlines), origin: .minimal)
    }

    /// The Debian stock kernels vm-images/build prepared, oldest release first.
    static func stock(architecture: String, cacheDirectory: String) -> [GuestKernel] {
        guard let images = agentImages(architecture: architecture, cacheDirectory: cacheDirectory) else { return [] }
        let stock = images + "/stock"
        return ((try? FileManager.default.contentsOfDirectory(atPath: stock)) ?? [])
            .filter { FileManager.default.fileExists(atPath: "\(stock)/\($0)/kernel") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            .map { GuestKernel(kernel: "\(stock)/\($0)/kernel", initramfs: "\(stock)/\($0)/initramfs.cpio", release: $0, origin: .stock) }
    }

    /// The newest agent and initramfs vm-images/build made for the architecture.
    static func agentImages(architecture: String, cacheDirectory: String) -> String? {
        newest(in: cacheDirectory + "/vm-images", architecture: architecture, containing: "initramfs.cpio")
    }

    /// The pod infra program (`berth-pause`) vm-images/build made beside the agent of a VM of this
    /// OCI architecture, for the sandboxes of pods in such VMs; nil when it made none.
    public static func pauseProgram(platformArchitecture: String, cacheDirectory: String) -> String? {
        newest(in: cacheDirectory + "/vm-images", architecture: architecture(forPlatform: platformArchitecture), containing: "pause")
            .map { $0 + "/pause" }
    }

    /// `--vm-kernel`: `minimal`, `stock` (the newest Debian one), a release the cache holds, or the
    /// absolute path of a kernel image for `architecture`, which boots with the agent's initramfs
    /// and so must have what the agent needs built in (virtio PCI, console, block and net, ext4,
    /// overlay, 9p).
    public static func chosen(_ choice: String, architecture: String, cacheDirectory: String) throws -> GuestKernel {
        let minimal = minimal(architecture: architecture, cacheDirectory: cacheDirectory)
        let stock = stock(architecture: architecture, cacheDirectory: cacheDirectory)
        if choice.hasPrefix("/") {
            guard let images = agentImages(architecture: architecture, cacheDirectory: cacheDirectory) else {
                throw GuestKernelChoiceError("no guest agent for \(architecture) VMs: run `vm-images/build \(architecture)`")
            }
            var info = stat()
            let readable = stat(choice, &info) == 0 && access(choice, R_OK) == 0 ? 0 : errno
            guard readable == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                let reason = readable != 0 ? SystemError.text(readable) : (info.st_mode & S_IFMT) == S_IFDIR ? "Is a directory" : "not a regular file"
                throw GuestKernelChoiceError("guest kernel \(choice): \(reason)")
            }
            guard let image = KernelImage(path: choice) else {
                throw GuestKernelChoiceError("guest kernel \(choice) is not a kernel image QEMU boots (a bzImage, an arm64 Image, a zImage or an ELF vmlinux)")
            }
            guard image.architecture == architecture else {
                throw GuestKernelChoiceError("guest kernel \(choice) is for \(image.architecture), not for the \(architecture) VM this container runs in")
            }
            return GuestKernel(kernel: choice, initramfs: images + "/initramfs.cpio", release: image.release ?? "unknown release", origin: .custom)
        }
        let found: GuestKernel?
        switch choice {
        case "minimal": found = minimal
        case "stock": found = stock.last
        default: found = ([minimal].compactMap { $0 } + stock).last { $0.release == choice }
        }
        guard let found else {
            let known = (minimal.map { ["minimal (\($0.release))"] } ?? []) + (stock.isEmpty ? [] : ["stock"]) + stock.map(\.release)
            throw GuestKernelChoiceError("no guest kernel \(choice) for \(architecture) VMs: use "
                + (known.isEmpty ? "" : known.joined(separator: ", ") + " or ") + "the absolute path of a kernel image")
        }
        return found
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
        switch origin {
        case .minimal: return "\(release) (minimal)"
        case .stock: return "\(release) (Debian stock; guest-kernel/build makes a faster one)"
        case .custom: return "\(release) (\(kernel))"
        }
    }
}

/// Why `--vm-kernel` names no kernel a VM of this architecture can boot.
public struct GuestKernelChoiceError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}
