// The control socket berthd and exec shims talk to: one line per command (start, wait, state, kill,
// resize, attach, relay, close-stdin), after which a client may become an attach stream, a waiter
// for the exit, or an exec's relay to the VM agent.
#include "shim.h"
#include "sync_channel.h"
#include "vm_container.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

// Sends now what the socket takes, queues the rest; a client too far behind is dropped.
int client_send(struct client *client, const char *bytes, size_t length) {
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

static void reply(struct shim *s, size_t index, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void reply(struct shim *s, size_t index, const char *format, ...) {
    char line[4096];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (length > 0 && client_send(&s->clients[index], line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1) < 0)
        remove_client(s, index);
}

void remove_client(struct shim *s, size_t index) {
    struct client *client = &s->clients[index];
    // An exec whose shim went away has no one to report to.
    if (client->role == CLIENT_RELAY && !s->exited && vm_signal(s->agent_fd, client->relay_process, SIGKILL) < 0)
        shim_log("ending exec process %u in the VM: %s", client->relay_process, strerror(errno));
    close(client->fd);
    free(client->pending);
    free(client->relay_reader.buffer);
    s->clients[index] = s->clients[--s->client_count];
}

static void start_container(struct shim *s, size_t index) {
    if (s->started) { reply(s, index, "error 125 container already started\n"); return; }
    s->started = 1;
    if (s->agent_fd >= 0) {
        char error[2048];
        int code = vm_run(s->agent_fd, &s->agent_reader, &s->spec, s->agent_process, &s->container_pid, error, sizeof error);
        if (code) {
            // As for a native container, a failed exec is the container's exit.
            mark_exited(s, code);
            s->output_fds[0] = -1;
            reply(s, index, "error %d %s\n", code, error);
        } else {
            reply(s, index, "ok %d\n", s->container_pid);
        }
        return;
    }
    if (sync_send(s->sync_fd, SYNC_START, NULL, -1) < 0) { reply(s, index, "error 125 the container's init is gone\n"); return; }
    char text[2048];
    // The sync socket closes on a successful exec; an error arrives as a message.
    int kind = sync_receive(s->sync_fd, text, sizeof text, NULL);
    close(s->sync_fd);
    s->sync_fd = -1;
    if (kind == SYNC_ERROR) reply(s, index, "error %s\n", text);
    else reply(s, index, "ok %d\n", s->container_pid);
}

static void handle_command(struct shim *s, size_t index, char *line) {
    struct client *client = &s->clients[index];
    int a, b;
    char streams[8];
    if (!strcmp(line, "start")) {
        start_container(s, index);
    } else if (!strcmp(line, "wait")) {
        client->role = CLIENT_WAITER;
    } else if (!strcmp(line, "state")) {
        if (s->exited) reply(s, index, "exited %d\n", s->exit_code);
        else reply(s, index, "%s %d\n", s->started ? "running" : "created", s->container_pid);
    } else if (sscanf(line, "kill %d", &a) == 1) {
        int failed = s->exited || (s->agent_fd >= 0 ? vm_signal(s->agent_fd, s->agent_process, a) : kill(s->container_pid, a)) < 0;
        if (failed) reply(s, index, "error 1 %s\n", s->exited ? "container exited" : strerror(errno));
        else reply(s, index, "ok\n");
    } else if (sscanf(line, "resize %d %d", &a, &b) == 2) {
        struct winsize size = {.ws_row = (unsigned short)a, .ws_col = (unsigned short)b};
        if (!s->spec.tty) reply(s, index, "error 1 the container has no tty\n");
        else if (s->agent_fd >= 0) reply(s, index, vm_resize(s->agent_fd, s->agent_process, a, b) < 0 ? "error 1 the VM's agent is gone\n" : "ok\n");
        else if (s->console_fd < 0) reply(s, index, "error 1 the container has no tty\n");
        else if (ioctl(s->console_fd, TIOCSWINSZ, &size) < 0) reply(s, index, "error 1 %s\n", strerror(errno));
        else reply(s, index, "ok\n");
    } else if (sscanf(line, "attach %7s", streams) == 1) {
        client->role = CLIENT_ATTACH;
        client->wants_stdout = strchr(streams, 'o') != NULL;
        client->wants_stderr = strchr(streams, 'e') != NULL;
        client->wants_stdin = strchr(streams, 'i') != NULL && s->stdin_fd >= 0;
        reply(s, index, "ok\n");
    } else if (!strcmp(line, "relay")) {
        if (!s->spec.vm_socket) reply(s, index, "error 1 the container does not run in a utility VM\n");
        else if (s->exited) reply(s, index, "error 1 the container exited\n");
        else {
            client->role = CLIENT_RELAY;
            client->relay_process = s->next_relay_process++;
            reply(s, index, "ok %u\n", client->relay_process);
        }
    } else if (!strcmp(line, "reopen-log")) {
        // kubelet renamed the CRI log to rotate it: the next entries go to a new file at the path.
        if (!s->spec.log_path) reply(s, index, "error 1 the container keeps no log\n");
        else if (log_writer_reopen(&s->log_writer) < 0) reply(s, index, "error 1 reopening %s: %s\n", s->spec.log_path, strerror(errno));
        else reply(s, index, "ok\n");
    } else if (!strcmp(line, "close-stdin")) {
        close_container_stdin(s);
        reply(s, index, "ok\n");
    } else {
        reply(s, index, "error 1 unknown command\n");
    }
}

void read_client(struct shim *s, size_t index) {
    struct client *client = &s->clients[index];
    if (client->role == CLIENT_RELAY) { relay_to_agent(s, index); return; }
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
    if (n <= 0) { remove_client(s, index); return; }
    if (client->role == CLIENT_ATTACH) {
        if (client->wants_stdin) queue_stdin(s, buffer, (size_t)n);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buffer[i] == '\n') {
            client->line[client->line_length] = '\0';
            client->line_length = 0;
            handle_command(s, index, client->line);
            // The command may have removed the client, or turned it into an attach stream.
            if (index >= s->client_count || s->clients[index].fd != client->fd) return;
            if (client->role == CLIENT_ATTACH && i + 1 < n) {
                if (client->wants_stdin) queue_stdin(s, buffer + i + 1, (size_t)(n - i - 1));
                return;
            }
        } else if (client->line_length < sizeof client->line - 1) {
            client->line[client->line_length++] = buffer[i];
        }
    }
}

void accept_client(struct shim *s) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (s->client_count == MAX_CLIENTS) { close(fd); return; }
    memset(&s->clients[s->client_count], 0, sizeof s->clients[0]);
    s->clients[s->client_count].fd = fd;
    s->clients[s->client_count].role = CLIENT_COMMAND;
    s->client_count++;
}

void flush_client(struct shim *s, size_t index) {
    struct client *client = &s->clients[index];
    ssize_t sent = send(client->fd, client->pending, client->pending_length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno != EAGAIN && errno != EINTR) { remove_client(s, index); return; }
    if (sent > 0) {
        memmove(client->pending, client->pending + sent, client->pending_length - (size_t)sent);
        client->pending_length -= (size_t)sent;
    }
}

int bind_control_socket(struct shim *s) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(s->spec.socket_path) >= sizeof address.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(address.sun_path, s->spec.socket_path);
    unlink(s->spec.socket_path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) return -1;
    mode_t old_mask = umask(0077);
    int bound = bind(s->listen_fd, (struct sockaddr *)&address, sizeof address);
    umask(old_mask);
    if (bound < 0 || listen(s->listen_fd, 64) < 0) return -1;
    return 0;
}
