#include "container_init.h"
#include "detached_mounts.h"
#include "init_reaper.h"
#include "mount_flags.h"
#include "sync_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int sync_fd = -1;

// Reports why setup failed and ends init; the shim turns the code into the container's exit code.
_Noreturn static void fail(int code, const char *format, ...) {
    char message[2048];
    int offset = snprintf(message, sizeof message, "%d ", code);
    va_list args;
    va_start(args, format);
    vsnprintf(message + offset, sizeof message - (size_t)offset, format, args);
    va_end(args);
    sync_send(sync_fd, SYNC_ERROR, message, -1);
    _exit(code);
}

#define CHECK(call, ...) do { if ((call) < 0) fail(125, __VA_ARGS__); } while (0)

// Both the creation of a container's working directory and an exec's entry into one refuse these.
#define WORKDIR_LOOP "working directory %s: leads through a /proc magic link or a symlink loop"

// Opens `path` inside `root_fd`, resolving every symlink as if root_fd were "/", so an image's
// symlinks can never point a mount outside the container's root.
static int open_in_root(int root_fd, const char *path, int flags) {
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    while (*path == '/') path++;
    if (!*path) path = ".";
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

// mkdir -p inside the root (and the last component as an empty file when `as_file`), symlinks kept inside.
static int make_path_in_root(int root_fd, const char *path, int as_file) {
    char partial[4096];
    size_t length = strlen(path);
    if (length >= sizeof partial) { errno = ENAMETOOLONG; return -1; }
    for (size_t i = 1; i <= length; i++) {
        if (i < length && path[i] != '/') continue;
        memcpy(partial, path, i);
        partial[i] = '\0';
        int fd = open_in_root(root_fd, partial, O_PATH);
        if (fd >= 0) { close(fd); continue; }
        if (errno != ENOENT) return -1;
        // Split into parent and name; a top-level entry's parent is the root itself.
        char name[256];
        char *slash = strrchr(partial, '/');
        if (strlen(slash ? slash + 1 : partial) >= sizeof name) { errno = ENAMETOOLONG; return -1; }
        strcpy(name, slash ? slash + 1 : partial);
        if (slash) *slash = '\0';
        int parent = open_in_root(root_fd, slash && slash != partial ? partial : "/", O_PATH | O_DIRECTORY);
        if (parent < 0) return -1;
        int made = (i == length && as_file) ? mknodat(parent, name, S_IFREG | 0644, 0) : mkdirat(parent, name, 0755);
        close(parent);
        if (made < 0 && errno != EEXIST) return -1;
    }
    return 0;
}

static void proc_fd_path(char *buffer, size_t size, int fd) { snprintf(buffer, size, "/proc/self/fd/%d", fd); }

// Mounts one entry of the spec under the root; bind mounts that must be read-only are remounted,
// since MS_RDONLY is ignored on the first bind.
static void mount_entry(int root_fd, const struct mount_entry *entry) {
    int is_bind = (entry->flags & MS_BIND) != 0;
    struct stat source_stat;
    int detached = entry->source_fd >= 0;
    int as_file = is_bind && (detached ? fstat(entry->source_fd, &source_stat) : stat(entry->source, &source_stat)) == 0 &&
                  !S_ISDIR(source_stat.st_mode);
    if (make_path_in_root(root_fd, entry->target, as_file) < 0)
        fail(125, "creating mount point %s: %s", entry->target, strerror(errno));
    int target_fd = open_in_root(root_fd, entry->target, O_PATH);
    if (target_fd < 0) fail(125, "opening mount point %s: %s", entry->target, strerror(errno));
    char target[64];
    proc_fd_path(target, sizeof target, target_fd);
    const char *data = *entry->data ? entry->data : NULL;
    unsigned long propagation = is_bind ? entry->flags & (MS_SHARED | MS_SLAVE | MS_PRIVATE) : 0;
    unsigned long first_flags = is_bind ? (entry->flags & (MS_BIND | MS_REC)) : entry->flags;
    if (detached ? detached_mount_attach(entry->source_fd, target_fd) : mount(entry->source, target, entry->fstype, first_flags, data))
        fail(125, "mounting %s on %s: %s", entry->source, entry->target, strerror(errno));
    if (detached) close(entry->source_fd);
    close(target_fd);
    unsigned long remount_flags = entry->flags & ~(propagation | MS_BIND | MS_REC);
    if (is_bind && (remount_flags || propagation)) {
        // The fd above names the directory under the new mount; the remount needs the mount itself.
        target_fd = open_in_root(root_fd, entry->target, O_PATH);
        if (target_fd < 0) fail(125, "reopening %s: %s", entry->target, strerror(errno));
        proc_fd_path(target, sizeof target, target_fd);
        if (remount_flags && mount(NULL, target, NULL, remount_flags | MS_REMOUNT | MS_BIND | mount_flags_to_keep(target), NULL) < 0)
            fail(125, "remounting %s: %s", entry->target, strerror(errno));
        // Propagation is its own call: the kernel takes no other flag with it but MS_REC.
        if (propagation && mount(NULL, target, NULL, propagation | (entry->flags & MS_REC), NULL) < 0)
            fail(125, "setting the propagation of %s: %s", entry->target, strerror(errno));
        close(target_fd);
    }
}

struct device_node { const char *path; mode_t mode; unsigned major, minor; };

// `path` is relative ("dev/null"); the host's node of the same name is still reachable as "/dev/null".
static void bind_host_device(int root_fd, const char *path) {
    int fd = open_in_root(root_fd, path, O_CREAT | O_RDONLY | O_NOFOLLOW);
    if (fd < 0) fail(125, "creating /%s: %s", path, strerror(errno));
    char source[64], target[64];
    snprintf(source, sizeof source, "/%s", path);
    proc_fd_path(target, sizeof target, fd);
    CHECK(mount(source, target, NULL, MS_BIND, NULL), "binding %s: %s", source, strerror(errno));
    close(fd);
}

// The nodes every container gets (Docker's set); /dev itself is a fresh tmpfs. A user namespace
// may not mknod, so there the host's nodes are bound over empty files instead.
static void create_devices(int root_fd, int bind_host_nodes) {
    static const struct device_node devices[] = {
        {"dev/null", S_IFCHR | 0666, 1, 3}, {"dev/zero", S_IFCHR | 0666, 1, 5},
        {"dev/full", S_IFCHR | 0666, 1, 7}, {"dev/random", S_IFCHR | 0666, 1, 8},
        {"dev/urandom", S_IFCHR | 0666, 1, 9}, {"dev/tty", S_IFCHR | 0666, 5, 0},
    };
    mode_t old_mask = umask(0);
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        if (bind_host_nodes) {
            bind_host_device(root_fd, devices[i].path);
            continue;
        }
        if (mknodat(root_fd, devices[i].path, devices[i].mode, makedev(devices[i].major, devices[i].minor)) < 0 &&
            errno != EEXIST)
            fail(125, "creating /%s: %s", devices[i].path, strerror(errno));
    }
    umask(old_mask);
    static const char *links[][2] = {
        {"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"}, {"/proc/self/fd/1", "dev/stdout"},
        {"/proc/self/fd/2", "dev/stderr"}, {"pts/ptmx", "dev/ptmx"}, {"/proc/kcore", "dev/core"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        if (symlinkat(links[i][0], root_fd, links[i][1]) < 0 && errno != EEXIST)
            fail(125, "linking /%s: %s", links[i][1], strerror(errno));
    }
}

// Opens a console on the container's own devpts, hands the master to the shim, and makes the
// slave the controlling terminal and stdio.
static void setup_console(int root_fd) {
    int master = open_in_root(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    if (master < 0) fail(125, "opening /dev/pts/ptmx: %s", strerror(errno));
    int unlock = 0;
    CHECK(ioctl(master, TIOCSPTLCK, &unlock), "unlocking the console: %s", strerror(errno));
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) fail(125, "opening the console: %s", strerror(errno));
    if (sync_send(sync_fd, SYNC_PTY, NULL, master) < 0) fail(125, "passing the console: %s", strerror(errno));
    close(master);
    CHECK(ioctl(slave, TIOCSCTTY, 0), "setting the controlling terminal: %s", strerror(errno));
    for (int fd = 0; fd < 3; fd++) CHECK(dup2(slave, fd), "console stdio: %s", strerror(errno));
    if (slave > 2) close(slave);
}

static void setup_stdio(const struct init_stdio *stdio) {
    int fds[3] = {stdio->stdin_fd, stdio->stdout_fd, stdio->stderr_fd};
    for (int target = 0; target < 3; target++) {
        // dup3 never leaves O_CLOEXEC on the copy; fds already in place still need it cleared.
        if (fds[target] == target) fcntl(target, F_SETFD, 0);
        else CHECK(dup2(fds[target], target), "stdio: %s", strerror(errno));
    }
}

// The mount holding `path` (the longest mount point over it in mountinfo), made private in this
// namespace: what is mounted on `path` then stays out of the host's peer group.
static void make_holding_mount_private(const char *path) {
    FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
    if (!mountinfo) fail(125, "reading mountinfo: %s", strerror(errno));
    char line[4096], best[PATH_MAX] = "/";
    size_t best_length = 1;
    while (fgets(line, sizeof line, mountinfo)) {
        char point[PATH_MAX];
        // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT …; octal escapes (\040) only in names Berth never uses.
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1) continue;
        size_t length = strlen(point);
        int over = !strcmp(point, "/") || (!strncmp(path, point, length) && (path[length] == '/' || path[length] == 0));
        if (over && length >= best_length) { memcpy(best, point, length + 1); best_length = length; }
    }
    fclose(mountinfo);
    CHECK(mount(NULL, best, NULL, MS_PRIVATE, NULL), "making %s private: %s", best, strerror(errno));
}

// pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the container's.
static void enter_root(int root_fd) {
    int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (old_root < 0) fail(125, "opening the old root: %s", strerror(errno));
    CHECK(fchdir(root_fd), "entering the root: %s", strerror(errno));
    CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root: %s", strerror(errno));
    // Into the old root, by its descriptor (what "." is after pivot_root is the kernel's choice): it
    // may hold mounts still shared with the host, and as slaves their unmounting stays here.
    CHECK(fchdir(old_root), "entering the old root: %s", strerror(errno));
    close(old_root);
    CHECK(mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL), "making the old root a slave: %s", strerror(errno));
    CHECK(umount2(".", MNT_DETACH), "detaching the old root: %s", strerror(errno));
    CHECK(chdir("/"), "chdir /: %s", strerror(errno));
}

// Hides host information: /dev/null over files, an empty read-only tmpfs over directories.
static void mask_paths(const struct string_list *paths) {
    for (size_t i = 0; i < paths->count; i++) {
        struct stat st;
        if (stat(paths->items[i], &st) < 0) continue;
        int masked = S_ISDIR(st.st_mode)
            ? mount("tmpfs", paths->items[i], "tmpfs", MS_RDONLY, "size=0k")
            : mount("/dev/null", paths->items[i], NULL, MS_BIND, NULL);
        if (masked < 0) fail(125, "masking %s: %s", paths->items[i], strerror(errno));
    }
}

