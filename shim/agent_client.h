// The shim's end of a utility VM's guest agent port (vm-images/PROTOCOL.md): frames over the unix
// socket QEMU serves for the virtio-serial channel.
#ifndef BERTH_SHIM_AGENT_CLIENT_H
#define BERTH_SHIM_AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct agent_frame {
    char kind;
    uint32_t process;
    const char *payload; // valid until the next agent_next_frame
    size_t length;
};

struct agent_reader {
    char *buffer;
    size_t length, capacity, consumed;
};

// Connects, retrying while the socket is not there yet, for up to `milliseconds`; -1 on failure.
int agent_connect(const char *path, int milliseconds);

// Length (4), kind (1), process (4).
#define AGENT_HEADER_SIZE 9

void agent_frame_header(char header[AGENT_HEADER_SIZE], char kind, uint32_t process, size_t length);

int agent_send(int fd, char kind, uint32_t process, const char *payload, size_t length);

// Reads what the socket has into the reader: 1 read something, 0 end of stream, -1 error.
int agent_read(int fd, struct agent_reader *reader);

// The next whole frame already read: 1 and `frame` filled, 0 when more bytes are needed.
int agent_next_frame(struct agent_reader *reader, struct agent_frame *frame);

// Blocks (up to `milliseconds`) until a frame for `process` of one of `kinds` arrives; frames for
// others stay unread. 1 found, 0 timed out, -1 the agent is gone.
int agent_wait_frame(int fd, struct agent_reader *reader, const char *kinds, uint32_t process, int milliseconds,
                     struct agent_frame *frame);

// Appends "key\0value\0" to a growing payload; -1 when out of memory.
int agent_token(char **payload, size_t *length, const char *key, const char *value);

#endif
