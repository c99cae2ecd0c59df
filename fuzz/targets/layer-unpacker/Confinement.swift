import Foundation
import Glibc
import SystemSupport

/// Where the unpacker fuzzer may write, since it runs as root and what it tests is whether a
/// hostile layer can write outside its directory: in a mount namespace of its own, every mount
/// is read-only but a fresh tmpfs on the scratch directory (`BERTH_FUZZ_SCRATCH`, an empty
/// directory fuzz/run makes) and the directories libFuzzer writes to (its corpus and crashes, given
/// on the command line), and without CAP_MKNOD, so no layer makes a device node (an overlayfs
/// whiteout, a 0/0 character device, needs no capability).
enum Confinement {
    /// The tmpfs the layers are unpacked in; libFuzzer keeps its temporary files there too (TMPDIR).
    static let scratch: String = {
        guard let path = getenv("BERTH_FUZZ_SCRATCH").map({ String(cString: $0) }), path.hasPrefix("/") else {
            fatalError("layer-unpacker: set BERTH_FUZZ_SCRATCH to an empty directory's absolute path (fuzz/run does)")
        }
        return path
    }()
    private static let marker = "BERTH_FUZZ_CONFINED"

    /// Confines the process and runs it again inside (the capability goes only at `execve`), then
    /// checks from inside that the host really is out of reach.
    static func enter() {
        if getenv(marker) != nil {
            verify()
            return
        }
        let writable = libFuzzerOutputs()
        if let hidden = writable.first(where: { $0 == scratch || $0.hasPrefix(scratch + "/") }) {
            fatalError("layer-unpacker: \(hidden) would be hidden under the scratch tmpfs; give directories outside \(scratch)")
        }
        require(unshare(cloneNewMountNamespace) == 0, "unshare(CLONE_NEWNS)")
        // Nothing done here may propagate back to the host's mounts.
        require(mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0, "making / private")
        for directory in writable {
            require(mount(directory, directory, nil, UInt(MS_BIND), nil) == 0, "binding \(directory)")
        }
        for point in MountTable.mountPoints() where !writable.contains(point) {
            // A remount keeps the mount's other flags only when they are given again (statvfs's
            // ST_NOSUID, ST_NODEV and ST_NOEXEC have MS_'s values).
            var info = statvfs()
            guard statvfs(point, &info) == 0 else { continue }
            let flags = UInt(MS_REMOUNT | MS_BIND | MS_RDONLY) | (info.f_flag & UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
            require(mount(nil, point, nil, flags, nil) == 0, "remounting \(point) read-only")
        }
        require(mount("berth-fuzz", scratch, "tmpfs", UInt(MS_NOSUID | MS_NODEV), "size=512m,mode=0700") == 0, "tmpfs on \(scratch)")
        require(prctl(capabilityBoundingSetDrop, capabilityMknod, 0, 0, 0) == 0, "dropping CAP_MKNOD")
        setenv(marker, "1", 1)
        setenv("TMPDIR", scratch, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        fatalError("execv /proc/self/exe: \(String(cString: strerror(errno)))")
    }

    /// The corpus directories (arguments that are directories) and the crash directory.
    private static func libFuzzerOutputs() -> Set<String> {
        var paths: [String] = []
        for argument in CommandLine.arguments.dropFirst() {
            if argument.hasPrefix("-artifact_prefix=") {
                paths.append((String(argument.dropFirst("-artifact_prefix=".count)) as NSString).deletingLastPathComponent)
            } else if !argument.hasPrefix("-") {
                paths.append(argument)
            }
        }
        return Set(paths.compactMap { path in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                  let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        })
    }

    private static func verify() {
        let probe = "/etc/.berth-fuzz-probe"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if descriptor >= 0 {
            close(descriptor)
            unlink(probe)
            fatalError("confinement failed: \(probe) was writable")
        }
        require(errno == EROFS, "expected \(probe) to be on a read-only mount")
        // /dev/null's numbers, 1:3, as makedev packs small ones.
        if mknod(scratch + "/.probe-null", S_IFCHR | 0o600, dev_t(1 << 8 | 3)) == 0 {
            fatalError("confinement failed: a device node could still be made")
        }
        require(errno == EPERM, "expected mknod of a device to be refused")
    }

    // <sched.h> and <sys/prctl.h> values that Swift's Glibc module does not import.
    private static let cloneNewMountNamespace: CInt = 0x0002_0000
    private static let capabilityBoundingSetDrop: CInt = 24
    private static let capabilityMknod: UInt = 27

    private static func require(_ condition: Bool, _ step: String) {
        guard condition else { fatalError("layer-unpacker confinement: \(step): \(String(cString: strerror(errno)))") }
    }
}

@_silgen_name("unshare")
private func unshare(_ flags: CInt) -> CInt

// prctl is variadic in C; every argument here is an integer, passed as the fixed ones are.
@_silgen_name("prctl")
private func prctl(_ option: CInt, _ argument2: UInt, _ argument3: UInt, _ argument4: UInt, _ argument5: UInt) -> CInt
