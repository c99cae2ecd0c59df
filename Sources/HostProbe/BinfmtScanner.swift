import Foundation
import HostModel
import OCI

/// Reads the binfmt_misc registrations that qemu-user-static installs.
public enum BinfmtScanner {
    public static let defaultDirectory = "/proc/sys/fs/binfmt_misc"

    public static func scan(directory: String = defaultDirectory) -> BinfmtReport {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: directory + "/register") else {
            return BinfmtReport(mounted: false, handlers: [])
        }
        let names = ((try? fileManager.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0 != "register" && $0 != "status" }
            .sorted()
        let handlers = names.compactMap { name -> BinfmtHandler? in
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else { return nil }
            return parse(name: name, entry: text)
        }
        return BinfmtReport(mounted: true, handlers: handlers)
    }

    /// Parses one entry file: `enabled|disabled`, `interpreter PATH`, `flags: XYZ`, …
    public static func parse(name: String, entry: String) -> BinfmtHandler {
        var enabled = false
        var interpreter = ""
        var flags = ""
        for line in entry.split(separator: "\n").map(String.init) {
            if line == "enabled" { enabled = true }
            if line.hasPrefix("interpreter ") { interpreter = String(line.dropFirst("interpreter ".count)) }
            if line.hasPrefix("flags:") { flags = line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces) }
        }
        return BinfmtHandler(
            name: name, enabled: enabled, interpreter: interpreter, flags: flags, platform: platform(ofHandler: name))
    }

    /// The platform a `qemu-<arch>` handler runs, named as qemu-user-static names its handlers.
    static func platform(ofHandler name: String) -> Platform? {
        guard name.hasPrefix("qemu-") else { return nil }
        switch name.dropFirst("qemu-".count) {
        case "aarch64": return Platform(os: "linux", architecture: "arm64")
        case "arm": return Platform(os: "linux", architecture: "arm", variant: "v7")
        case "x86_64": return Platform(os: "linux", architecture: "amd64")
        case "i386": return Platform(os: "linux", architecture: "386")
        case "riscv64": return Platform(os: "linux", architecture: "riscv64")
        case "ppc64le": return Platform(os: "linux", architecture: "ppc64le")
        case "s390x": return Platform(os: "linux", architecture: "s390x")
        case "mips64el": return Platform(os: "linux", architecture: "mips64le")
        default: return nil
        }
    }
}