// The container's own /proc/sys, now at /proc: net.ipv4.ip_forward is /proc/sys/net/ipv4/ip_forward.
static void write_sysctls(const struct string_list *settings) {
    for (size_t i = 0; i + 1 < settings->count; i += 2) {
        char path[PATH_MAX];
        int length = snprintf(path, sizeof path, "/proc/sys/%s", settings->items[i]);
        if (length < 0 || (size_t)length >= sizeof path) fail(125, "sysctl %s: name too long", settings->items[i]);
        for (char *c = path + strlen("/proc/sys/"); *c; c++) if (*c == '.') *c = '/';
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) fail(125, "sysctl %s: %s", settings->items[i], strerror(errno));
        const char *value = settings->items[i + 1];
        if (write(fd, value, strlen(value)) < 0) fail(125, "sysctl %s=%s: %s", settings->items[i], value, strerror(errno));
        close(fd);
    }
}

static void readonly_paths(const struct string_list *paths) {
    for (size_t i = 0; i < paths->count; i++) {
        const char *path = paths->items[i];
        if (access(path, F_OK) < 0) continue;
        CHECK(mount(path, path, NULL, MS_BIND | MS_REC, NULL), "binding %s: %s", path, strerror(errno));
        CHECK(mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_flags_to_keep(path), NULL),
              "making %s read-only: %s", path, strerror(errno));
    }
}

static void bring_up_loopback(void) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail(125, "socket: %s", strerror(errno));
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, "lo");
    CHECK(ioctl(sock, SIOCGIFFLAGS, &request), "reading lo: %s", strerror(errno));
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    CHECK(ioctl(sock, SIOCSIFFLAGS, &request), "bringing lo up: %s", strerror(errno));
    close(sock);
}

