// The C the guest agent calls, for Embedded Swift (no Glibc module): libc headers, and the macros
// Swift cannot import written as functions.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <time.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/random.h>

static inline int agent_errno(void) { return errno; }
static inline int agent_exited(int status) { return WIFEXITED(status); }
static inline int agent_exit_status(int status) { return WEXITSTATUS(status); }
static inline int agent_signaled(int status) { return WIFSIGNALED(status); }
static inline int agent_term_signal(int status) { return WTERMSIG(status); }

static inline int agent_open(const char *path, int flags) { return open(path, flags | O_CLOEXEC); }
static inline int agent_create(const char *path) { return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); }

// SIGCHLD as a descriptor the poll loop reads; the signal itself stays blocked.
static inline int agent_child_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static inline void agent_unblock_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
}

static inline int agent_set_window(int fd, unsigned short rows, unsigned short columns) {
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    return ioctl(fd, TIOCSWINSZ, &size);
}

static inline int agent_make_controlling_terminal(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

// A new pty of the devpts instance whose ptmx is `ptmx`: returns the master and stores the slave's descriptor.
static inline int agent_open_pty(const char *ptmx, int *slave) {
    int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) { close(master); return -1; }
    *slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (*slave < 0) { close(master); return -1; }
    return master;
}

static inline void agent_close_from(unsigned first) { close_range(first, ~0u, 0); }
static inline int agent_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int agent_set_nonblocking(int fd) { return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
static inline int agent_is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}
static inline const char *agent_dirent_name(struct dirent *entry) { return entry->d_name; }
static inline int agent_power_off(void) { return reboot(RB_POWER_OFF); }
static inline int agent_load_module(int fd) { return (int)syscall(SYS_finit_module, fd, "", 0); }

// Sets an interface up through an AF_INET socket; 0, or -1 with errno.
static inline int agent_interface_up(int sock, const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(sock, SIOCGIFFLAGS, &request) < 0) return -1;
    request.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &request);
}

// Drops what the guest has cached of a block device: a VM cloned from a template probed its disk
// slots with the template's blank disks, and must read the container's from the device itself.
static inline int agent_forget_cached_blocks(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = ioctl(fd, BLKFLSBUF, 0);
    close(fd);
    return result;
}

// Mixes `length` bytes from the host into the guest's random pool and credits them as entropy:
// clones of one template would otherwise share the template's pool.
static inline int agent_add_entropy(const unsigned char *bytes, int length) {
    if (length <= 0 || length > 512) { errno = EINVAL; return -1; }
    struct { int entropy_count; int buf_size; unsigned char buf[512]; } pool;
    pool.entropy_count = length * 8;
    pool.buf_size = length;
    memcpy(pool.buf, bytes, (size_t)length);
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = ioctl(fd, RNDADDENTROPY, &pool);
    close(fd);
    return result;
}

// Sets the wall clock: a clone resumes with its template's.
static inline int agent_set_clock(long long seconds, long nanoseconds) {
    struct timespec now = {.tv_sec = (time_t)seconds, .tv_nsec = nanoseconds};
    return clock_settime(CLOCK_REALTIME, &now);
}

// Gives the interface whose MAC address is `current` the address `mac` (a clone's card keeps its
// template's address until told); 0, or -1 with errno (ENODEV: no such card).
static inline int agent_readdress_interface(const char *current, const char *mac) {
    unsigned char from[6], to[6];
    if (sscanf(current, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &from[0], &from[1], &from[2], &from[3], &from[4], &from[5]) != 6 ||
        sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &to[0], &to[1], &to[2], &to[3], &to[4], &to[5]) != 6) {
        errno = EINVAL;
        return -1;
    }
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    struct if_nameindex *names = if_nameindex();
    int result = -1;
    errno = ENODEV;
    for (struct if_nameindex *entry = names; entry && entry->if_name; entry++) {
        struct ifreq request;
        memset(&request, 0, sizeof request);
        snprintf(request.ifr_name, IFNAMSIZ, "%s", entry->if_name);
        if (ioctl(sock, SIOCGIFHWADDR, &request) != 0 || memcmp(request.ifr_hwaddr.sa_data, from, 6)) continue;
        memcpy(request.ifr_hwaddr.sa_data, to, 6);
        result = ioctl(sock, SIOCSIFHWADDR, &request);
        break;
    }
    if (names) if_freenameindex(names);
    int saved = errno;
    close(sock);
    errno = saved;
    return result;
}

