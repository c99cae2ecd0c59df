import CLinux
import Foundation

/// A walk of a directory tree a container can change while it is read (its upper directory):
/// every entry is opened relative to its parent's descriptor and never through a symlink, so a
/// directory swapped for a symlink mid-walk cannot lead it into the host's files (dockerd's
/// CVE-2018-15664 was that race).
public enum DirectoryWalk {
    /// One entry, valid only during its visit.
    public struct Entry {
        /// Relative to the walk's directory, as `etc/hosts`.
        public let path: String
        /// The last component of `path`.
        public let name: String
        /// The entry itself, not what a symlink names.
        public let info: stat
        /// An O_PATH descriptor of the entry itself.
        public let fd: Int32

        /// The entry's contents, read through the same inode the walk found.
        public func openForReading() throws -> FileHandle {
            let file = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
            guard file >= 0 else { throw ArchiveError.unreadable(path) }
            return FileHandle(fileDescriptor: file, closeOnDealloc: true)
        }

        /// A symlink's target.
        public func linkTarget() throws -> String {
            guard let target = ArchiveOutput.linkTarget(fd, "") else { throw ArchiveError.unreadable(path) }
            return target
        }

        /// An extended attribute's value, or nil when it is not set.
        public func attribute(_ name: String) -> [UInt8]? {
            var value = [UInt8](repeating: 0, count: 256)
            let length = getxattr("/proc/self/fd/\(fd)", name, &value, value.count)
            return length < 0 ? nil : Array(value[0..<length])
        }
    }

    /// Visits every entry below `directory`, parents before children and names in byte order.
    /// An entry that vanished between the listing and its visit is skipped, as a concurrent
    /// delete would have it.
    public static func visit(_ directory: String, _ body: (Entry) throws -> Void) throws {
        let root = open(directory, openPath | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw ArchiveError.unreadable(directory) }
        defer { close(root) }
        try visitChildren(of: root, relative: "", body)
    }

    /// Which of `paths` are in `directory` with no symlink on the way: what overlayfs would merge
    /// from that lower layer. A symlink in the layer (the image's) is never followed to the host.
    public static func existing(_ paths: [String], in directory: String) -> Set<String> {
        let root = open(directory, openPath | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return [] }
        defer { close(root) }
        return Set(paths.filter { path in
            let fd = berth_open_beneath(root, path, openPath | O_NOFOLLOW)
            if fd >= 0 { close(fd) }
            return fd >= 0
        })
    }

    private static func visitChildren(of directory: Int32, relative: String, _ body: (Entry) throws -> Void) throws {
        for name in try names(in: directory, relative: relative) {
            let fd = openat(directory, name, openPath | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstatat(fd, "", &info, emptyPath | AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let path = relative.isEmpty ? name : relative + "/" + name
            try body(Entry(path: path, name: name, info: info, fd: fd))
            if info.st_mode & S_IFMT == S_IFDIR { try visitChildren(of: fd, relative: path, body) }
        }
    }

    private static func names(in directory: Int32, relative: String) throws -> [String] {
        let listing = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard listing >= 0, let stream = fdopendir(listing) else {
            if listing >= 0 { close(listing) }
            throw ArchiveError.unreadable(relative.isEmpty ? "." : relative)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
