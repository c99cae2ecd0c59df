import Crypto
import Foundation

/// The files of one template, in its directory: the guest RAM as it was when the agent waited for
/// its first container, QEMU's saved device state, and the blanks a clone's unused slots point at.
public struct VMTemplateFiles: Sendable, Equatable {
    public var directory: String

    public init(directory: String) { self.directory = directory }

    /// Guest RAM: written through a shared mapping by the template, mapped private by each clone.
    public var memory: String { directory + "/memory" }
    /// QEMU's device state (and the little RAM that is not guest memory), from `migrate` with x-ignore-shared.
    public var state: String { directory + "/state" }
    public var blankLayer: String { directory + "/blank-layer" }
    public var blankWritable: String { directory + "/blank-writable" }
    public var emptyShare: String { directory + "/empty-share" }
    public var manifest: String { directory + "/template.json" }
}

/// A template as recorded when it was saved: what it was made from, and what its files were, so a
/// changed, truncated or deleted file is noticed before a clone would load it.
public struct VMTemplate: Sendable, Equatable, Codable {
    /// Names everything the template depends on: kernel, initramfs, QEMU and firmware (by size, time
    /// and inode, so an upgrade changes it), the machine, memory, CPUs and the layout.
    public var fingerprint: String
    /// What it is a template of, for `info`.
    public var architecture: String
    public var kernel: String
    public var memoryMiB: Int
    public var vcpus: Int
    public var created: Date
    public var layout: VMTemplateLayout
    public var stateSHA256: String
    public var stateBytes: Int64
    public var memoryBytes: Int64
    /// The memory file's inode and change time when it was saved: QEMU never writes it after.
    public var memoryIdentity: String

    public func files(in directory: String) -> VMTemplateFiles { VMTemplateFiles(directory: directory) }

    /// The fingerprint of the template `definition` would be cloned from.
    public static func fingerprint(of definition: UtilityVMDefinition, layout: VMTemplateLayout) -> String {
        let machine = definition.machine
        var parts = ["berth-vm-template 1", machine.architecture, machine.machineType, machine.tcgCPUModel ?? "",
                     definition.accelerator.rawValue, "\(definition.memoryMiB)", "\(definition.vcpus)", "\(definition.translationCacheMiB)",
                     definition.commandLine, "\(layout.layerSlots) \(layout.shareSlots) \(layout.interfaceSlots) \(VMTemplateLayout.blankDiskBytes) \(layout.hotplugPorts)"]
        for file in [definition.kernel, definition.initramfs, machine.emulator, definition.firmware ?? ""] {
            parts.append(file + " " + identity(of: file))
        }
        let digest = SHA256.hash(data: Data(parts.joined(separator: "\n").utf8))
        return digest.map { String(format: "%02x", $0) }.joined().prefix(20).description
    }

    /// Size, modification time and inode: what changes when a file is replaced or rewritten.
    static func identity(of path: String) -> String {
        var status = stat()
        guard !path.isEmpty, stat(path, &status) == 0 else { return "absent" }
        return "\(status.st_size) \(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec) \(status.st_ino)"
    }

    /// Whether the files in `directory` are the ones recorded, whole: the state by its digest, the
    /// memory by its size and identity (hashing the guest's RAM on every start would cost more
    /// than the clone saves), the blanks by their sizes.
    public func isIntact(in directory: String) -> Bool {
        let files = files(in: directory)
        func size(_ path: String) -> Int64? {
            var status = stat()
            return stat(path, &status) == 0 ? Int64(status.st_size) : nil
        }
        guard size(files.memory) == memoryBytes, Self.identity(of: files.memory) == memoryIdentity,
              size(files.state) == stateBytes, size(files.blankLayer) == VMTemplateLayout.blankDiskBytes,
              size(files.blankWritable) == VMTemplateLayout.blankDiskBytes,
              (try? FileManager.default.contentsOfDirectory(atPath: files.emptyShare))?.isEmpty == true,
              let state = FileManager.default.contents(atPath: files.state) else { return false }
        return Self.sha256(state) == stateSHA256
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
