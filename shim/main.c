// berth-shim: the parent of one container's init. It creates the container (namespaces through
// clone, setup in container_init.c), owns its stdio, writes its log, serves attach/resize/kill/wait
// on a control socket, records the exit status and keeps running when berthd dies.
//
// Usage: berth-shim SPEC_FILE
// Reports "ready <shim pid> <container pid>" or "error <code> <message>" as one line on stdout, which
// berthd reads from a pipe; the container's process then waits for "start" on the control socket.
#include "container_init.h"
#include "shim.h"
#include "detached_mounts.h"
#include "log_writer.h"
#include "spec.h"
#include "sealed_copy.h"
#include "sync_channel.h"
#include "vm_container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// After init exits, output still buffered in pipes is drained for at most this long.
#define DRAIN_MILLISECONDS 2000

// This process's one shim.
static struct shim shim = {
    .listen_fd = -1, .signal_fd = -1, .sync_fd = -1,
    .output_fds = {-1, -1}, .stdin_fd = -1, .console_fd = -1,
    .agent_fd = -1, .agent_process = VM_PROCESS, .next_relay_process = VM_PROCESS + 1,
};

static void report(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *format, ...) {
    char line[4096];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (length < 0) return;
    if ((size_t)length > sizeof line - 2) length = sizeof line - 2;
    // The message is one line, whatever the error text held.
    for (int i = 0; i < length; i++) if (line[i] == '\n') line[i] = ' ';
    line[length++] = '\n';
    if (write(STDOUT_FILENO, line, (size_t)length) < 0) shim_log("reporting to berthd: %s", strerror(errno));
}

// stderr is berthd's shim.log for this container (runtime directory) from the spawn on, and stays so.
void shim_log(const char *format, ...) {
    char line[1024];
    int prefix = snprintf(line, sizeof line, "berth-shim[%d]: ", getpid());
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line + prefix, sizeof line - (size_t)prefix - 1, format, args);
    va_end(args);
    if (length < 0) return;
    size_t total = (size_t)prefix + ((size_t)length < sizeof line - (size_t)prefix - 1 ? (size_t)length : sizeof line - (size_t)prefix - 2);
    line[total++] = '\n';
    // Nowhere left to say it if this fails.
    if (write(STDERR_FILENO, line, total) < 0) return;
}

_Noreturn void fail_before_ready(struct shim *s, int code, const char *message) {
    report("error %d %s", code, message);
    if (s->container_pid > 0) {
        kill(s->container_pid, SIGKILL);
        waitpid(s->container_pid, NULL, 0);
    }
    if (s->spec.socket_path) unlink(s->spec.socket_path);
    _exit(1);
}

// Temp file, fsync, rename: berthd reads either no status or a complete one, even after a crash.
static void record_exit(struct shim *s) {
    char temp[4096], text[256];
    snprintf(temp, sizeof temp, "%s.tmp", s->spec.exit_path);
    snprintf(text, sizeof text, "%d %lld.%09ld%s%s%s\n", s->exit_code, (long long)s->exited_at.tv_sec, s->exited_at.tv_nsec,
             s->oom_killed ? " oom-killed" : "", s->exit_reason ? " " : "", s->exit_reason ? s->exit_reason : "");
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) { shim_log("recording the exit in %s: %s", temp, strerror(errno)); return; }
    ssize_t written = write(fd, text, strlen(text));
    int synced = fsync(fd);
    close(fd);
    if (written != (ssize_t)strlen(text) || synced < 0) {
        shim_log("recording the exit in %s: %s", temp, strerror(errno));
        unlink(temp);
        return;
    }
    if (rename(temp, s->spec.exit_path) < 0) shim_log("recording the exit in %s: %s", s->spec.exit_path, strerror(errno));
}

static void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) shim_log("making descriptor %d non-blocking: %s", fd, strerror(errno));
}

void mark_exited(struct shim *s, int code) {
    s->exited = 1;
    s->exit_code = code;
    clock_gettime(CLOCK_REALTIME, &s->exited_at);
}

static void reap_children(struct shim *s) {
    struct signalfd_siginfo info;
    while (read(s->signal_fd, &info, sizeof info) == sizeof info) {}
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != s->container_pid) continue;
        s->exited = 1;
        clock_gettime(CLOCK_REALTIME, &s->exited_at);
        s->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

