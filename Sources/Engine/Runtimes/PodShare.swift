import Foundation
import Glibc
import NativeRuntime
import SystemSupport

/// The host directory a pod's utility VM shares with its guest over 9p (a VM whose container was
/// started `--ipc shareable`, as a pod's sandbox is), through which the containers that join the VM
/// reach their volumes and binds: berthd binds each host path at `MEMBER/N` in it, and the guest
/// sees it there at once (9p without a cache). QEMU can take no new share once it runs; this one
/// is there from the boot, empty until a container needs it.
///
/// The guest may write in the directory, so it is reached only through descriptors opened without
/// following links, and nothing is ever removed from it while a bind is mounted in it.
struct PodShare: Sendable {
    /// The shared directory, in the VM's directory.
    let directory: String
    /// Where a bind is made and given its propagation before it is moved into the share: made in
    /// the share itself, it would join its source's peers, and so would QEMU's copy of it.
    let staging: String

    init(vmDirectory: String) {
        directory = vmDirectory + "/pod-share"
        staging = vmDirectory + "/pod-share-staging"
    }

    /// Where the guest mounts the share, outside every container's root.
    static let guestMountPoint = "/pod/share"

    /// Makes the directory a mount of its own, shared: a QEMU that libvirt starts in a mount
    /// namespace of its own (a slave of the host's) then receives the binds made in it later, even
    /// on a host whose root mount is private.
    func prepare() throws {
        releaseAll()
        // A mount may be moved only out of a private parent.
        for (path, propagation) in [(directory, MS_SHARED), (staging, MS_PRIVATE)] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o700)
            guard mount(path, path, nil, UInt(MS_BIND), nil) == 0 else { throw SystemError.call("binding \(path) onto itself", errno) }
            guard mount(nil, path, nil, UInt(propagation), nil) == 0 else { throw SystemError.call("setting the propagation of \(path)", errno) }
        }
    }

    /// Binds `source` (a directory, or a regular file) at `member/index` in the share: read-only if
    /// asked, and receiving the mounts made later under the source on the host only with
    /// `.slave` or `.shared` propagation (what a container mounts in the VM never reaches the host).
    /// Returns the path in the guest.
    func bind(_ source: String, member: String, index: Int, readOnly: Bool, propagation: MountFlags) throws -> String {
        let share = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard share >= 0 else { throw SystemError.call("opening \(directory)", errno) }
        defer { close(share) }
        guard mkdirat(share, member, 0o700) == 0 || errno == EEXIST else { throw SystemError.call("making \(member) in \(directory)", errno) }
        let memberDirectory = openat(share, member, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard memberDirectory >= 0 else { throw SystemError.call("opening \(member) in \(directory)", errno) }
        defer { close(memberDirectory) }
        var info = stat()
        guard stat(source, &info) == 0 else { throw SystemError.call("bind source path \(source)", errno) }
        let entry = String(index)
        let file = (info.st_mode & S_IFMT) != S_IFDIR
        if file {
            let made = openat(memberDirectory, entry, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard made >= 0 else { throw SystemError.call("making the mount point of \(source) in \(directory)", errno) }
            close(made)
        } else {
            guard mkdirat(memberDirectory, entry, 0o700) == 0 || errno == EEXIST else {
                throw SystemError.call("making the mount point of \(source) in \(directory)", errno)
            }
        }
        // The target is the descriptor of what was just checked, so a link the guest put there leads nowhere else.
        let target = openat(memberDirectory, entry, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (file ? 0 : O_DIRECTORY))
        guard target >= 0 else { throw SystemError.call("opening the mount point of \(source) in \(directory)", errno) }
        defer { close(target) }
        let staged = staging + "/\(member)-\(index)"
        _ = MountTable.detachAll(under: staged)
        if file {
            guard FileManager.default.createFile(atPath: staged, contents: nil) else { throw SystemError.call("making \(staged)", EIO) }
        } else {
            try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: true)
        }
        // Never a recursive removal: a bind left there would take the host's files with it.
        defer { _ = file ? unlink(staged) : rmdir(staged) }
        guard mount(source, staged, nil, UInt(MS_BIND | MS_REC), nil) == 0 else { throw SystemError.call("binding \(source)", errno) }
        do {
            // Read-only before the guest can see it; whether the host's later mounts below the source
            // follow; then into the share, where QEMU's copy takes what the bind receives.
            if readOnly, mount(nil, staged, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) != 0 {
                throw SystemError.call("making the bind of \(source) read-only", errno)
            }
            let follows = propagation.contains(.slave) || propagation.contains(.shared)
            guard mount(nil, staged, nil, UInt((follows ? MS_SLAVE : MS_PRIVATE) | MS_REC), nil) == 0 else {
                throw SystemError.call("setting the propagation of the bind of \(source)", errno)
            }
            guard mount(staged, "/proc/self/fd/\(target)", nil, UInt(MS_MOVE), nil) == 0 else {
                throw SystemError.call("moving the bind of \(source) into \(directory)", errno)
            }
        } catch {
            _ = MountTable.detachAll(under: staged)
            throw error
        }
        return Self.guestMountPoint + "/" + member + "/" + entry
    }

    /// Ends a member's binds and removes their mount points; the bound host paths are untouched.
    func release(member: String) {
        let memberDirectory = directory + "/" + member
        guard MountTable.detachAll(under: memberDirectory).isEmpty else { return }
        try? FileManager.default.removeItem(atPath: memberDirectory)
    }

    /// Ends every bind in the share and the share's own mounts (the VM has ended).
    func releaseAll() {
        for path in [staging, directory] { _ = MountTable.detachAll(under: path) }
    }
}
