import Foundation
import SystemSupport

/// Bytes allocated and inodes used under a directory, counted as `du` does: each inode once,
/// without following symlinks or crossing into other filesystems.
struct DirectoryUsage {
    var bytes: UInt64 = 0
    var inodes: UInt64 = 0

    static func measure(_ root: String) throws -> DirectoryUsage {
        var usage = DirectoryUsage()
        var rootStatus = stat()
        guard lstat(root, &rootStatus) == 0 else { throw CRIServerError("\(root): \(SystemError.text(errno))") }
        var seen = Set<UInt64>()
        var pending = [root]
        while let directory = pending.popLast() {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for entry in entries {
                let path = directory + "/" + entry
                var status = stat()
                guard lstat(path, &status) == 0, status.st_dev == rootStatus.st_dev else { continue }
                if status.st_mode & S_IFMT != S_IFDIR, status.st_nlink > 1, !seen.insert(UInt64(status.st_ino)).inserted { continue }
                usage.bytes += UInt64(status.st_blocks) * 512
                usage.inodes += 1
                if status.st_mode & S_IFMT == S_IFDIR { pending.append(path) }
            }
        }
        return usage
    }
}