// Output flushed, status recorded, waiters told, attach streams ended; then the shim is done.
_Noreturn static void finish(struct shim *s) {
    // A utility VM ends with its container.
    if (s->spec.vm_socket && agent_send(s->agent_fd, 'q', 0, NULL, 0) < 0) shim_log("asking the VM to power off: %s", strerror(errno));
    log_writer_flush(&s->log_writer);
    record_exit(s);
    char line[64];
    int length = snprintf(line, sizeof line, "exit %d\n", s->exit_code);
    for (size_t i = 0; i < s->client_count; i++) {
        struct client *client = &s->clients[i];
        int flags = fcntl(client->fd, F_GETFL);
        fcntl(client->fd, F_SETFL, flags & ~O_NONBLOCK);
        struct timeval timeout = {2, 0};
        setsockopt(client->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (client->pending_length && send(client->fd, client->pending, client->pending_length, MSG_NOSIGNAL) < 0)
            shim_log("flushing a client's output: %s", strerror(errno));
        if (client->role == CLIENT_WAITER && send(client->fd, line, (size_t)length, MSG_NOSIGNAL) < 0)
            shim_log("telling a waiter the exit: %s", strerror(errno));
        close(client->fd);
    }
    unlink(s->spec.socket_path);
    _exit(0);
}

static long milliseconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

_Noreturn static void serve(struct shim *s) {
    struct pollfd fds[4 + MAX_CLIENTS];
    for (;;) {
        if (s->exited && ((s->output_fds[0] < 0 && s->output_fds[1] < 0) || milliseconds_since(&s->exited_at) >= DRAIN_MILLISECONDS))
            finish(s);
        // Frames a wait for one answer read along with it are handled before the port is watched again.
        if (s->agent_fd >= 0 && s->output_fds[0] == s->agent_fd) {
            handle_agent_frames(s);
            // The exit may have been among them: finish without waiting on the port.
            if (s->output_fds[0] != s->agent_fd) continue;
        }
        nfds_t count = 0;
        fds[count++] = (struct pollfd){s->listen_fd, POLLIN, 0};
        fds[count++] = (struct pollfd){s->signal_fd, POLLIN, 0};
        fds[count++] = (struct pollfd){s->output_fds[0], POLLIN, 0};
        fds[count++] = (struct pollfd){s->output_fds[1], POLLIN, 0};
        if (s->stdin_pending_length && s->stdin_fd >= 0) fds[2].events |= (s->output_fds[0] == s->stdin_fd ? POLLOUT : 0);
        for (size_t i = 0; i < s->client_count; i++) {
            short events = s->stdin_pending_length || s->clients[i].input_closed ? 0 : POLLIN;
            if (s->clients[i].pending_length) events |= POLLOUT;
            fds[count++] = (struct pollfd){s->clients[i].fd, events, 0};
        }
        struct pollfd stdin_poll = {s->stdin_pending_length && s->stdin_fd >= 0 && s->stdin_fd != s->output_fds[0] ? s->stdin_fd : -1, POLLOUT, 0};
        fds[count] = stdin_poll;
        int ready = poll(fds, count + 1, s->exited ? 100 : -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            finish(s);
        }
        if (fds[1].revents) reap_children(s);
        if (s->agent_fd >= 0 && s->output_fds[0] == s->agent_fd && fds[2].revents) read_agent(s);
        else
            for (int stream = 0; stream < 2; stream++)
                if (fds[2 + stream].revents && s->output_fds[stream] >= 0) read_output(s, stream);
        if (s->stdin_pending_length && s->stdin_fd >= 0 && (fds[count].revents || (fds[2].revents & POLLOUT))) flush_stdin(s);
        // Walk clients from the end: removal moves the last client into the freed slot.
        for (size_t slot = s->client_count; slot-- > 0;) {
            struct pollfd *entry = &fds[4 + slot];
            if (slot >= s->client_count || entry->fd != s->clients[slot].fd) continue;
            if ((entry->revents & (POLLHUP | POLLERR)) && s->clients[slot].input_closed) { remove_client(s, slot); continue; }
            if (entry->revents & POLLOUT) flush_client(s, slot);
            if (slot < s->client_count && entry->fd == s->clients[slot].fd && (entry->revents & (POLLIN | POLLHUP | POLLERR)))
                read_client(s, slot);
        }
        if (fds[0].revents) accept_client(s);
    }
}

// A container in a utility VM: the VM is booted; its agent mounts the root and later runs the
// process. The agent's port (for an exec, the relay to it) stands in for the output pipes (and the
// console) in the loop.
_Noreturn static void serve_vm_process(struct shim *s) {
    char error[4096];
    s->agent_fd = s->spec.vm_socket ? vm_prepare(&s->spec, &s->agent_reader, error, sizeof error)
                              : vm_relay_connect(s->spec.vm_relay, &s->agent_process, error, sizeof error);
    if (s->agent_fd < 0) fail_before_ready(s, 125, error);
    if (s->spec.vm_member && vm_prepare_member(s->agent_fd, &s->agent_reader, &s->spec, s->agent_process, error, sizeof error) < 0)
        fail_before_ready(s, 125, error);
    s->output_fds[0] = s->agent_fd;
    if (s->spec.open_stdin) s->stdin_fd = s->agent_fd;
    if (bind_control_socket(s) < 0) {
        snprintf(error, sizeof error, "binding %s: %s", s->spec.socket_path, strerror(errno));
        fail_before_ready(s, 125, error);
    }
    report("ready %d 0", getpid());
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    serve(s);
}

int main(int argc, char **argv) {
    struct shim *s = &shim;
    if (argc != 2) {
        fprintf(stderr, "usage: berth-shim SPEC_FILE\n");
        return 2;
    }
    if (run_from_sealed_copy(argv) < 0) {
        report("error 125 copying the shim into sealed memory: %s", strerror(errno));
        return 1;
    }
    // Whatever the parent left open is not ours to keep (its listening socket would outlive it).
    syscall(SYS_close_range, 3, ~0U, 0);
    // Detach: berthd reaps this first process at once; the shim lives on as an orphan it never waits for.
    pid_t detached = fork();
    if (detached < 0) { report("error 125 fork: %s", strerror(errno)); return 1; }
    // berthd learns the long-lived shim's pid first, so it can end it if setup never finishes.
    if (detached > 0) {
        report("shim %d", detached);
        _exit(0);
    }
    setsid();
    char error[4096];
    if (launch_spec_load(argv[1], &s->spec, error, sizeof error) < 0) fail_before_ready(s, 125, error);
    if (!s->spec.log_path) {
        s->log_writer.fd = -1;
    } else if (log_writer_open(&s->log_writer, s->spec.log_path, s->spec.log_format_cri ? LOG_FORMAT_CRI : LOG_FORMAT_JSON_FILE,
                                      s->spec.log_max_size, s->spec.log_max_files) < 0) {
        snprintf(error, sizeof error, "opening the log %s: %s", s->spec.log_path, strerror(errno));
        fail_before_ready(s, 125, error);
    }
    struct sock_fprog *seccomp = NULL;
    if (s->spec.seccomp_filter && !(seccomp = load_seccomp_filter(s->spec.seccomp_filter))) {
        snprintf(error, sizeof error, "reading the seccomp filter %s", s->spec.seccomp_filter);
        fail_before_ready(s, 125, error);
    }
    // The shim outlives terminals and berthd; only SIGKILL ends it. SIGCHLD arrives on a signalfd.
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    sigset_t child_signals;
    sigemptyset(&child_signals);
    sigaddset(&child_signals, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_signals, NULL);
    s->signal_fd = signalfd(-1, &child_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->signal_fd < 0) fail_before_ready(s, 125, "signalfd: cannot follow the container's init");

    if (s->spec.vm_socket || s->spec.vm_relay) serve_vm_process(s);

    int sync_pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pair) < 0) fail_before_ready(s, 125, "socketpair");
    struct init_stdio stdio = {-1, -1, -1};
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (!s->spec.tty) {
        int out_pipe[2], err_pipe[2], in_pipe[2];
        if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) fail_before_ready(s, 125, "pipe");
        stdio.stdout_fd = out_pipe[1];
        stdio.stderr_fd = err_pipe[1];
        s->output_fds[0] = out_pipe[0];
        s->output_fds[1] = err_pipe[0];
        if (s->spec.open_stdin) {
            if (pipe2(in_pipe, O_CLOEXEC) < 0) fail_before_ready(s, 125, "pipe");
            stdio.stdin_fd = in_pipe[0];
            s->stdin_fd = in_pipe[1];
        } else {
            stdio.stdin_fd = null_fd;
        }
    }

    if (s->spec.join_pid) {
        // An exec: its process must be born in the container's pid namespace.
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/pid", s->spec.join_pid);
        int pid_namespace = open(path, O_RDONLY | O_CLOEXEC);
        if (pid_namespace < 0 || setns(pid_namespace, CLONE_NEWPID) < 0) {
            snprintf(error, sizeof error, "entering the container's pid namespace: %s (has it exited?)", strerror(errno));
            fail_before_ready(s, 125, error);
        }
        close(pid_namespace);
    }
    if (!s->spec.join_pid && s->spec.network_namespace) {
        // Joined before the clone, so init starts in it; a new user namespace made by the clone
        // still uses it, its owner being the host's root.
        int network = open(s->spec.network_namespace, O_RDONLY | O_CLOEXEC);
        if (network < 0 || setns(network, CLONE_NEWNET) < 0) {
            snprintf(error, sizeof error, "joining the network namespace %s: %s", s->spec.network_namespace, strerror(errno));
            fail_before_ready(s, 125, error);
        }
        close(network);
    }
    // Another container's ipc, uts or pid namespace (a pod's): entered before the clone like the
    // network's, so init is born in them. A pid namespace entered this way holds our children only.
    for (size_t i = 0; !s->spec.join_pid && i < s->spec.joined_namespace_count; i++) {
        const struct joined_namespace *joined = &s->spec.joined_namespaces[i];
        int namespace_fd = open(joined->path, O_RDONLY | O_CLOEXEC);
        if (namespace_fd < 0 || setns(namespace_fd, joined->type) < 0) {
            snprintf(error, sizeof error, "joining the namespace %s: %s (has its container exited?)", joined->path, strerror(errno));
            fail_before_ready(s, 125, error);
        }
        close(namespace_fd);
    }
    if (!s->spec.join_pid && (s->spec.clone_flags & CLONE_NEWUSER) && launch_spec_detach_bind_sources(&s->spec, error, sizeof error) < 0)
        fail_before_ready(s, 125, error);
    s->container_pid = (pid_t)syscall(SYS_clone, (unsigned long)(s->spec.join_pid ? 0 : s->spec.clone_flags) | SIGCHLD, NULL, NULL, NULL, NULL);
    if (s->container_pid < 0) {
        snprintf(error, sizeof error, "creating namespaces: %s", strerror(errno));
        fail_before_ready(s, 125, error);
    }
    if (s->container_pid == 0) {
        close(sync_pair[0]);
        if (s->spec.join_pid) exec_init(&s->spec, sync_pair[1], &stdio, seccomp);
        container_init(&s->spec, sync_pair[1], &stdio, seccomp);
    }
    close(sync_pair[1]);
    s->sync_fd = sync_pair[0];
    // Held only for init's setup; the shim lives on and must not pin those directories.
    for (size_t i = 0; i < s->spec.mount_count; i++) if (s->spec.mounts[i].source_fd >= 0) close(s->spec.mounts[i].source_fd);
    if (!s->spec.tty) {
        close(stdio.stdout_fd);
        close(stdio.stderr_fd);
        if (stdio.stdin_fd != null_fd) close(stdio.stdin_fd);
    }

    int mount_point = -1;
    if (!s->spec.join_pid && (s->spec.clone_flags & CLONE_NEWUSER)) {
        if (s->spec.uid_map) write_id_map(s, s->container_pid, "uid_map", s->spec.uid_map);
        if (s->spec.gid_map) write_id_map(s, s->container_pid, "gid_map", s->spec.gid_map);
        // Only the host's root may idmap the layers, and only it can still reach the mount point,
        // here through init's own mount namespace.
        int root_mount = detached_root_create(s->container_pid, &s->spec, error, sizeof error);
        if (root_mount < 0) fail_before_ready(s, 125, error);
        char path[4200];
        snprintf(path, sizeof path, "/proc/%d/root%s", s->container_pid, s->spec.rootfs);
        mount_point = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mount_point < 0) fail_before_ready(s, 125, "opening the root's mount point in the container's namespace");
        sync_send(s->sync_fd, SYNC_ROOT, NULL, root_mount);
        close(root_mount);
    }
    join_cgroups(s, s->container_pid);
    if (!s->spec.join_pid && s->spec.oom_score_adj_set) set_oom_score_adj(s, s->container_pid, s->spec.oom_score_adj);
    // If init has died already, the message loop below reads why.
    sync_send(s->sync_fd, SYNC_GO, NULL, mount_point);
    if (mount_point >= 0) close(mount_point);
    for (;;) {
        int passed_fd;
        int kind = sync_receive(s->sync_fd, error, sizeof error, &passed_fd);
        if (kind == SYNC_PTY) {
            s->console_fd = passed_fd;
            // Sized before the process runs: a client's first resize comes only after the start.
            struct winsize size = {.ws_row = (unsigned short)s->spec.console_rows, .ws_col = (unsigned short)s->spec.console_columns};
            if (s->spec.console_rows && ioctl(s->console_fd, TIOCSWINSZ, &size) < 0) shim_log("sizing the console: %s", strerror(errno));
            s->output_fds[0] = s->console_fd;
            if (s->spec.open_stdin) s->stdin_fd = s->console_fd;
            continue;
        }
        if (kind == SYNC_READY) break;
        if (kind == SYNC_ERROR) {
            char *message = strchr(error, ' ');
            int code = atoi(error);
            fail_before_ready(s, code ? code : 125, message ? message + 1 : error);
        }
        fail_before_ready(s, 125, "the container's init died during setup");
    }
    for (int i = 0; i < 2; i++) if (s->output_fds[i] >= 0) set_nonblocking(s->output_fds[i]);
    if (s->stdin_fd >= 0) set_nonblocking(s->stdin_fd);
    if (bind_control_socket(s) < 0) {
        snprintf(error, sizeof error, "binding %s: %s", s->spec.socket_path, strerror(errno));
        fail_before_ready(s, 125, error);
    }
    report("ready %d %d", getpid(), s->container_pid);
    // berthd has its answer; from here on nothing of the shim's goes to its pipe or terminal.
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    serve(s);
}
