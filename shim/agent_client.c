#include "agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME ((1u << 20) + 5)

static long now_milliseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int agent_connect(const char *path, int milliseconds) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(address.sun_path, path);
    long deadline = now_milliseconds() + milliseconds;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0) return fd;
        int saved = errno;
        close(fd);
        if ((saved != ENOENT && saved != ECONNREFUSED) || now_milliseconds() >= deadline) { errno = saved; return -1; }
        usleep(20000);
    }
}

void agent_frame_header(char header[AGENT_HEADER_SIZE], char kind, uint32_t process, size_t length) {
    uint32_t total = (uint32_t)length + 5;
    for (int i = 0; i < 4; i++) header[i] = (char)(total >> (24 - 8 * i));
    header[4] = kind;
    for (int i = 0; i < 4; i++) header[5 + i] = (char)(process >> (24 - 8 * i));
}

int agent_send(int fd, char kind, uint32_t process, const char *payload, size_t length) {
    char header[AGENT_HEADER_SIZE];
    agent_frame_header(header, kind, process, length);
    const char *parts[2] = {header, payload};
    size_t sizes[2] = {sizeof header, length};
    for (int part = 0; part < 2; part++) {
        size_t done = 0;
        while (done < sizes[part]) {
            ssize_t written = send(fd, parts[part] + done, sizes[part] - done, MSG_NOSIGNAL);
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) return -1;
            done += (size_t)written;
        }
    }
    return 0;
}

int agent_read(int fd, struct agent_reader *reader) {
    // Drop what was consumed before growing.
    if (reader->consumed) {
        memmove(reader->buffer, reader->buffer + reader->consumed, reader->length - reader->consumed);
        reader->length -= reader->consumed;
        reader->consumed = 0;
    }
    if (reader->capacity - reader->length < 65536) {
        size_t capacity = reader->capacity ? reader->capacity * 2 : 131072;
        char *grown = realloc(reader->buffer, capacity);
        if (!grown) return -1;
        reader->buffer = grown;
        reader->capacity = capacity;
    }
    ssize_t count;
    do count = recv(fd, reader->buffer + reader->length, reader->capacity - reader->length, MSG_DONTWAIT);
    while (count < 0 && errno == EINTR);
    if (count < 0 && errno == EAGAIN) return 1;
    if (count <= 0) return count == 0 ? 0 : -1;
    reader->length += (size_t)count;
    return 1;
}

int agent_next_frame(struct agent_reader *reader, struct agent_frame *frame) {
    size_t available = reader->length - reader->consumed;
    if (available < 4) return 0;
    const unsigned char *bytes = (const unsigned char *)reader->buffer + reader->consumed;
    uint32_t total = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
    if (total < 5 || total > MAX_FRAME) { reader->consumed = reader->length; return 0; }
    if (available < 4 + (size_t)total) return 0;
    frame->kind = (char)bytes[4];
    frame->process = (uint32_t)bytes[5] << 24 | (uint32_t)bytes[6] << 16 | (uint32_t)bytes[7] << 8 | bytes[8];
    frame->payload = (const char *)bytes + AGENT_HEADER_SIZE;
    frame->length = total - 5;
    reader->consumed += 4 + (size_t)total;
    return 1;
}

int agent_wait_frame(int fd, struct agent_reader *reader, const char *kinds, uint32_t process, int milliseconds,
                     struct agent_frame *frame) {
    long deadline = now_milliseconds() + milliseconds;
    for (;;) {
        // Look through what is buffered without consuming frames meant for someone else.
        size_t mark = reader->consumed;
        struct agent_frame candidate;
        while (agent_next_frame(reader, &candidate)) {
            if (candidate.process == process && strchr(kinds, candidate.kind)) {
                // Keep the frames before it for the caller's loop: move this one out of the way.
                size_t end = reader->consumed, start = end - AGENT_HEADER_SIZE - candidate.length;
                static char copy[MAX_FRAME + 4];
                memcpy(copy, reader->buffer + start, end - start);
                memmove(reader->buffer + mark + (end - start), reader->buffer + mark, start - mark);
                memcpy(reader->buffer + mark, copy, end - start);
                reader->consumed = mark + (end - start);
                frame->kind = candidate.kind;
                frame->process = candidate.process;
                frame->payload = reader->buffer + mark + AGENT_HEADER_SIZE;
                frame->length = candidate.length;
                return 1;
            }
        }
        reader->consumed = mark;
        long left = deadline - now_milliseconds();
        if (left <= 0) return 0;
        struct pollfd ready = {fd, POLLIN, 0};
        int polled = poll(&ready, 1, (int)left);
        if (polled < 0 && errno != EINTR) return -1;
        if (polled > 0 && agent_read(fd, reader) <= 0) return -1;
    }
}

int agent_token(char **payload, size_t *length, const char *key, const char *value) {
    size_t key_length = strlen(key) + 1, value_length = strlen(value) + 1;
    char *grown = realloc(*payload, *length + key_length + value_length);
    if (!grown) return -1;
    memcpy(grown + *length, key, key_length);
    memcpy(grown + *length + key_length, value, value_length);
    *payload = grown;
    *length += key_length + value_length;
    return 0;
}
