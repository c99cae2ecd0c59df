import Foundation

/// An OCI platform: the `os`, `architecture` and optional `variant` an image was built for.
///
/// Values are kept in their normalised OCI spelling (`amd64`, `arm64`, `arm` + `v7`), so two
/// platforms that mean the same thing compare equal however the user spelled them.
public struct Platform: Hashable, Sendable, Codable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        let normalised = Self.normalise(architecture: architecture.lowercased(), variant: variant?.lowercased())
        self.os = os.lowercased()
        self.architecture = normalised.architecture
        self.variant = normalised.variant
    }

    /// Parses `os/arch[/variant]` with Docker's aliases. A single word is an OS when it names one
    /// (`linux`: this machine's architecture for that OS, Docker's rule for hosts of two OSes), else
    /// an architecture for linux.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts.contains(where: { $0.isEmpty }) else {
            throw PlatformError.malformed(text)
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-")
        guard parts.allSatisfy({ $0.lowercased().allSatisfy(allowed.contains) }) else {
            throw PlatformError.malformed(text)
        }
        if parts.count == 1, Self.knownOperatingSystems.contains(parts[0].lowercased()) {
            let machine = Self.currentMachine
            self.init(os: parts[0], architecture: machine.architecture, variant: machine.variant)
        } else if parts.count == 1 {
            self.init(os: "linux", architecture: parts[0])
        } else {
            self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
        }
    }

    /// The operating systems Go (and so Docker's platform parser) knows by name.
    static let knownOperatingSystems: Set<String> = [
        "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
        "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
    ]

    /// This machine's CPU, as a linux platform.
    static let currentMachine: Platform = {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return Platform.host(machine: machine)
    }()

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// The platform's name for the CPU as `uname -m` reports it inside a container.
    public var unameMachine: String? {
        switch (architecture, variant) {
        case ("amd64", _): return "x86_64"
        case ("386", _): return "i686"
        case ("arm64", _): return "aarch64"
        case ("arm", "v7"): return "armv7l"
        case ("arm", "v6"): return "armv6l"
        case ("arm", "v5"): return "armv5tejl"
        case ("riscv64", _): return "riscv64"
        case ("ppc64le", _): return "ppc64le"
        case ("s390x", _): return "s390x"
        case ("mips64le", _): return "mips64"
        default: return nil
        }
    }

    /// Maps kernel and toolchain spellings onto OCI's, and fills the variant Docker implies.
    static func normalise(architecture: String, variant: String?) -> (architecture: String, variant: String?) {
        switch architecture {
        case "x86_64", "x86-64", "amd64":
            return ("amd64", variant == "v1" ? nil : variant)
        case "i386", "i486", "i586", "i686", "386":
            return ("386", variant)
        case "aarch64", "arm64":
            return ("arm64", variant == nil || variant == "v8" ? nil : variant)
        case "armhf", "armv7l", "armv7":
            return ("arm", "v7")
        case "armel", "armv6l", "armv6":
            return ("arm", "v6")
        case "armv5tejl", "armv5":
            return ("arm", "v5")
        case "arm":
            return ("arm", variant ?? "v7")
        default:
            return (architecture, variant)
        }
    }
}

public enum PlatformError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let text):
            return "invalid platform \"\(text)\": expected os/arch[/variant], for example linux/arm64"
        }
    }
}

extension Platform {
    /// The platform of the machine this code runs on, from `uname -m`.
    public static func host(machine: String) -> Platform {
        Platform(os: "linux", architecture: machine)
    }
}
