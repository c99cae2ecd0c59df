/// The mounts and hidden paths every container gets, as Docker sets them up.
public enum ContainerFilesystem {
    /// /proc, /dev and its pseudo-filesystems, /sys read-only, and the cgroup tree read-only.
    public static func defaultMounts(shmSize: Int64 = 64 << 20) -> [LaunchSpec.Mount] {
        let hardened: MountFlags = [.noSetuid, .noExec, .noDevices]
        return [
            .init(source: "proc", target: "/proc", type: "proc", flags: hardened),
            .init(source: "tmpfs", target: "/dev", type: "tmpfs", flags: [.noSetuid, .strictAtime], data: "mode=755,size=65536k"),
            .init(source: "devpts", target: "/dev/pts", type: "devpts", flags: [.noSetuid, .noExec],
                  data: "newinstance,ptmxmode=0666,mode=0620,gid=5"),
            .init(source: "sysfs", target: "/sys", type: "sysfs", flags: hardened.union(.readOnly)),
            .init(source: "mqueue", target: "/dev/mqueue", type: "mqueue", flags: hardened),
            .init(source: "shm", target: "/dev/shm", type: "tmpfs", flags: hardened, data: "mode=1777,size=\(shmSize)"),
        ]
    }

    /// /sys/fs/cgroup as Docker shows it: the container's own cgroups, read-only — a tmpfs holding
    /// one directory per v1 controller (and `unified` on a hybrid host), or on a pure v2 host the
    /// container's cgroup2 directory itself.
    public static func cgroupMounts(_ cgroup: ContainerCgroup) -> [LaunchSpec.Mount] {
        let hardened: MountFlags = [.noSetuid, .noExec, .noDevices]
        let readOnlyBind: MountFlags = hardened.union([.bind, .readOnly])
        if cgroup.unifiedHasControllers, let unified = cgroup.unified {
            return [.init(source: unified, target: "/sys/fs/cgroup", type: "", flags: readOnlyBind)]
        }
        var mounts: [LaunchSpec.Mount] = [.init(source: "tmpfs", target: "/sys/fs/cgroup", type: "tmpfs", flags: hardened, data: "mode=755")]
        for controller in cgroup.v1.keys.sorted() {
            mounts.append(.init(source: cgroup.v1[controller]!, target: "/sys/fs/cgroup/" + controller, type: "", flags: readOnlyBind))
        }
        if let unified = cgroup.unified {
            mounts.append(.init(source: unified, target: "/sys/fs/cgroup/unified", type: "", flags: readOnlyBind))
        }
        // Read-only once its mount points exist.
        mounts.append(.init(source: "tmpfs", target: "/sys/fs/cgroup", type: "", flags: hardened.union([.remount, .readOnly])))
        return mounts
    }

    /// Paths under /proc and /sys that would reveal or reach the host.
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]

    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
}
