import Foundation
import HostModel
import SystemSupport

/// Kernel features the native runtime depends on.
enum KernelFeatures {
    /// overlayfs is listed by the kernel, and (as root) a real overlay mounts in `scratchDirectory`.
    static func overlayfs(scratchDirectory: String) -> FeatureCheck {
        let filesystems = (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? ""
        guard filesystems.split(separator: "\n").contains(where: { $0.hasSuffix("\toverlay") }) else {
            return FeatureCheck(available: false, detail: "overlay is not in /proc/filesystems")
        }
        guard geteuid() == 0 else {
            return FeatureCheck(available: true, detail: "listed in /proc/filesystems (mount not tried: not root)")
        }
        let base = scratchDirectory + "/overlay-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fileManager = FileManager.default
        defer { try? fileManager.removeItem(atPath: base) }
        do {
            for name in ["lower", "upper", "work", "merged"] {
                try fileManager.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: true)
            }
            let options = "lowerdir=\(base)/lower,upperdir=\(base)/upper,workdir=\(base)/work"
            guard mount("overlay", base + "/merged", "overlay", 0, options) == 0 else {
                throw SystemError.call("mount overlay on \(scratchDirectory)", errno)
            }
            umount2(base + "/merged", Int32(MNT_DETACH))
            return FeatureCheck(available: true, detail: "test mount on \(scratchDirectory) succeeded")
        } catch {
            return FeatureCheck(available: false, detail: "\(error)")
        }
    }

    /// Seccomp filter mode, which Docker-style syscall profiles need.
    static func seccomp() -> FeatureCheck {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard status.contains("\nSeccomp:") else {
            return FeatureCheck(available: false, detail: "kernel built without CONFIG_SECCOMP")
        }
        guard let actions = try? String(contentsOfFile: "/proc/sys/kernel/seccomp/actions_avail", encoding: .utf8) else {
            return FeatureCheck(available: false, detail: "kernel built without CONFIG_SECCOMP_FILTER")
        }
        return FeatureCheck(available: true, detail: "filter actions: " + actions.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func userNamespaces() -> FeatureCheck {
        guard FileManager.default.fileExists(atPath: "/proc/self/ns/user") else {
            return FeatureCheck(available: false, detail: "kernel built without CONFIG_USER_NS")
        }
        let limit = (try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return limit > 0
            ? FeatureCheck(available: true, detail: "max_user_namespaces \(limit)")
            : FeatureCheck(available: false, detail: "user.max_user_namespaces is 0")
    }
}
