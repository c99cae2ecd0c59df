// berth-shim: the parent of one container's init. It creates the container (namespaces through
// clone, setup in container_init.c), owns its stdio, writes its log, serves attach/resize/kill/wait
// on a control socket, records the exit status and keeps running when berthd dies.
//
// Usage: berth-shim SPEC_FILE
// Reports "ready <shim pid> <container pid>" or "error <code> <message>" as one line on stdout, which
// berthd reads from a pipe; the container's process then waits for "start" on the control socket.
#include "container_init.h"
#include "detached_mounts.h"
#include "log_writer.h"
#include "spec.h"
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

#define MAX_CLIENTS 128
// A client that falls this far behind is dropped rather than stalling the container or the shim.
#define MAX_PENDING (8u << 20)
// After init exits, output still buffered in pipes is drained for at most this long.
#define DRAIN_MILLISECONDS 2000

enum client_role { CLIENT_COMMAND, CLIENT_ATTACH, CLIENT_WAITER, CLIENT_RELAY };

struct client {
    int fd;
    enum client_role role;
    char line[512];
    size_t line_length;
    int wants_stdout, wants_stderr, wants_stdin;
    int input_closed; // an attach client that half-closed still receives output
    char *pending;
    size_t pending_length;
    // An exec's shim: frames for its agent process number pass both ways.
    struct agent_reader relay_reader;
    uint32_t relay_process;
};

static struct launch_spec spec;
static struct log_writer log_writer;
static struct client clients[MAX_CLIENTS];
static size_t client_count;
static int listen_fd = -1, signal_fd = -1, sync_fd = -1;
static int output_fds[2] = {-1, -1}; // stdout and stderr readers; with a tty, the console master is [0]
static int stdin_fd = -1;            // where attached input goes: a pipe, or the console master
static int console_fd = -1;
static char *stdin_pending;
static size_t stdin_pending_length;
// In a utility VM the agent's port carries output, input, signals and the exit (vm_container.c).
// The container's shim owns the port; an exec's shim reaches it through a relay.
static int agent_fd = -1;
static struct agent_reader agent_reader;
static uint32_t agent_process = VM_PROCESS, next_relay_process = VM_PROCESS + 1;
// Why the container ended when it was not its own doing; recorded with the exit.
static const char *exit_reason;
static pid_t container_pid;
static int started, exited, exit_code;
static struct timespec exited_at;

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
    if (write(STDOUT_FILENO, line, (size_t)length) < 0) {}
}

_Noreturn static void fail_before_ready(int code, const char *message) {
    report("error %d %s", code, message);
    if (container_pid > 0) {
        kill(container_pid, SIGKILL);
        waitpid(container_pid, NULL, 0);
    }
    if (spec.socket_path) unlink(spec.socket_path);
    _exit(1);
}

// Temp file, fsync, rename: berthd reads either no status or a complete one, even after a crash.
static void record_exit(void) {
    char temp[4096], text[256];
    snprintf(temp, sizeof temp, "%s.tmp", spec.exit_path);
    snprintf(text, sizeof text, "%d %lld.%09ld%s%s\n", exit_code, (long long)exited_at.tv_sec, exited_at.tv_nsec,
             exit_reason ? " " : "", exit_reason ? exit_reason : "");
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ssize_t written = write(fd, text, strlen(text));
    fsync(fd);
    close(fd);
    if (written == (ssize_t)strlen(text)) rename(temp, spec.exit_path);
}

static void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void remove_client(size_t index);

static void close_container_stdin(void) {
    if (stdin_fd < 0) return;
    if (agent_fd >= 0) {
        if (agent_send(agent_fd, 'c', agent_process, NULL, 0) < 0) {}
    } else if (spec.tty) {
        // A console has no end of file; ^D ends input for a program in canonical mode.
        if (write(stdin_fd, "\x04", 1) < 0) {}
    } else {
        close(stdin_fd);
    }
    stdin_fd = -1;
}

