import CArchive
import CLinux
import Foundation
import SystemSupport

/// Files inside a container's root, for `cp`: every path is resolved with the root as "/", and
/// nothing below it is followed through a symlink, so a hostile container cannot point a copy
/// at the host's files.
public struct RootedFiles: Sendable {
    /// What Docker's `X-Docker-Container-Path-Stat` header carries.
    public struct PathStat: Sendable, Equatable {
        public var name: String
        public var size: Int64
        /// Go's FileMode: permission bits, plus 1<<31 for a directory and 1<<27 for a symlink.
        public var mode: UInt32
        public var modified: Date
        public var linkTarget: String

        public init(name: String, size: Int64, mode: UInt32, modified: Date, linkTarget: String) {
            self.name = name
            self.size = size
            self.mode = mode
            self.modified = modified
            self.linkTarget = linkTarget
        }
    }

    /// An fd of the container's root directory.
    public let rootFD: Int32
    /// For a running container with its own user namespace: the host id of its root. Its files
    /// carry host ids `idOffset + n` there, and only those ids may write through its idmapped root.
    public let idOffset: UInt32

    /// How to open a root for `init(rootFD:)`: O_PATH | O_DIRECTORY | O_CLOEXEC.
    public static let rootOpenFlags: Int32 = openPath | O_DIRECTORY | O_CLOEXEC
    /// A descriptor naming `path` (resolved inside the root) to mount a directory or a file onto
    /// through `/proc/self/fd`; made, with its missing parents, when it is not there.
    public func mountPoint(_ path: String, directory: Bool) throws -> Int32 {
        let flags = openPath | O_CLOEXEC | (directory ? O_DIRECTORY : 0)
        var target = berth_open_in_root(rootFD, path, flags)
        if target < 0, errno == ENOENT {
            try makeMountPoint(path, directory: directory)
            target = berth_open_in_root(rootFD, path, flags)
        }
        guard target >= 0 else { throw SystemError.call("opening \(path)", errno) }
        return target
    }

    /// Makes `path` (a directory, or an empty file) and its missing parents, every step resolved
    /// inside the root, for something to be mounted there.
    private func makeMountPoint(_ path: String, directory: Bool) throws {
        let components = path.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !components.isEmpty, !components.contains("..") else { throw RootedFilesError.notFound(path) }
        var parent = "/"
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            let current = parent == "/" ? "/" + component : parent + "/" + component
            defer { parent = current }
            let existing = berth_open_in_root(rootFD, current, openPath | O_CLOEXEC)
            if existing >= 0 { close(existing); continue }
            guard errno == ENOENT else { throw SystemError.call("resolving \(current)", errno) }
            let holder = berth_open_in_root(rootFD, parent, openPath | O_DIRECTORY | O_CLOEXEC)
            guard holder >= 0 else { throw RootedFilesError.notADirectory(parent) }
            defer { close(holder) }
            if !isLast || directory {
                guard mkdirat(holder, component, 0o755) == 0 || errno == EEXIST else { throw SystemError.call("mkdir \(current)", errno) }
            } else {
                let file = openat(holder, component, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
                guard file >= 0 else { throw SystemError.call("create \(current)", errno) }
                close(file)
            }
        }
    }

    /// `path` with its symlinks resolved inside the root, as a process in the container would
    /// follow them (`/var/run/x` is `/run/x` when `/var/run` links to `/run`), a dangling one's
    /// target included; what is missing is kept as given. With `followingLast` false a final
    /// symlink stays itself. For a root nothing changes meanwhile (an image's).
    public func resolve(_ path: String, followingLast: Bool) throws -> String {
        var resolved: [String] = []
        var pending = path.split(separator: "/").map(String.init)
        var linksFollowed = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = resolved + [component]
            guard !pending.isEmpty || followingLast else {
                resolved = candidate
                break
            }
            let fd = berth_open_in_root(rootFD, "/" + candidate.joined(separator: "/"), openPath | O_NOFOLLOW)
            guard fd >= 0 else {
                resolved = candidate
                continue
            }
            defer { close(fd) }
            var info = Glibc.stat()
            guard fstatat(fd, "", &info, emptyPath | AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFLNK else {
                resolved = candidate
                continue
            }
            linksFollowed += 1
            guard linksFollowed <= 40, let target = ArchiveOutput.linkTarget(fd, "") else {
                throw RootedFilesError.notFound(path)
            }
            if target.hasPrefix("/") { resolved = [] }
            pending = target.split(separator: "/").map(String.init) + pending
        }
        return "/" + resolved.joined(separator: "/")
    }

    public init(rootFD: Int32, idOffset: UInt32 = 0) {
        self.rootFD = rootFD
        self.idOffset = idOffset
    }

