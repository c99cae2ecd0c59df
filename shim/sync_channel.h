// Messages between the shim and the container's init while it is set up: a SOCK_SEQPACKET pair,
// so every message arrives whole.
#ifndef BERTH_SHIM_SYNC_CHANNEL_H
#define BERTH_SHIM_SYNC_CHANNEL_H

#include <stddef.h>

enum {
    SYNC_ROOT = 'M',    // shim → init, with a user namespace: the detached root overlay, as an fd
    SYNC_GO = 'G',      // shim → init: ids mapped, cgroups joined; set up (with a user namespace,
                        // the root's mount point in init's mount namespace comes along as an fd)
    SYNC_START = 'S',   // shim → init: exec the process now
    SYNC_READY = 'R',   // init → shim: set up, waiting for SYNC_START
    SYNC_PTY = 'P',     // init → shim: the console's master end, as an SCM_RIGHTS fd
    SYNC_ERROR = 'E',   // init → shim: "E<exit code> <message>", then init exits
};

int sync_send(int fd, char kind, const char *text, int passed_fd);
// Returns the message kind, or 0 on end of stream; text is NUL-terminated, *passed_fd is -1 if none.
int sync_receive(int fd, char *text, size_t text_size, int *passed_fd);

#endif
