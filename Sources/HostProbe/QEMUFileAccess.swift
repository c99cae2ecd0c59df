import Foundation
import HostModel

/// Whether libvirt's QEMU, which drops root for its own user, can reach berthd's VM files: it opens
/// disks and sockets under the data root and kernels under the cache, so every directory above
/// them must let that user search it. (POSIX ACLs are not read: the mode bits decide.)
public enum QEMUFileAccess {
    /// The user Debian's libvirt runs QEMU as.
    public static let defaultUser = "libvirt-qemu"

    /// Checks the directories above each of `roots` (which berthd makes searchable itself) and each
    /// of `directories` with those above it.
    public static func check(roots: [String], directories: [String], user: String = defaultUser) -> FeatureCheck {
        guard let account = getpwnam(user) else {
            return FeatureCheck(available: true, detail: "no \(user) account: QEMU keeps root's access")
        }
        let uid = account.pointee.pw_uid
        let groups = Self.groups(of: user, primary: account.pointee.pw_gid)
        let paths = roots.map { ($0, false) } + directories.map { ($0, true) }
        for (path, includingItself) in paths {
            for directory in ancestors(of: path, includingItself: includingItself) {
                var info = stat()
                guard stat(directory, &info) == 0 else { continue }
                let searchable = info.st_uid == uid ? info.st_mode & S_IXUSR != 0
                    : groups.contains(info.st_gid) ? info.st_mode & S_IXGRP != 0
                    : info.st_mode & S_IXOTH != 0
                if !searchable {
                    let mode = String(info.st_mode & 0o7777, radix: 8)
                    return FeatureCheck(available: false, detail: "\(user) cannot search \(directory) (mode \(mode)), so QEMU cannot open "
                        + "the VM files under \(path): give berthd a --root (or --cache-dir) outside it, or let others search it "
                        + "(chmod o+x \(directory))")
                }
            }
        }
        return FeatureCheck(available: true, detail: "\(user) can reach \((roots + directories).joined(separator: " and "))")
    }

    /// "/a/b/c" → "/", "/a", "/a/b" (and "/a/b/c" when `includingItself`).
    static func ancestors(of path: String, includingItself: Bool) -> [String] {
        var components = URL(fileURLWithPath: path).standardizedFileURL.pathComponents.dropFirst()
        if !includingItself, !components.isEmpty { components.removeLast() }
        var result = ["/"]
        var current = ""
        for component in components {
            current += "/" + component
            result.append(current)
        }
        return result
    }

    static func groups(of user: String, primary: gid_t) -> Set<gid_t> {
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, primary, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(user, primary, &list, &count)
        }
        return Set(list.prefix(Int(max(count, 0)))).union([primary])
    }
}