static const char *lookup_env(const struct launch_spec *spec, const char *name) {
    size_t length = strlen(name);
    for (size_t i = 0; i < spec->env.count; i++)
        if (!strncmp(spec->env.items[i], name, length) && spec->env.items[i][length] == '=')
            return spec->env.items[i] + length + 1;
    return NULL;
}

// Resolves the command as execvp would, with the container's PATH; Docker's exit codes on failure.
static void resolve_command(const struct launch_spec *spec, char *resolved, size_t size) {
    const char *command = spec->args.items[0];
    if (strchr(command, '/')) {
        snprintf(resolved, size, "%s", command);
    } else {
        const char *path = lookup_env(spec, "PATH");
        if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        resolved[0] = '\0';
        for (const char *dir = path; *dir;) {
            const char *end = strchr(dir, ':');
            size_t dir_length = end ? (size_t)(end - dir) : strlen(dir);
            snprintf(resolved, size, "%.*s/%s", (int)dir_length, dir_length ? dir : ".", command);
            struct stat st;
            if (stat(resolved, &st) == 0 && S_ISREG(st.st_mode) && access(resolved, X_OK) == 0) return;
            if (!end) break;
            dir = end + 1;
        }
        fail(127, "exec: \"%s\": executable file not found in $PATH", command);
    }
    struct stat st;
    if (stat(resolved, &st) < 0) {
        if (errno == ENOENT) fail(127, "exec: \"%s\": stat %s: no such file or directory", command, resolved);
        fail(126, "exec: \"%s\": %s", command, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) fail(126, "exec: \"%s\": is a directory", command);
    if (access(resolved, X_OK) < 0) fail(126, "exec: \"%s\": permission denied", command);
}

static void load_seccomp(const struct sock_fprog *filter) {
    if (!filter) return;
    CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter, 0, 0), "loading the seccomp filter: %s", strerror(errno));
}

// Drops to the container's user keeping exactly the spec's capabilities.
static void switch_identity(const struct launch_spec *spec) {
    int last_cap = CAP_LAST_CAP;
    FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (file) { if (fscanf(file, "%d", &last_cap) != 1) last_cap = CAP_LAST_CAP; fclose(file); }
    // The bounding set can only shrink, and only while CAP_SETPCAP is still held.
    for (int cap = 0; cap <= last_cap; cap++)
        if (!(spec->cap_bounding & (1ULL << cap)))
            CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "dropping capability %d: %s", cap, strerror(errno));
    // Keep the permitted set across setuid; capset then sets each set exactly.
    CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keepcaps: %s", strerror(errno));
    CHECK(setgroups(spec->group_count, spec->groups), "setgroups: %s", strerror(errno));
    CHECK(setresgid(spec->gid, spec->gid, spec->gid), "setgid %u: %s", spec->gid, strerror(errno));
    CHECK(setresuid(spec->uid, spec->uid, spec->uid), "setuid %u: %s", spec->uid, strerror(errno));
    CHECK(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "keepcaps: %s", strerror(errno));
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)spec->cap_effective, (uint32_t)spec->cap_permitted, (uint32_t)spec->cap_inheritable},
        {(uint32_t)(spec->cap_effective >> 32), (uint32_t)(spec->cap_permitted >> 32), (uint32_t)(spec->cap_inheritable >> 32)},
    };
    CHECK(syscall(SYS_capset, &header, data), "capset: %s", strerror(errno));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient capabilities: %s", strerror(errno));
    for (int cap = 0; cap <= last_cap; cap++)
        if (spec->cap_ambient & (1ULL << cap))
            CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "raising ambient %d: %s", cap, strerror(errno));
}

static void reset_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // Ignored signals stay ignored across exec; the container starts with every default.
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
}

// --init: this process stays PID 1 (already confined like the command) and the command runs as
// its child (init_reaper.h). Returns only in the child, which goes on to exec.
static void become_reaper(void) {
    pid_t child = fork();
    if (child < 0) fail(125, "fork for --init: %s", strerror(errno));
    if (child == 0) return;
    // The shim learns the command started from the sync socket closing: our copy must go.
    close(sync_fd);
    for (int fd = 0; fd < 3; fd++) close(fd);
    init_reaper_serve(child);
}

