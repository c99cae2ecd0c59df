import CSeccomp
import Foundation
import SystemSupport

/// The default seccomp policy: every system call a normal program needs is allowed, the rest
/// fail with EPERM. Calls that only a capability makes safe are allowed when the container holds
/// that capability, so `--cap-add SYS_ADMIN` also opens mount(2). The effect matches Docker's
/// default profile.
public struct SeccompProfile: Sendable {
    /// What a system call gets: to run, an errno, the thread or process killed, a SIGSYS, or a log line.
    enum Action: Sendable, Equatable {
        case allow, errno(Int32), killThread, killProcess, trap, log

        /// libseccomp's action values; its C macros do not import into Swift.
        var libseccompValue: UInt32 {
            switch self {
            case .allow: 0x7fff_0000
            case .errno(let number): 0x0005_0000 | UInt32(number & 0xffff)
            case .killThread: 0x0000_0000
            case .killProcess: 0x8000_0000
            case .trap: 0x0003_0000
            case .log: 0x7ffc_0000
            }
        }
    }

    struct Rule: Sendable {
        enum Comparison: Sendable {
            case notEqual(UInt64), lessThan(UInt64), lessOrEqual(UInt64), equal(UInt64), greaterOrEqual(UInt64), greaterThan(UInt64)
            case maskedEqual(mask: UInt64, value: UInt64)
        }
        var names: [String]
        /// Conditions on the call's arguments, all of which must hold.
        var arguments: [(index: UInt32, comparison: Comparison)] = []
        var action = Action.allow

        init(names: [String], arguments: [(index: UInt32, comparison: Comparison)] = [], action: Action = .allow) {
            self.names = names
            self.arguments = arguments
            self.action = action
        }
    }

    /// For every call no rule names.
    var defaultAction = Action.errno(EPERM)
    let rules: [Rule]
    /// The architecture the filter is for (Go's names), the host's or a utility VM guest's.
    let architecture: String

