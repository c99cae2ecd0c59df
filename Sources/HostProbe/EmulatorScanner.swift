import Foundation
import HostModel
import OCI

/// Finds the installed `qemu-system-*` binaries and the container platforms each can boot.
public enum EmulatorScanner {
    /// Guest platforms per qemu-system binary, for the architectures Berth has guest support in mind for.
    static let platformsByBinary: [(binary: String, platforms: [Platform])] = [
        ("qemu-system-x86_64", [Platform(os: "linux", architecture: "amd64")]),
        ("qemu-system-aarch64", [Platform(os: "linux", architecture: "arm64")]),
        ("qemu-system-arm", [Platform(os: "linux", architecture: "arm", variant: "v7")]),
        ("qemu-system-riscv64", [Platform(os: "linux", architecture: "riscv64")]),
        ("qemu-system-ppc64", [Platform(os: "linux", architecture: "ppc64le")]),
        ("qemu-system-s390x", [Platform(os: "linux", architecture: "s390x")]),
    ]

    public static func scan(searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        -> [SystemEmulator]
    {
        let directories = searchPath.split(separator: ":").map(String.init)
        return platformsByBinary.compactMap { entry in
            guard let path = find(entry.binary, in: directories) else { return nil }
            return SystemEmulator(binary: entry.binary, path: path, platforms: entry.platforms)
        }
    }

    /// The binary that boots guests of the host's own architecture, if installed.
    public static func binary(for platform: Platform, in emulators: [SystemEmulator]) -> SystemEmulator? {
        emulators.first { $0.platforms.contains(platform) }
    }

    static func find(_ binary: String, in directories: [String]) -> String? {
        for directory in directories {
            let path = directory + "/" + binary
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