// Addresses the interface whose MAC address is `mac` ("02:42:0a:00:00:02") with `address`/`prefix`,
// sets it (and the loopback) up and, with a gateway, routes everything else through it.
// 0, or -1 with errno (ENODEV: no interface has that MAC address).
static inline int agent_configure_interface(const char *mac, const char *address, int prefix, const char *gateway) {
    unsigned char wanted[6];
    struct in_addr ip, via;
    if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &wanted[0], &wanted[1], &wanted[2], &wanted[3], &wanted[4], &wanted[5]) != 6 ||
        inet_pton(AF_INET, address, &ip) != 1 || prefix < 0 || prefix > 32 || (gateway && inet_pton(AF_INET, gateway, &via) != 1)) {
        errno = EINVAL;
        return -1;
    }
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    agent_interface_up(sock, "lo");
    struct if_nameindex *names = if_nameindex();
    char found[IFNAMSIZ] = "";
    for (struct if_nameindex *entry = names; entry && entry->if_name; entry++) {
        struct ifreq request;
        memset(&request, 0, sizeof request);
        snprintf(request.ifr_name, IFNAMSIZ, "%s", entry->if_name);
        if (ioctl(sock, SIOCGIFHWADDR, &request) == 0 && !memcmp(request.ifr_hwaddr.sa_data, wanted, 6)) {
            snprintf(found, IFNAMSIZ, "%s", entry->if_name);
            break;
        }
    }
    if (names) if_freenameindex(names);
    int result = -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, IFNAMSIZ, "%s", found);
    struct sockaddr_in *in = (struct sockaddr_in *)&request.ifr_addr;
    in->sin_family = AF_INET;
    in->sin_addr = ip;
    if (!found[0]) {
        errno = ENODEV;
    } else if (ioctl(sock, SIOCSIFADDR, &request) == 0) {
        in->sin_addr.s_addr = htonl(prefix ? 0xffffffffu << (32 - prefix) : 0);
        if (ioctl(sock, SIOCSIFNETMASK, &request) == 0 && agent_interface_up(sock, found) == 0) {
            result = 0;
            if (gateway) {
                struct rtentry route;
                memset(&route, 0, sizeof route);
                ((struct sockaddr_in *)&route.rt_dst)->sin_family = AF_INET;
                ((struct sockaddr_in *)&route.rt_genmask)->sin_family = AF_INET;
                ((struct sockaddr_in *)&route.rt_gateway)->sin_family = AF_INET;
                ((struct sockaddr_in *)&route.rt_gateway)->sin_addr = via;
                route.rt_flags = RTF_UP | RTF_GATEWAY;
                route.rt_dev = found;
                result = ioctl(sock, SIOCADDRT, &route);
            }
        }
    }
    int saved = errno;
    close(sock);
    errno = saved;
    return result;
}

// A regular file for a bind mount's target, unless something is there already.
static inline int agent_make_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno == EISDIR ? 0 : -1;
    close(fd);
    return 0;
}

static inline int agent_is_directory(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

// --- Confining a container's process, as berth-shim does natively (vm-images/PROTOCOL.md, `run`).

#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "../../shim/init_reaper.h"
#include "../../shim/mount_flags.h"

// The cgroup of a VM's own container; a pod's VM holds more, each in `container-NAME` beside it.
#define AGENT_CONTAINER_CGROUP "/sys/fs/cgroup/container"

// The cgroup of the container a request names, which joins, the OOM check and the builtins use.
static char agent_cgroup[128] = AGENT_CONTAINER_CGROUP;

// Selects the container `name` names ("" or NULL: the VM's own); 0, or -1 with EINVAL for a name
// that is not 1 to 64 lowercase letters and digits. `create` makes its cgroup.
static inline int agent_select_container(const char *name, int create) {
    size_t length = name ? strlen(name) : 0;
    for (size_t i = 0; i < length; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9'))) length = 65;
    if (length > 64) { errno = EINVAL; return -1; }
    if (length) snprintf(agent_cgroup, sizeof agent_cgroup, "%s-%s", AGENT_CONTAINER_CGROUP, name);
    else snprintf(agent_cgroup, sizeof agent_cgroup, "%s", AGENT_CONTAINER_CGROUP);
    if (create && mkdir(agent_cgroup, 0755) < 0 && errno != EEXIST) return -1;
    return 0;
}

// A file of the selected container's cgroup.
static inline void agent_cgroup_file(char *path, size_t size, const char *name) { snprintf(path, size, "%s/%s", agent_cgroup, name); }

// cgroup2 with the controllers a container's limits and counters use, and the container's cgroup.
static inline void agent_prepare_cgroups(void) {
    mkdir("/sys/fs/cgroup", 0755);
    if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) return;
    // One at a time: a controller the kernel lacks must not keep the others off.
    static const char *controllers[] = {"+cpu", "+memory", "+pids", "+io"};
    for (size_t i = 0; i < sizeof controllers / sizeof controllers[0]; i++) {
        int fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
        if (fd < 0) break;
        ssize_t written = write(fd, controllers[i], strlen(controllers[i]));
        (void)written;
        close(fd);
    }
    mkdir(AGENT_CONTAINER_CGROUP, 0755);
}

// Whether the kernel's OOM killer killed a process of the selected container's cgroup (its
// memory.events `oom_kill` count), for Docker's OOMKilled.
static inline int agent_container_oom_killed(void) {
    char path[160];
    agent_cgroup_file(path, sizeof path, "memory.events");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[512];
    ssize_t count = read(fd, text, sizeof text - 1);
    close(fd);
    if (count <= 0) return 0;
    text[count] = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (!strncmp(line, "oom_kill ", 9)) return atol(line + 9) > 0;
    }
    return 0;
}