    /// The policy for a container with these capabilities on `architecture` (Go's names: amd64, arm64, …).
    public static func `default`(capabilities: CapabilitySet, architecture: String) -> SeccompProfile {
        var rules = [Rule(names: alwaysAllowed.split(separator: " ").map(String.init))]
        // AF_VSOCK would reach the host's hypervisor sockets.
        rules.append(Rule(names: ["socket"], arguments: [(0, .notEqual(40))]))
        // Only the personalities programs use for compatibility: PER_LINUX, PER_LINUX32, UNAME26 and the query.
        for persona: UInt64 in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(Rule(names: ["personality"], arguments: [(0, .equal(persona))]))
        }
        switch architecture {
        case "amd64": rules.append(Rule(names: ["arch_prctl", "modify_ldt"]))
        case "386": rules.append(Rule(names: ["modify_ldt"]))
        case "arm", "arm64":
            rules.append(Rule(names: ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                                      "cacheflush", "set_tls"]))
        case "riscv64": rules.append(Rule(names: ["riscv_flush_icache"]))
        default: break
        }
        for (capability, names) in capabilityGated where capabilities.contains(capability) {
            rules.append(Rule(names: names.split(separator: " ").map(String.init)))
        }
        if !capabilities.contains(.sysAdmin) {
            // Threads and processes, but no new namespaces; clone3 hides its flags in memory, so
            // it reports ENOSYS and libc falls back to clone.
            let namespaceFlags: UInt64 = 0x7E02_0000
            rules.append(Rule(names: ["clone"], arguments: [(0, .maskedEqual(mask: namespaceFlags, value: 0))]))
            rules.append(Rule(names: ["clone3"], action: .errno(ENOSYS)))
        }
        return SeccompProfile(rules: rules, architecture: architecture)
    }

    /// The kernel's names for `architecture`'s system call entry points: 32-bit ones on a 64-bit
    /// kernel need the same rules, or they are a way around them.
    static func auditArchitectures(_ architecture: String) throws -> [UInt32] {
        switch architecture {
        case "amd64": return [UInt32(BERTH_SCMP_ARCH_X86_64), UInt32(SCMP_ARCH_X86), UInt32(SCMP_ARCH_X32)]
        case "386": return [UInt32(SCMP_ARCH_X86)]
        case "arm64": return [UInt32(BERTH_SCMP_ARCH_AARCH64), UInt32(SCMP_ARCH_ARM)]
        case "arm": return [UInt32(SCMP_ARCH_ARM)]
        case "riscv64": return [UInt32(BERTH_SCMP_ARCH_RISCV64)]
        default: throw SeccompError.unsupportedArchitecture(architecture)
        }
    }

    /// Compiles the policy to classic BPF for its architecture and writes it to `path`. Rules name
    /// calls by the host's numbers (or libseccomp's stand-ins for calls the host lacks), which it
    /// translates for each architecture of the filter.
    public func writeFilter(to path: String) throws {
        guard let context = seccomp_init(defaultAction.libseccompValue) else { throw SeccompError.libseccomp("seccomp_init", 0) }
        defer { seccomp_release(context) }
        let targets = try Self.auditArchitectures(architecture)
        for target in targets {
            let result = seccomp_arch_add(context, target)
            guard result == 0 || result == -EEXIST else { throw SeccompError.libseccomp("seccomp_arch_add", result) }
        }
        // A guest of another architecture gets a filter for its calls only.
        if !targets.contains(seccomp_arch_native()) {
            let result = seccomp_arch_remove(context, seccomp_arch_native())
            guard result == 0 else { throw SeccompError.libseccomp("seccomp_arch_remove", result) }
        }
        for rule in rules {
            var conditions = rule.arguments.map { index, comparison in
                var condition = scmp_arg_cmp()
                condition.arg = index
                switch comparison {
                case .notEqual(let value): condition.op = SCMP_CMP_NE; condition.datum_a = value
                case .lessThan(let value): condition.op = SCMP_CMP_LT; condition.datum_a = value
                case .lessOrEqual(let value): condition.op = SCMP_CMP_LE; condition.datum_a = value
                case .equal(let value): condition.op = SCMP_CMP_EQ; condition.datum_a = value
                case .greaterOrEqual(let value): condition.op = SCMP_CMP_GE; condition.datum_a = value
                case .greaterThan(let value): condition.op = SCMP_CMP_GT; condition.datum_a = value
                case .maskedEqual(let mask, let value):
                    condition.op = SCMP_CMP_MASKED_EQ; condition.datum_a = mask; condition.datum_b = value
                }
                return condition
            }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                // Names of other architectures' calls do not resolve here.
                guard number != __NR_SCMP_ERROR else { continue }
                let result = seccomp_rule_add_array(context, rule.action.libseccompValue, number, UInt32(conditions.count), &conditions)
                // -EACCES: the rule equals the default action; -EEXIST: already covered by another rule.
                guard result == 0 || result == -EEXIST || result == -EACCES else {
                    throw SeccompError.libseccomp("seccomp_rule_add \(name)", result)
                }
            }
        }
        // A name of its own: starts that run at once may compile the same filter side by side.
        let temporary = path + ".tmp-" + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SeccompError.libseccomp("open \(temporary)", -errno) }
        let exported = seccomp_export_bpf(context, fd)
        fsync(fd)
        close(fd)
        guard exported == 0 else { throw SeccompError.libseccomp("seccomp_export_bpf", exported) }
        guard rename(temporary, path) == 0 else { throw SeccompError.libseccomp("rename \(path)", -errno) }
    }

    /// Files, memory, processes, signals, time, sockets, IPC, and the identity calls a root
    /// process uses to drop privileges: allowed for everyone.
    static let alwaysAllowed = [
        // files and directories
        "access faccessat faccessat2 open openat openat2 creat close close_range read readv pread64 preadv preadv2",
        "write writev pwrite64 pwritev pwritev2 lseek _llseek stat stat64 lstat lstat64 fstat fstat64 fstatat64",
        "newfstatat statx statfs statfs64 fstatfs fstatfs64 getdents getdents64 getcwd chdir fchdir mkdir mkdirat",
        "rmdir rename renameat renameat2 link linkat symlink symlinkat unlink unlinkat readlink readlinkat",
        "chmod fchmod fchmodat chown chown32 fchown fchown32 fchownat lchown lchown32 truncate truncate64",
        "ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 readahead fsync fdatasync sync syncfs",
        "sync_file_range utime utimes utimensat utimensat_time64 futimesat umask mknod mknodat flock fcntl fcntl64",
        "dup dup2 dup3 pipe pipe2 splice tee vmsplice sendfile sendfile64 copy_file_range name_to_handle_at",
        "getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr",
        "removexattr lremovexattr fremovexattr ioctl inotify_init inotify_init1 inotify_add_watch inotify_rm_watch",
        "fanotify_mark memfd_create memfd_secret",
        // asynchronous and multiplexed I/O
        "select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create epoll_create1 epoll_ctl",
        "epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 eventfd eventfd2 signalfd signalfd4",
        "timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64 io_setup io_destroy",
        "io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 io_uring_setup io_uring_enter",
        "io_uring_register ioprio_get ioprio_set",
        // memory
        "brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock munlockall",
        "remap_file_pages membarrier pkey_alloc pkey_free pkey_mprotect",
        // processes, threads and scheduling
        "execve execveat exit exit_group fork vfork wait4 waitid waitpid getpid getppid gettid getpgid getpgrp",
        "setpgid getsid setsid getpriority setpriority getrlimit setrlimit ugetrlimit prlimit64 getrusage times",
        "prctl set_tid_address set_robust_list get_robust_list set_thread_area get_thread_area rseq futex",
        "futex_time64 futex_waitv sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr",
        "sched_getparam sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max",
        "sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64 getcpu pidfd_open",
        "pidfd_send_signal process_mrelease restart_syscall seccomp landlock_create_ruleset landlock_add_rule",
        "landlock_restrict_self capget capset uname sysinfo getrandom ptrace process_vm_readv process_vm_writev",
        // identity
        "getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid",
        "getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32",
        "setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32",
        // signals
        "kill tkill tgkill rt_sigaction rt_sigprocmask rt_sigpending rt_sigsuspend rt_sigtimedwait",
        "rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn sigreturn sigprocmask sigaltstack",
        "pause alarm",
        // time
        "time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64 clock_nanosleep",
        "clock_nanosleep_time64 clock_adjtime clock_adjtime64 adjtimex nanosleep getitimer setitimer timer_create",
        "timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64",
        // sockets
        "socketpair socketcall bind listen accept accept4 connect getsockname getpeername getsockopt setsockopt",
        "send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown",
        // System V and POSIX IPC
        "ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat shmdt",
        "shmctl mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64",
        "mq_notify mq_getsetattr",
    ].joined(separator: " ")

    /// Calls that are safe only with the capability that guards them in the kernel anyway.
    static let capabilityGated: [(Capability, String)] = [
        (.sysAdmin, "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare"),
        (.dacReadSearch, "open_by_handle_at"),
        (.sysBoot, "reboot"),
        (.sysChroot, "chroot"),
        (.sysModule, "init_module finit_module delete_module"),
        (.sysPacct, "acct"),
        (.sysPtrace, "kcmp pidfd_getfd process_madvise"),
        (.sysRawio, "iopl ioperm"),
        (.sysTime, "settimeofday stime clock_settime clock_settime64"),
        (.sysTtyConfig, "vhangup"),
        (.sysNice, "get_mempolicy set_mempolicy set_mempolicy_home_node mbind"),
        (.syslog, "syslog"),
        (.bpf, "bpf"),
        (.perfmon, "perf_event_open"),
    ]
}

public enum SeccompError: Error, CustomStringConvertible {
    case libseccomp(String, Int32)
    case unsupportedArchitecture(String)
    case invalidProfile(String)

    public var description: String {
        switch self {
        case .libseccomp(let call, let result): return "seccomp: \(call) failed: \(SystemError.text(-result))"
        case .unsupportedArchitecture(let name): return "seccomp: no filter for the architecture \(name)"
        case .invalidProfile(let reason): return "seccomp profile: \(reason)"
        }
    }
}