// runc CVE-2024-21626: a working directory such as /proc/self/fd/N is whatever that descriptor
// names, perhaps a host directory. Resolved inside the root with no magic links, it cannot leave it.
static void enter_working_directory(const char *cwd) {
    int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) fail(125, "opening the root: %s", strerror(errno));
    int directory = open_in_root(root_fd, cwd, O_PATH | O_DIRECTORY);
    if (directory < 0 && errno == ELOOP) fail(125, WORKDIR_LOOP, cwd);
    if (directory < 0) fail(125, "chdir %s: %s", cwd, strerror(errno));
    CHECK(fchdir(directory), "chdir %s: %s", cwd, strerror(errno));
    close(directory);
    close(root_fd);
}

// Working directory, seccomp, identity, the command's path; then ready, and exec on start.
_Noreturn static void finish_and_exec(const struct launch_spec *spec, const struct sock_fprog *seccomp) {
    enter_working_directory(spec->cwd);
    // Without no_new_privs only a privileged process may load a filter, so load it before dropping.
    if (!spec->no_new_privileges) load_seccomp(seccomp);
    switch_identity(spec);
    if (spec->no_new_privileges) {
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %s", strerror(errno));
        load_seccomp(seccomp);
    }
    char command[4096];
    resolve_command(spec, command, sizeof command);
    if (sync_send(sync_fd, SYNC_READY, NULL, -1) < 0) _exit(125);
    char start[16];
    if (sync_receive(sync_fd, start, sizeof start, NULL) != SYNC_START) _exit(125);
    // Nothing of the shim's may leak into the container; the sync socket closing tells it exec worked.
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    // Started: from here the container outlives its shim, as it outlives berthd.
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (spec->reaper) become_reaper();
    execve(command, (char *const *)spec->args.items, (char *const *)spec->env.items);
    fail(errno == ENOENT ? 127 : 126, "exec: \"%s\": %s", spec->args.items[0], strerror(errno));
}

