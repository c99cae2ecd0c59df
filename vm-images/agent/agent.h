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
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static inline int agent_errno(void) { return errno; }
static inline int agent_exited(int status) { return WIFEXITED(status); }
static inline int agent_exit_status(int status) { return WEXITSTATUS(status); }
static inline int agent_signaled(int status) { return WIFSIGNALED(status); }
static inline int agent_term_signal(int status) { return WTERMSIG(status); }

static inline int agent_open(const char *path, int flags) { return open(path, flags | O_CLOEXEC); }

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

// A new pty: returns the master and stores the slave's descriptor.
static inline int agent_open_pty(int *slave) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) { close(master); return -1; }
    *slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (*slave < 0) { close(master); return -1; }
    return master;
}

static inline int agent_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int agent_set_nonblocking(int fd) { return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
static inline int agent_is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}
static inline const char *agent_dirent_name(struct dirent *entry) { return entry->d_name; }
static inline int agent_power_off(void) { return reboot(RB_POWER_OFF); }
static inline int agent_load_module(int fd) { return (int)syscall(SYS_finit_module, fd, "", 0); }