// Sends now what the socket takes, queues the rest; a client too far behind is dropped.
static int client_send(struct client *client, const char *bytes, size_t length) {
    if (!client->pending_length) {
        ssize_t sent = send(client->fd, bytes, length, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (sent > 0) { bytes += sent; length -= (size_t)sent; }
    }
    if (!length) return 0;
    if (client->pending_length + length > MAX_PENDING) return -1;
    char *grown = realloc(client->pending, client->pending_length + length);
    if (!grown) return -1;
    memcpy(grown + client->pending_length, bytes, length);
    client->pending = grown;
    client->pending_length += length;
    return 0;
}

static void reply(size_t index, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void reply(size_t index, const char *format, ...) {
    char line[4096];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (length > 0 && client_send(&clients[index], line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1) < 0)
        remove_client(index);
}

static void remove_client(size_t index) {
    struct client *client = &clients[index];
    // An exec whose shim went away has no one to report to.
    if (client->role == CLIENT_RELAY && !exited && vm_signal(agent_fd, client->relay_process, SIGKILL) < 0) {}
    close(client->fd);
    free(client->pending);
    free(client->relay_reader.buffer);
    clients[index] = clients[--client_count];
}

// Docker's stream framing: [stream, 0, 0, 0, size (big endian)] then the bytes; raw with a tty.
static void broadcast_output(int stream, const char *bytes, size_t length) {
    char header[8] = {(char)(stream + 1), 0, 0, 0,
                      (char)(length >> 24), (char)(length >> 16), (char)(length >> 8), (char)length};
    for (size_t i = client_count; i-- > 0;) {
        struct client *client = &clients[i];
        if (client->role != CLIENT_ATTACH) continue;
        if (!(stream == 0 ? client->wants_stdout : client->wants_stderr)) continue;
        int failed = (!spec.tty && client_send(client, header, sizeof header) < 0) || client_send(client, bytes, length) < 0;
        if (failed) remove_client(i);
    }
}

static void mark_exited(int code) {
    exited = 1;
    exit_code = code;
    clock_gettime(CLOCK_REALTIME, &exited_at);
}

static void start_container(size_t index) {
    if (started) { reply(index, "error 125 container already started\n"); return; }
    started = 1;
    if (agent_fd >= 0) {
        char error[2048];
        int code = vm_run(agent_fd, &agent_reader, &spec, agent_process, &container_pid, error, sizeof error);
        if (code) {
            // As for a native container, a failed exec is the container's exit.
            mark_exited(code);
            output_fds[0] = -1;
            reply(index, "error %d %s\n", code, error);
        } else {
            reply(index, "ok %d\n", container_pid);
        }
        return;
    }
    if (sync_send(sync_fd, SYNC_START, NULL, -1) < 0) { reply(index, "error 125 the container's init is gone\n"); return; }
    char text[2048];
    // The sync socket closes on a successful exec; an error arrives as a message.
    int kind = sync_receive(sync_fd, text, sizeof text, NULL);
    close(sync_fd);
    sync_fd = -1;
    if (kind == SYNC_ERROR) reply(index, "error %s\n", text);
    else reply(index, "ok %d\n", container_pid);
}

static void handle_command(size_t index, char *line) {
    struct client *client = &clients[index];
    int a, b;
    char streams[8];
    if (!strcmp(line, "start")) {
        start_container(index);
    } else if (!strcmp(line, "wait")) {
        client->role = CLIENT_WAITER;
    } else if (!strcmp(line, "state")) {
        if (exited) reply(index, "exited %d\n", exit_code);
        else reply(index, "%s %d\n", started ? "running" : "created", container_pid);
    } else if (sscanf(line, "kill %d", &a) == 1) {
        int failed = exited || (agent_fd >= 0 ? vm_signal(agent_fd, agent_process, a) : kill(container_pid, a)) < 0;
        if (failed) reply(index, "error 1 %s\n", exited ? "container exited" : strerror(errno));
        else reply(index, "ok\n");
    } else if (sscanf(line, "resize %d %d", &a, &b) == 2) {
        struct winsize size = {.ws_row = (unsigned short)a, .ws_col = (unsigned short)b};
        if (!spec.tty) reply(index, "error 1 the container has no tty\n");
        else if (agent_fd >= 0) reply(index, vm_resize(agent_fd, agent_process, a, b) < 0 ? "error 1 the VM's agent is gone\n" : "ok\n");
        else if (console_fd < 0) reply(index, "error 1 the container has no tty\n");
        else if (ioctl(console_fd, TIOCSWINSZ, &size) < 0) reply(index, "error 1 %s\n", strerror(errno));
        else reply(index, "ok\n");
    } else if (sscanf(line, "attach %7s", streams) == 1) {
        client->role = CLIENT_ATTACH;
        client->wants_stdout = strchr(streams, 'o') != NULL;
        client->wants_stderr = strchr(streams, 'e') != NULL;
        client->wants_stdin = strchr(streams, 'i') != NULL && stdin_fd >= 0;
        reply(index, "ok\n");
    } else if (!strcmp(line, "relay")) {
        if (!spec.vm_socket) reply(index, "error 1 the container does not run in a utility VM\n");
        else if (exited) reply(index, "error 1 the container exited\n");
        else {
            client->role = CLIENT_RELAY;
            client->relay_process = next_relay_process++;
            reply(index, "ok %u\n", client->relay_process);
        }
    } else if (!strcmp(line, "close-stdin")) {
        close_container_stdin();
        reply(index, "ok\n");
    } else {
        reply(index, "error 1 unknown command\n");
    }
}

static void queue_stdin(const char *bytes, size_t length) {
    if (stdin_fd < 0) return;
    if (agent_fd >= 0) {
        if (agent_send(agent_fd, 'i', agent_process, bytes, length) < 0) stdin_fd = -1;
        return;
    }
    if (!stdin_pending_length) {
        ssize_t written = write(stdin_fd, bytes, length);
        if (written < 0 && errno != EAGAIN && errno != EINTR) { close_container_stdin(); return; }
        if (written > 0) { bytes += written; length -= (size_t)written; }
    }
    if (!length) return;
    char *grown = realloc(stdin_pending, stdin_pending_length + length);
    if (!grown) return;
    memcpy(grown + stdin_pending_length, bytes, length);
    stdin_pending = grown;
    stdin_pending_length += length;
}

// An exec's frames go on to the agent, under its own process number only.
static void relay_to_agent(size_t index) {
    struct client *client = &clients[index];
    int status = agent_read(client->fd, &client->relay_reader);
    struct agent_frame frame;
    while (agent_next_frame(&client->relay_reader, &frame))
        if (frame.process == client->relay_process && strchr("rickz", frame.kind) &&
            agent_send(agent_fd, frame.kind, frame.process, frame.payload, frame.length) < 0) {}
    if (status <= 0) remove_client(index);
}

static void relay_to_exec(const struct agent_frame *frame) {
    for (size_t i = 0; i < client_count; i++) {
        struct client *client = &clients[i];
        if (client->role != CLIENT_RELAY || client->relay_process != frame->process) continue;
        char header[AGENT_HEADER_SIZE];
        agent_frame_header(header, frame->kind, frame->process, frame->length);
        if (client_send(client, header, sizeof header) < 0 || client_send(client, frame->payload, frame->length) < 0) remove_client(i);
        return;
    }
}

static void read_client(size_t index) {
    struct client *client = &clients[index];
    if (client->role == CLIENT_RELAY) { relay_to_agent(index); return; }
    char buffer[65536];
    ssize_t n = recv(client->fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // An attach client's end of input is not the container's: a detaching client ends it too.
    // Whoever ends the container's stdin says so with close-stdin.
    if (n == 0 && client->role == CLIENT_ATTACH) {
        client->input_closed = 1;
        client->wants_stdin = 0;
        return;
    }
    if (n <= 0) { remove_client(index); return; }
    if (client->role == CLIENT_ATTACH) {
        if (client->wants_stdin) queue_stdin(buffer, (size_t)n);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buffer[i] == '\n') {
            client->line[client->line_length] = '\0';
            client->line_length = 0;
            handle_command(index, client->line);
            // The command may have removed the client, or turned it into an attach stream.
            if (index >= client_count || clients[index].fd != client->fd) return;
            if (client->role == CLIENT_ATTACH && i + 1 < n) {
                if (client->wants_stdin) queue_stdin(buffer + i + 1, (size_t)(n - i - 1));
                return;
            }
        } else if (client->line_length < sizeof client->line - 1) {
            client->line[client->line_length++] = buffer[i];
        }
    }
}

static void accept_client(void) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (client_count == MAX_CLIENTS) { close(fd); return; }
    memset(&clients[client_count], 0, sizeof clients[0]);
    clients[client_count].fd = fd;
    clients[client_count].role = CLIENT_COMMAND;
    client_count++;
}

static void read_output(int stream) {
    char buffer[65536];
    ssize_t n = read(output_fds[stream], buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        // EOF on a pipe, EIO on a console whose last slave closed.
        if (output_fds[stream] != console_fd) close(output_fds[stream]);
        output_fds[stream] = -1;
        return;
    }
    log_writer_append(&log_writer, stream, buffer, (size_t)n);
    broadcast_output(stream, buffer, (size_t)n);
}

// Output and the exit from the VM's agent; all output comes before the exit, so the exit ends it.
static void read_agent(void) {
    int status = agent_read(agent_fd, &agent_reader);
    struct agent_frame frame;
    while (agent_next_frame(&agent_reader, &frame)) {
        if (frame.process != agent_process) {
            if (spec.vm_socket) relay_to_exec(&frame);
            continue;
        }
        if (frame.kind == 'o' || frame.kind == 'e') {
            int stream = frame.kind == 'o' ? 0 : 1;
            log_writer_append(&log_writer, stream, frame.payload, frame.length);
            broadcast_output(stream, frame.payload, frame.length);
        } else if (frame.kind == 'x') {
            char text[16];
            size_t length = frame.length < sizeof text - 1 ? frame.length : sizeof text - 1;
            memcpy(text, frame.payload, length);
            text[length] = '\0';
            mark_exited(atoi(text));
            output_fds[0] = -1;
        }
    }
    // The VM died (killed, crashed, powered off) with the process still running.
    if (status <= 0 && !exited) {
        mark_exited(137);
        exit_reason = "the utility VM stopped while the container ran";
        output_fds[0] = -1;
    }
}

static void reap_children(void) {
    struct signalfd_siginfo info;
    while (read(signal_fd, &info, sizeof info) == sizeof info) {}
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != container_pid) continue;
        exited = 1;
        clock_gettime(CLOCK_REALTIME, &exited_at);
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

// Output flushed, status recorded, waiters told, attach streams ended; then the shim is done.
_Noreturn static void finish(void) {
    // A utility VM ends with its container.
    if (spec.vm_socket && agent_send(agent_fd, 'q', 0, NULL, 0) < 0) {}
    log_writer_flush(&log_writer);
    record_exit();
    char line[64];
    int length = snprintf(line, sizeof line, "exit %d\n", exit_code);
    for (size_t i = 0; i < client_count; i++) {
        struct client *client = &clients[i];
        int flags = fcntl(client->fd, F_GETFL);
        fcntl(client->fd, F_SETFL, flags & ~O_NONBLOCK);
        struct timeval timeout = {2, 0};
        setsockopt(client->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (client->pending_length && send(client->fd, client->pending, client->pending_length, MSG_NOSIGNAL) < 0) {}
        if (client->role == CLIENT_WAITER && send(client->fd, line, (size_t)length, MSG_NOSIGNAL) < 0) {}
        close(client->fd);
    }
    unlink(spec.socket_path);
    _exit(0);
}

static void flush_client(size_t index) {
    struct client *client = &clients[index];
    ssize_t sent = send(client->fd, client->pending, client->pending_length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno != EAGAIN && errno != EINTR) { remove_client(index); return; }
    if (sent > 0) {
        memmove(client->pending, client->pending + sent, client->pending_length - (size_t)sent);
        client->pending_length -= (size_t)sent;
    }
}

static void flush_stdin(void) {
    ssize_t written = write(stdin_fd, stdin_pending, stdin_pending_length);
    if (written < 0 && errno != EAGAIN && errno != EINTR) { stdin_pending_length = 0; close_container_stdin(); return; }
    if (written > 0) {
        memmove(stdin_pending, stdin_pending + written, stdin_pending_length - (size_t)written);
        stdin_pending_length -= (size_t)written;
    }
}

static long milliseconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

_Noreturn static void serve(void) {
    struct pollfd fds[4 + MAX_CLIENTS];
    for (;;) {
        if (exited && ((output_fds[0] < 0 && output_fds[1] < 0) || milliseconds_since(&exited_at) >= DRAIN_MILLISECONDS))
            finish();
        nfds_t count = 0;
        fds[count++] = (struct pollfd){listen_fd, POLLIN, 0};
        fds[count++] = (struct pollfd){signal_fd, POLLIN, 0};
        fds[count++] = (struct pollfd){output_fds[0], POLLIN, 0};
        fds[count++] = (struct pollfd){output_fds[1], POLLIN, 0};
        if (stdin_pending_length && stdin_fd >= 0) fds[2].events |= (output_fds[0] == stdin_fd ? POLLOUT : 0);
        for (size_t i = 0; i < client_count; i++) {
            short events = stdin_pending_length || clients[i].input_closed ? 0 : POLLIN;
            if (clients[i].pending_length) events |= POLLOUT;
            fds[count++] = (struct pollfd){clients[i].fd, events, 0};
        }
        struct pollfd stdin_poll = {stdin_pending_length && stdin_fd >= 0 && stdin_fd != output_fds[0] ? stdin_fd : -1, POLLOUT, 0};
        fds[count] = stdin_poll;
        int ready = poll(fds, count + 1, exited ? 100 : -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            finish();
        }
        if (fds[1].revents) reap_children();
        if (agent_fd >= 0 && output_fds[0] == agent_fd && fds[2].revents) read_agent();
        else
            for (int stream = 0; stream < 2; stream++)
                if (fds[2 + stream].revents && output_fds[stream] >= 0) read_output(stream);
        if (stdin_pending_length && stdin_fd >= 0 && (fds[count].revents || (fds[2].revents & POLLOUT))) flush_stdin();
        // Walk clients from the end: removal moves the last client into the freed slot.
        for (size_t slot = client_count; slot-- > 0;) {
            struct pollfd *entry = &fds[4 + slot];
            if (slot >= client_count || entry->fd != clients[slot].fd) continue;
            if ((entry->revents & (POLLHUP | POLLERR)) && clients[slot].input_closed) { remove_client(slot); continue; }
            if (entry->revents & POLLOUT) flush_client(slot);
            if (slot < client_count && entry->fd == clients[slot].fd && (entry->revents & (POLLIN | POLLHUP | POLLERR)))
                read_client(slot);
        }
        if (fds[0].revents) accept_client();
    }
}

static int bind_control_socket(void) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(spec.socket_path) >= sizeof address.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(address.sun_path, spec.socket_path);
    unlink(spec.socket_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0) return -1;
    mode_t old_mask = umask(0077);
    int bound = bind(listen_fd, (struct sockaddr *)&address, sizeof address);
    umask(old_mask);
    if (bound < 0 || listen(listen_fd, 64) < 0) return -1;
    return 0;
}

static struct sock_fprog *load_seccomp_filter(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    struct sock_fprog *program = calloc(1, sizeof *program);
    if (fstat(fd, &st) < 0 || !program || st.st_size == 0 || st.st_size % sizeof(struct sock_filter) ||
        st.st_size > 65536 * (off_t)sizeof(struct sock_filter)) {
        close(fd);
        return NULL;
    }
    program->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
    program->filter = malloc((size_t)st.st_size);
    if (!program->filter || read(fd, program->filter, (size_t)st.st_size) != st.st_size) { close(fd); return NULL; }
    close(fd);
    return program;
}

static void write_id_map(pid_t pid, const char *file, const char *map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) < 0) {
        char message[256];
        snprintf(message, sizeof message, "writing %s: %s", file, strerror(errno));
        fail_before_ready(125, message);
    }
    close(fd);
}