    /// A host id seen through the root as the container's id.
    private func containerID(_ id: UInt32) -> Int64 {
        Int64(id >= idOffset ? id - idOffset : id)
    }

    public func stat(_ path: String) throws -> PathStat {
        let fd = berth_open_in_root(rootFD, path, openPath | O_NOFOLLOW)
        guard fd >= 0 else { throw RootedFilesError.notFound(path) }
        defer { close(fd) }
        var info = Glibc.stat()
        guard fstatat(fd, "", &info, emptyPath | AT_SYMLINK_NOFOLLOW) == 0 else { throw RootedFilesError.notFound(path) }
        let type = info.st_mode & S_IFMT
        var mode = UInt32(info.st_mode & 0o7777)
        if type == S_IFDIR { mode |= 1 << 31 }
        var target = ""
        if type == S_IFLNK {
            mode |= 1 << 27
            target = ArchiveOutput.linkTarget(fd, "") ?? ""
        }
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let name = (trimmed as NSString).lastPathComponent
        return PathStat(name: name.isEmpty ? "/" : name, size: Int64(info.st_size), mode: mode,
                        modified: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)), linkTarget: target)
    }

    /// Writes `path` (a file, a link, or a whole directory) as a tar whose top entry is its base name.
    public func archive(_ path: String, to output: String) throws {
        let fd = berth_open_in_root(rootFD, path, openPath | O_NOFOLLOW)
        guard fd >= 0 else { throw RootedFilesError.notFound(path) }
        defer { close(fd) }
        guard let archive = archive_write_new() else { throw UnpackError.library("archive_write_new failed") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        guard archive_write_open_filename(archive, output) == ARCHIVE_OK else {
            throw UnpackError.library("writing \(output): \(LayerUnpacker.message(archive))")
        }
        let name = try stat(path).name
        // The whole root (export) is its entries, unprefixed, as Docker writes it.
        if name == "/" { try addChildren(of: fd, prefix: "", archive: archive) } else { try add(fd: fd, name: name, archive: archive) }
        guard archive_write_close(archive) == ARCHIVE_OK else { throw UnpackError.library(LayerUnpacker.message(archive)) }
    }

    /// `fd` is an openPath descriptor of the entry itself.
    private func add(fd: Int32, name: String, archive: OpaquePointer) throws {
        var info = Glibc.stat()
        guard fstatat(fd, "", &info, emptyPath | AT_SYMLINK_NOFOLLOW) == 0 else { throw RootedFilesError.notFound(name) }
        let type = info.st_mode & S_IFMT
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_copy_stat(entry, &info)
        if idOffset > 0 {
            archive_entry_set_uid(entry, containerID(info.st_uid))
            archive_entry_set_gid(entry, containerID(info.st_gid))
        }
        archive_entry_copy_pathname(entry, type == S_IFDIR ? name + "/" : name)
        if type == S_IFLNK {
            guard let target = ArchiveOutput.linkTarget(fd, "") else { throw RootedFilesError.notFound(name) }
            archive_entry_copy_symlink(entry, target)
        }
        if type != S_IFREG { archive_entry_set_size(entry, 0) }
        try ArchiveOutput.writeHeader(archive, entry)
        if type == S_IFREG {
            // Reopen through /proc/self/fd: an openPath fd cannot be read, and this reopens the same inode.
            let file = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
            guard file >= 0 else { throw RootedFilesError.notFound(name) }
            try ArchiveOutput.copy(FileHandle(fileDescriptor: file, closeOnDealloc: true), to: archive)
        } else if type == S_IFDIR, !Self.isKernelFilesystem(fd) {
            try addChildren(of: fd, prefix: name + "/", archive: archive)
        }
    }

    /// Filesystems the kernel fills (a running container's /proc, /sys, devpts, mqueue, cgroup):
    /// an archive holds their mount points, not what the kernel shows in them (`/proc/kcore`
    /// alone is the size of the address space), as Docker's export of a container's layers has them.
    static let kernelFilesystems: Set<Int64> = [0x9fa0, 0x6265_6572, 0x1cd1, 0x1980_0202, 0x27e0eb, 0x6367_7270, 0x7363_6673,
                                                0x6462_6720, 0x7472_6163, 0xcafe_4a11, 0x4249_4e4d, 0x6165_676c, 0x6265_6570, 0x6573_5543]

    static func isKernelFilesystem(_ fd: Int32) -> Bool {
        var info = statfs()
        return fstatfs(fd, &info) == 0 && kernelFilesystems.contains(Int64(info.f_type))
    }

    private func addChildren(of fd: Int32, prefix: String, archive: OpaquePointer) throws {
        let directory = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0, let stream = fdopendir(directory) else { throw RootedFilesError.notFound(prefix) }
        defer { closedir(stream) }
        var children: [String] = []
        while let item = readdir(stream) {
            let child = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if child != "." && child != ".." { children.append(child) }
        }
        for child in children.sorted() {
            let childFD = openat(fd, child, openPath | O_NOFOLLOW | O_CLOEXEC)
            guard childFD >= 0 else { continue }
            defer { close(childFD) }
            try add(fd: childFD, name: prefix + child, archive: archive)
        }
    }

    /// Unpacks a tar into the directory `path`: regular files, directories and symlinks, each
    /// created relative to its parent's descriptor and never through a symlink.
    public func extract(_ tarPath: String, into path: String) throws {
        guard idOffset > 0 else { return try extractEntries(tarPath, into: path) }
        // Write as the container's root: the host's root has no id under an idmapped root.
        guard berth_set_thread_fs_ids(idOffset, idOffset) == 0 else { throw SystemError.call("taking the container's ids", errno) }
        defer { berth_set_thread_fs_ids(0, 0) }
        try extractEntries(tarPath, into: path)
    }

    private func extractEntries(_ tarPath: String, into path: String) throws {
        let target = berth_open_in_root(rootFD, path, openPath | O_DIRECTORY)
        guard target >= 0 else { throw RootedFilesError.notADirectory(path) }
        defer { close(target) }
        guard let tar = archive_read_new() else { throw UnpackError.library("archive_read_new failed") }
        defer { archive_read_free(tar) }
        archive_read_support_format_all(tar)
        archive_read_support_filter_all(tar)
        guard archive_read_open_filename(tar, tarPath, 1 << 16) == ARCHIVE_OK else {
            throw ArchiveError.invalid("not a tar archive: \(LayerUnpacker.message(tar))")
        }
        var entry: OpaquePointer?
        while archive_read_next_header(tar, &entry) == ARCHIVE_OK, let entry {
            let raw = String(cString: archive_entry_pathname(entry))
            let components = raw.split(separator: "/").map(String.init).filter { $0 != "." }
            guard !components.isEmpty else { continue }
            guard !raw.hasPrefix("/"), !components.contains("..") else { throw ArchiveError.unsafePath(raw) }
            var parent = dup(target)
            defer { close(parent) }
            for component in components.dropLast() {
                var next = openat(parent, component, openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                // As Docker: a parent the archive leaves out (a .dockerignore exception's) is made.
                if next < 0, errno == ENOENT, mkdirat(parent, component, 0o755) == 0 {
                    next = openat(parent, component, openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if next >= 0 { fchownat(next, "", idOffset, idOffset, emptyPath) }
                }
                guard next >= 0 else { throw ArchiveError.unsafePath(raw) }
                close(parent)
                parent = next
            }
            let name = components.last!
            let mode = mode_t(archive_entry_perm(entry))
            let uid = uid_t(truncatingIfNeeded: archive_entry_uid(entry)) &+ idOffset
            let gid = gid_t(truncatingIfNeeded: archive_entry_gid(entry)) &+ idOffset
            switch archive_entry_filetype(entry) {
            case EntryType.directory:
                if mkdirat(parent, name, mode) != 0 && errno != EEXIST { throw SystemError.call("mkdir \(raw)", errno) }
                let directory = openat(parent, name, openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard directory >= 0 else { throw ArchiveError.unsafePath(raw) }
                fchownat(directory, "", uid, gid, emptyPath)
                close(directory)
            case EntryType.symlink:
                unlinkat(parent, name, 0)
                guard symlinkat(archive_entry_symlink(entry), parent, name) == 0 else { throw SystemError.call("symlink \(raw)", errno) }
                fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW)
            case EntryType.regular:
                unlinkat(parent, name, 0)
                let file = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
                guard file >= 0 else { throw SystemError.call("create \(raw)", errno) }
                defer { close(file) }
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = archive_read_data(tar, &buffer, buffer.count)
                    if count < 0 { throw UnpackError.library(LayerUnpacker.message(tar)) }
                    if count == 0 { break }
                    var written = 0
                    while written < count {
                        // A short write (the disk filling up) sets no errno; the next one says why.
                        let step = buffer.withUnsafeBytes { write(file, $0.baseAddress! + written, count - written) }
                        guard step > 0 else { throw SystemError.call("write \(raw)", step == 0 ? ENOSPC : errno) }
                        written += step
                    }
                }
                fchown(file, uid, gid)
                fchmod(file, mode)
            default:
                continue
            }
        }
    }
}

/// Linux flags Swift's Glibc module leaves out (they need _GNU_SOURCE); the same on every architecture.
let openPath: Int32 = 0o10000000
let emptyPath: Int32 = 0x1000

public enum RootedFilesError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case notADirectory(String)

    public var description: String {
        switch self {
        case .notFound(let path): return "Could not find the file \(path) in container"
        case .notADirectory(let path): return "extraction point is not a directory: \(path)"
        }
    }
}