static inline int agent_join_container_cgroup(void) {
    char path[160];
    agent_cgroup_file(path, sizeof path, "cgroup.procs");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = write(fd, "0", 1) == 1 ? 0 : -1;
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

// The agent's own pid namespace, to return to after starting a process in a container's.
static inline int agent_open_own_pid_namespace(void) { return open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC); }

// Children forked after this are the first of a new pid namespace (the container's init is its PID 1).
static inline int agent_unshare_pid_namespace(void) { return unshare(CLONE_NEWPID); }

static inline int agent_set_pid_namespace(int fd) { return setns(fd, CLONE_NEWPID); }

static inline int agent_open_namespace(int pid, const char *name) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

// Mounts, host name and IPC of the container's own (or, given `ipc_holder`, that process's IPC, as
// a pod's containers share their sandbox's); a cgroup namespace follows once in its cgroup.
static inline int agent_unshare_container_namespaces(int ipc_holder) {
    if (ipc_holder <= 0) return unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC);
    int ipc = agent_open_namespace(ipc_holder, "ipc");
    if (ipc < 0) return -1;
    int result = unshare(CLONE_NEWNS | CLONE_NEWUTS) == 0 && setns(ipc, CLONE_NEWIPC) == 0 ? 0 : -1;
    int saved = errno;
    close(ipc);
    errno = saved;
    return result;
}
static inline int agent_unshare_cgroup_namespace(void) { return unshare(CLONE_NEWCGROUP); }

// An exec enters the container init's namespaces: every descriptor opened first (after the mount
// namespace this /proc is the container's), the mount namespace last, which also sets the root.
static inline int agent_enter_namespaces(int pid) {
    static const char *names[] = {"cgroup", "ipc", "uts", "mnt"};
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = agent_open_namespace(pid, names[i]);
        if (fds[i] < 0) { while (i--) close(fds[i]); return -1; }
    }
    int result = 0;
    for (int i = 0; i < 4 && result == 0; i++) result = setns(fds[i], 0);
    int saved = errno;
    for (int i = 0; i < 4; i++) close(fds[i]);
    errno = saved;
    return result;
}

// runc CVE-2024-21626: a working directory such as /proc/self/fd/N is whatever that descriptor
// names. Resolved inside the (chrooted) root with no magic links, it cannot leave the container.
static inline int agent_enter_directory(const char *path) {
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return -1;
    while (*path == '/') path++;
    int directory = (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof how);
    int saved = errno;
    close(root);
    if (directory < 0) {
        errno = saved;
        return -1;
    }
    int entered = fchdir(directory);
    saved = errno;
    close(directory);
    errno = saved;
    return entered;
}

// Nothing mounted in the container's namespace shows in the guest's.
static inline int agent_make_mounts_private(void) { return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL); }

// The container's root becomes "/". pivot_root cannot leave the initramfs, so the root (with the
// mounts under it) moves over "/" and the process chroots into it; setns into this mount namespace
// lands on the moved root too.
static inline int agent_move_root(const char *root) {
    if (chdir(root) < 0 || mount(root, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) return -1;
    return chdir("/");
}


// One mount with its flags as berthd gives them; a bind's other flags take a remount.
static inline int agent_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data) {
    const unsigned long bind = MS_BIND | MS_REC;
    if (flags & MS_REMOUNT) return mount(source, target, fstype, flags, *data ? data : NULL);
    if (!(flags & MS_BIND)) return mount(source, target, fstype, flags, *data ? data : NULL);
    if (mount(source, target, NULL, flags & bind, NULL) < 0) return -1;
    if (!(flags & ~bind)) return 0;
    return mount(NULL, target, NULL, (flags & ~MS_REC) | MS_REMOUNT | MS_BIND | mount_flags_to_keep(target), NULL);
}

// `path` read-only where it is, keeping its other flags; nothing when it does not exist.
static inline int agent_make_readonly(const char *path) {
    if (access(path, F_OK) < 0) return 0;
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
    return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_flags_to_keep(path), NULL);
}