// Written from here: init, once root of its own user namespace, is not the owner of its /proc files.
static void set_oom_score_adj(pid_t pid, int value) {
    char path[64], text[16];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
    int length = snprintf(text, sizeof text, "%d", value);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, (size_t)length) != length) {
        char message[128];
        snprintf(message, sizeof message, "setting oom_score_adj: %s", strerror(errno));
        fail_before_ready(125, message);
    }
    close(fd);
}

static void join_cgroups(pid_t pid) {
    char text[32];
    int length = snprintf(text, sizeof text, "%d", pid);
    for (size_t i = 0; i < spec.cgroup_procs.count; i++) {
        int fd = open(spec.cgroup_procs.items[i], O_WRONLY | O_CLOEXEC);
        int written = fd >= 0 ? (int)write(fd, text, (size_t)length) : -1;
        int saved = errno;
        if (fd >= 0) close(fd);
        if (written >= 0) continue;
        // An init that already failed its setup is gone; its own report says why.
        if (saved == ESRCH) return;
        char message[4200];
        snprintf(message, sizeof message, "joining cgroup %s: %s", spec.cgroup_procs.items[i], strerror(saved));
        fail_before_ready(125, message);
    }
}

// A container in a utility VM: the VM is booted; its agent mounts the root and later runs the
// process. The agent's port (for an exec, the relay to it) stands in for the output pipes (and the
// console) in the loop.
_Noreturn static void serve_vm_process(void) {
    char error[4096];
    agent_fd = spec.vm_socket ? vm_prepare(&spec, &agent_reader, error, sizeof error)
                              : vm_relay_connect(spec.vm_relay, &agent_process, error, sizeof error);
    if (agent_fd < 0) fail_before_ready(125, error);
    output_fds[0] = agent_fd;
    if (spec.open_stdin) stdin_fd = agent_fd;
    if (bind_control_socket() < 0) {
        snprintf(error, sizeof error, "binding %s: %s", spec.socket_path, strerror(errno));
        fail_before_ready(125, error);
    }
    report("ready %d 0", getpid());
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    serve();
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: berth-shim SPEC_FILE\n");
        return 2;
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
    if (launch_spec_load(argv[1], &spec, error, sizeof error) < 0) fail_before_ready(125, error);
    if (!spec.log_path) {
        log_writer.fd = -1;
    } else if (log_writer_open(&log_writer, spec.log_path, spec.log_max_size, spec.log_max_files) < 0) {
        snprintf(error, sizeof error, "opening the log %s: %s", spec.log_path, strerror(errno));
        fail_before_ready(125, error);
    }
    struct sock_fprog *seccomp = NULL;
    if (spec.seccomp_filter && !(seccomp = load_seccomp_filter(spec.seccomp_filter))) {
        snprintf(error, sizeof error, "reading the seccomp filter %s", spec.seccomp_filter);
        fail_before_ready(125, error);
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
    signal_fd = signalfd(-1, &child_signals, SFD_CLOEXEC | SFD_NONBLOCK);

    if (spec.vm_socket || spec.vm_relay) serve_vm_process();

    int sync_pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pair) < 0) fail_before_ready(125, "socketpair");
    struct init_stdio stdio = {-1, -1, -1};
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (!spec.tty) {
        int out_pipe[2], err_pipe[2], in_pipe[2];
        if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) fail_before_ready(125, "pipe");
        stdio.stdout_fd = out_pipe[1];
        stdio.stderr_fd = err_pipe[1];
        output_fds[0] = out_pipe[0];
        output_fds[1] = err_pipe[0];
        if (spec.open_stdin) {
            if (pipe2(in_pipe, O_CLOEXEC) < 0) fail_before_ready(125, "pipe");
            stdio.stdin_fd = in_pipe[0];
            stdin_fd = in_pipe[1];
        } else {
            stdio.stdin_fd = null_fd;
        }
    }

    if (spec.join_pid) {
        // An exec: its process must be born in the container's pid namespace.
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/pid", spec.join_pid);
        int pid_namespace = open(path, O_RDONLY | O_CLOEXEC);
        if (pid_namespace < 0 || setns(pid_namespace, CLONE_NEWPID) < 0) {
            snprintf(error, sizeof error, "entering the container's pid namespace: %s (has it exited?)", strerror(errno));
            fail_before_ready(125, error);
        }
        close(pid_namespace);
    }
    if (!spec.join_pid && spec.network_namespace) {
        // Joined before the clone, so init starts in it; a new user namespace made by the clone
        // still uses it, its owner being the host's root.
        int network = open(spec.network_namespace, O_RDONLY | O_CLOEXEC);
        if (network < 0 || setns(network, CLONE_NEWNET) < 0) {
            snprintf(error, sizeof error, "joining the network namespace %s: %s", spec.network_namespace, strerror(errno));
            fail_before_ready(125, error);
        }
        close(network);
    }
    if (!spec.join_pid && (spec.clone_flags & CLONE_NEWUSER) && launch_spec_detach_bind_sources(&spec, error, sizeof error) < 0)
        fail_before_ready(125, error);
    container_pid = (pid_t)syscall(SYS_clone, (unsigned long)(spec.join_pid ? 0 : spec.clone_flags) | SIGCHLD, NULL, NULL, NULL, NULL);
    if (container_pid < 0) {
        snprintf(error, sizeof error, "creating namespaces: %s", strerror(errno));
        fail_before_ready(125, error);
    }
    if (container_pid == 0) {
        close(sync_pair[0]);
        if (spec.join_pid) exec_init(&spec, sync_pair[1], &stdio, seccomp);
        container_init(&spec, sync_pair[1], &stdio, seccomp);
    }
    close(sync_pair[1]);
    sync_fd = sync_pair[0];
    // Held only for init's setup; the shim lives on and must not pin those directories.
    for (size_t i = 0; i < spec.mount_count; i++) if (spec.mounts[i].source_fd >= 0) close(spec.mounts[i].source_fd);
    if (!spec.tty) {
        close(stdio.stdout_fd);
        close(stdio.stderr_fd);
        if (stdio.stdin_fd != null_fd) close(stdio.stdin_fd);
    }

    int mount_point = -1;
    if (!spec.join_pid && (spec.clone_flags & CLONE_NEWUSER)) {
        if (spec.uid_map) write_id_map(container_pid, "uid_map", spec.uid_map);
        if (spec.gid_map) write_id_map(container_pid, "gid_map", spec.gid_map);
        // Only the host's root may idmap the layers, and only it can still reach the mount point,
        // here through init's own mount namespace.
        int root_mount = detached_root_create(container_pid, &spec, error, sizeof error);
        if (root_mount < 0) fail_before_ready(125, error);
        char path[4200];
        snprintf(path, sizeof path, "/proc/%d/root%s", container_pid, spec.rootfs);
        mount_point = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mount_point < 0) fail_before_ready(125, "opening the root's mount point in the container's namespace");
        sync_send(sync_fd, SYNC_ROOT, NULL, root_mount);
        close(root_mount);
    }
    join_cgroups(container_pid);
    if (!spec.join_pid && spec.oom_score_adj_set) set_oom_score_adj(container_pid, spec.oom_score_adj);
    // If init has died already, the message loop below reads why.
    sync_send(sync_fd, SYNC_GO, NULL, mount_point);
    if (mount_point >= 0) close(mount_point);
    for (;;) {
        int passed_fd;
        int kind = sync_receive(sync_fd, error, sizeof error, &passed_fd);
        if (kind == SYNC_PTY) {
            console_fd = passed_fd;
            // Sized before the process runs: a client's first resize comes only after the start.
            struct winsize size = {.ws_row = (unsigned short)spec.console_rows, .ws_col = (unsigned short)spec.console_columns};
            if (spec.console_rows && ioctl(console_fd, TIOCSWINSZ, &size) < 0) {}
            output_fds[0] = console_fd;
            if (spec.open_stdin) stdin_fd = console_fd;
            continue;
        }
        if (kind == SYNC_READY) break;
        if (kind == SYNC_ERROR) {
            char *message = strchr(error, ' ');
            int code = atoi(error);
            fail_before_ready(code ? code : 125, message ? message + 1 : error);
        }
        fail_before_ready(125, "the container's init died during setup");
    }
    for (int i = 0; i < 2; i++) if (output_fds[i] >= 0) set_nonblocking(output_fds[i]);
    if (stdin_fd >= 0) set_nonblocking(stdin_fd);
    if (bind_control_socket() < 0) {
        snprintf(error, sizeof error, "binding %s: %s", spec.socket_path, strerror(errno));
        fail_before_ready(125, error);
    }
    report("ready %d %d", getpid(), container_pid);
    // berthd has its answer; from here on nothing of the shim's goes to its pipe or terminal.
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    serve();
}
