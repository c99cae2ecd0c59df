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
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <time.h>
#include <linux/fs.h>
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

// Sets an interface up through an AF_INET socket; 0, or -1 with errno.
static inline int agent_interface_up(int sock, const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
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
        strncpy(request.ifr_name, entry->if_name, IFNAMSIZ - 1);
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
        strncpy(request.ifr_name, entry->if_name, IFNAMSIZ - 1);
        if (ioctl(sock, SIOCGIFHWADDR, &request) == 0 && !memcmp(request.ifr_hwaddr.sa_data, wanted, 6)) {
            strncpy(found, entry->if_name, IFNAMSIZ - 1);
            break;
        }
    }
    if (names) if_freenameindex(names);
    int result = -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, found, IFNAMSIZ - 1);
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
