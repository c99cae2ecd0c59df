// The container's stdio: output from its pipes (or console) to the log and every attach client in
// Docker's stream framing, input from attach clients to its stdin (or the VM agent).
#include "shim.h"
#include "vm_container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void close_container_stdin(struct shim *s) {
    if (s->stdin_fd < 0) return;
    if (s->agent_fd >= 0) {
        if (agent_send(s->agent_fd, 'c', s->agent_process, NULL, 0) < 0) shim_log("closing stdin in the VM: %s", strerror(errno));
    } else if (s->spec.tty) {
        // A console has no end of file; ^D ends input for a program in canonical mode.
        if (write(s->stdin_fd, "\x04", 1) < 0) shim_log("ending the console's input: %s", strerror(errno));
    } else {
        close(s->stdin_fd);
    }
    s->stdin_fd = -1;
}

void queue_stdin(struct shim *s, const char *bytes, size_t length) {
    if (s->stdin_fd < 0) return;
    if (s->agent_fd >= 0) {
        if (agent_send(s->agent_fd, 'i', s->agent_process, bytes, length) < 0) s->stdin_fd = -1;
        return;
    }
    if (!s->stdin_pending_length) {
        ssize_t written = write(s->stdin_fd, bytes, length);
        if (written < 0 && errno != EAGAIN && errno != EINTR) { close_container_stdin(s); return; }
        if (written > 0) { bytes += written; length -= (size_t)written; }
    }
    if (!length) return;
    char *grown = realloc(s->stdin_pending, s->stdin_pending_length + length);
    if (!grown) { shim_log("out of memory: %zu bytes of input dropped", length); return; }
    memcpy(grown + s->stdin_pending_length, bytes, length);
    s->stdin_pending = grown;
    s->stdin_pending_length += length;
}

void flush_stdin(struct shim *s) {
    ssize_t written = write(s->stdin_fd, s->stdin_pending, s->stdin_pending_length);
    if (written < 0 && errno != EAGAIN && errno != EINTR) { s->stdin_pending_length = 0; close_container_stdin(s); return; }
    if (written > 0) {
        memmove(s->stdin_pending, s->stdin_pending + written, s->stdin_pending_length - (size_t)written);
        s->stdin_pending_length -= (size_t)written;
    }
}

// Docker's stream framing: [stream, 0, 0, 0, size (big endian)] then the bytes; raw with a tty.
void broadcast_output(struct shim *s, int stream, const char *bytes, size_t length) {
    char header[8] = {(char)(stream + 1), 0, 0, 0,
                      (char)(length >> 24), (char)(length >> 16), (char)(length >> 8), (char)length};
    for (size_t i = s->client_count; i-- > 0;) {
        struct client *client = &s->clients[i];
        if (client->role != CLIENT_ATTACH) continue;
        if (!(stream == 0 ? client->wants_stdout : client->wants_stderr)) continue;
        int failed = (!s->spec.tty && client_send(client, header, sizeof header) < 0) || client_send(client, bytes, length) < 0;
        if (failed) remove_client(s, i);
    }
}

void read_output(struct shim *s, int stream) {
    char buffer[65536];
    ssize_t n = read(s->output_fds[stream], buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        // EOF on a pipe, EIO on a console whose last slave closed.
        if (s->output_fds[stream] != s->console_fd) close(s->output_fds[stream]);
        s->output_fds[stream] = -1;
        return;
    }
    log_writer_append(&s->log_writer, stream, buffer, (size_t)n);
    broadcast_output(s, stream, buffer, (size_t)n);
}