_Noreturn void container_init(const struct launch_spec *spec, int fd, const struct init_stdio *stdio,
                              const struct sock_fprog *seccomp) {
    sync_fd = fd;
    reset_signals();
    // If berthd gives up on a setup that hangs and ends the shim, nothing of it may stay behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // Until exec nothing in the container may open our /proc files (exe, mem, fds): not dumpable.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // With a user namespace nothing may run before the shim has mapped our ids; otherwise the
    // setup below overlaps the shim placing us in cgroups, and we wait for that before exec.
    int user_namespace = (spec->clone_flags & CLONE_NEWUSER) != 0;
    char go[16];
    int root_mount = -1, mount_point = -1;
    if (user_namespace && (sync_receive(sync_fd, go, sizeof go, &root_mount) != SYNC_ROOT ||
                           sync_receive(sync_fd, go, sizeof go, &mount_point) != SYNC_GO)) _exit(125);
    // A session of our own, so a console can become the controlling terminal.
    CHECK(setsid(), "setsid: %s", strerror(errno));
    if (user_namespace) {
        CHECK(setresgid(0, 0, 0), "becoming root in the user namespace: %s", strerror(errno));
        CHECK(setresuid(0, 0, 0), "becoming root in the user namespace: %s", strerror(errno));
    }
    if (spec->root_propagation == MS_SHARED) {
        // The host's mounts stay peers of ours, so a shared bind carries mounts both ways; the root's
        // own mount and the one holding the rootfs go private, which pivot_root needs and which keeps
        // the root overlay off the host.
        CHECK(mount(NULL, "/", NULL, MS_PRIVATE, NULL), "making / private: %s", strerror(errno));
        make_holding_mount_private(spec->rootfs);
    } else {
        // Nothing mounted from here on may propagate back to the host; a slave root still takes the host's.
        unsigned long propagation = spec->root_propagation ? spec->root_propagation : MS_PRIVATE;
        CHECK(mount(NULL, "/", NULL, MS_REC | propagation, NULL), "setting mount propagation: %s", strerror(errno));
    }
    int root_fd;
    if (user_namespace) {
        if (root_mount < 0 || mount_point < 0) fail(125, "the shim sent no root mount");
        CHECK(detached_mount_attach(root_mount, mount_point), "attaching the root overlay: %s", strerror(errno));
        close(mount_point);
        // The mount's descriptor names its root, which the path no longer reaches from here.
        root_fd = root_mount;
    } else {
        CHECK(mount("overlay", spec->rootfs, "overlay", 0, spec->overlay_options), "mounting the root overlay: %s", strerror(errno));
        root_fd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) fail(125, "opening the root: %s", strerror(errno));
    }
    for (size_t i = 0; i < spec->mount_count; i++) mount_entry(root_fd, &spec->mounts[i]);
    if (spec->create_devices) {
        int dev_fd = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
        create_devices(dev_fd, user_namespace);
        close(dev_fd);
    }
    if (spec->tty) setup_console(root_fd); else setup_stdio(stdio);
    if (make_path_in_root(root_fd, spec->cwd, 0) < 0) {
        if (errno == ELOOP) fail(125, WORKDIR_LOOP, spec->cwd);
        fail(125, "creating the working directory %s: %s", spec->cwd, strerror(errno));
    }
    enter_root(root_fd);
    close(root_fd);
    // runc's order: sysctls while /proc/sys is writable, then read-only paths, then masks over them.
    write_sysctls(&spec->sysctls);
    readonly_paths(&spec->readonly_paths);
    mask_paths(&spec->masked_paths);
    if (spec->readonly_rootfs)
        CHECK(mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_flags_to_keep("/"), NULL),
              "making the root read-only: %s", strerror(errno));
    if ((spec->clone_flags & CLONE_NEWUTS) && spec->hostname)
        CHECK(sethostname(spec->hostname, strlen(spec->hostname)), "sethostname: %s", strerror(errno));
    if (spec->clone_flags & CLONE_NEWNET) bring_up_loopback();
    for (size_t i = 0; i < spec->rlimit_count; i++) {
        struct rlimit limit = {spec->rlimits[i].soft, spec->rlimits[i].hard};
        CHECK(setrlimit(spec->rlimits[i].resource, &limit), "setrlimit %d: %s", spec->rlimits[i].resource, strerror(errno));
    }
    if (!user_namespace && sync_receive(sync_fd, go, sizeof go, NULL) != SYNC_GO) _exit(125);
    // Only now, with the shim's GO, are we in the container's cgroups: the namespace's root is where we are.
    if (spec->private_cgroupns) CHECK(unshare(CLONE_NEWCGROUP), "making the cgroup namespace: %s", strerror(errno));
    finish_and_exec(spec, seccomp);
}

_Noreturn void exec_init(const struct launch_spec *spec, int fd, const struct init_stdio *stdio,
                         const struct sock_fprog *seccomp) {
    sync_fd = fd;
    reset_signals();
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // Before joining the container, whose processes must not open our /proc files until exec.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    char go[16];
    if (sync_receive(sync_fd, go, sizeof go, NULL) != SYNC_GO) _exit(125);
    CHECK(setsid(), "setsid: %s", strerror(errno));
    // The network namespace first, while still the host's root: berthd may have made it, owned by
    // the host's user namespace. Then the user namespace, so the others are entered with its
    // privileges; the mount namespace last, since entering it moves our root and working directory.
    static const char *namespaces[] = {"net", "user", "ipc", "uts", "cgroup", "mnt"};
    int fds[6];
    for (int i = 0; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", spec->join_pid, namespaces[i]);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) fail(125, "opening %s: %s (has the container exited?)", path, strerror(errno));
    }
    for (int i = 0; i < 6; i++) {
        char self[64], target[64];
        snprintf(self, sizeof self, "/proc/self/ns/%s", namespaces[i]);
        struct stat mine, theirs;
        // Entering a namespace we are already in is refused for some (user); skip those.
        if (stat(self, &mine) == 0 && fstat(fds[i], &theirs) == 0 && mine.st_ino == theirs.st_ino) { close(fds[i]); continue; }
        snprintf(target, sizeof target, "%s", namespaces[i]);
        CHECK(setns(fds[i], 0), "entering the %s namespace: %s", target, strerror(errno));
        close(fds[i]);
    }
    int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) fail(125, "opening the root: %s", strerror(errno));
    if (spec->tty) setup_console(root_fd); else setup_stdio(stdio);
    close(root_fd);
    finish_and_exec(spec, seccomp);
}