// The root read-only (--read-only): its own mount, remounted.
static inline int agent_make_root_readonly(void) {
    return mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_flags_to_keep("/"), NULL);
}

// Hides what a path shows: /dev/null over a file, an empty read-only tmpfs over a directory.
static inline int agent_mask(const char *path) {
    struct stat info;
    if (stat(path, &info) < 0) return 0;
    return S_ISDIR(info.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k") : mount("/dev/null", path, NULL, MS_BIND, NULL);
}

// Docker's device nodes and links in the container's fresh /dev.
static inline int agent_create_devices(void) {
    static const struct { const char *path; unsigned major, minor; } nodes[] = {
        {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    mode_t old_mask = umask(0);
    int result = 0;
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0] && result == 0; i++)
        if (mknod(nodes[i].path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0 && errno != EEXIST) result = -1;
    umask(old_mask);
    static const char *links[][2] = {
        {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
        {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}, {"/proc/kcore", "/dev/core"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0] && result == 0; i++)
        if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST) result = -1;
    return result;
}

static inline int agent_set_limit(int resource, unsigned long long soft, unsigned long long hard) {
    struct rlimit64 limit = {soft, hard};
    return setrlimit64(resource, &limit);
}

static inline int agent_set_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

// `length` bytes of struct sock_filter, as libseccomp exported them on the host.
static inline int agent_load_seccomp(const unsigned char *program, int length) {
    struct sock_fprog filter = {.len = (unsigned short)(length / sizeof(struct sock_filter)), .filter = (struct sock_filter *)program};
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0);
}

// The container's user with exactly the given capabilities: the bounding set shrinks while
// CAP_SETPCAP is held, keepcaps carries the permitted set across setuid, capset sets each set.
// Returns the failed step's name, or NULL.
static inline const char *agent_switch_identity(unsigned uid, unsigned gid, const unsigned *groups, int group_count,
                                                unsigned long long bounding, unsigned long long effective,
                                                unsigned long long permitted, unsigned long long inheritable,
                                                unsigned long long ambient) {
    int last_cap = CAP_LAST_CAP;
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[16] = {0};
        if (read(fd, text, sizeof text - 1) > 0) last_cap = atoi(text);
        close(fd);
    }
    for (int cap = 0; cap <= last_cap; cap++)
        if (!(bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return "dropping a capability";
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return "keepcaps";
    gid_t list[group_count > 0 ? group_count : 1];
    for (int i = 0; i < group_count; i++) list[i] = groups[i];
    if (setgroups((size_t)group_count, list) < 0) return "setgroups";
    if (setresgid(gid, gid, gid) < 0) return "setgid";
    if (setresuid(uid, uid, uid) < 0) return "setuid";
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return "keepcaps";
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {(unsigned)effective, (unsigned)permitted, (unsigned)inheritable},
        {(unsigned)(effective >> 32), (unsigned)(permitted >> 32), (unsigned)(inheritable >> 32)},
    };
    if (syscall(SYS_capset, &header, data) < 0) return "capset";
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return "clearing ambient capabilities";
    for (int cap = 0; cap <= last_cap; cap++)
        if ((ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return "raising an ambient capability";
    return NULL;
}

// The channel a child reports on: its exec failure as text, and first, for a container's init
// with a terminal, the terminal's master (made on the container's own devpts) as a descriptor.
// --init: this process stays the container's PID 1 (confined as the command is) and the command
// runs as its child (init_reaper.h). Returns only in the child (or when the fork failed, to run
// the command as PID 1), which goes on to exec.
static inline void agent_become_reaper(int report) {
    pid_t child = fork();
    if (child <= 0) return;
    // The agent learns the command started from the report channel closing: this copy must go.
    close(report);
    for (int fd = 0; fd < 3; fd++) close(fd);
    init_reaper_serve(child);
}

static inline int agent_report_channel(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }

static inline int agent_send_descriptor(int channel, int fd) {
    char byte = 'p';
    struct iovec data = {.iov_base = &byte, .iov_len = 1};
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    return sendmsg(channel, &message, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

// The descriptor the child sent, or -1 when it reported a failure (left unread) or ended first.
static inline int agent_receive_descriptor(int channel) {
    char byte;
    struct iovec data = {.iov_base = &byte, .iov_len = 1};
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    ssize_t count;
    do count = recvmsg(channel, &message, MSG_PEEK | MSG_CMSG_CLOEXEC); while (count < 0 && errno == EINTR);
    if (count != 1 || byte != 'p') return -1;
    do count = recvmsg(channel, &message, MSG_CMSG_CLOEXEC); while (count < 0 && errno == EINTR);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (count != 1 || !header || header->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return fd;
}

#include "builtins.h"
