// The container's output in Docker's json-file format, one entry per line, rotated by size; or in
// the Kubernetes CRI's format, at the path kubelet chose, which kubelet rotates itself.
#ifndef BERTH_SHIM_LOG_WRITER_H
#define BERTH_SHIM_LOG_WRITER_H

#include <stddef.h>
#include <stdint.h>

// Docker splits lines longer than this into partial entries.
#define LOG_LINE_MAX 16384

struct log_stream {
    const char *name; // "stdout" or "stderr"
    char pending[LOG_LINE_MAX];
    size_t pending_length;
};

enum log_format {
    LOG_FORMAT_JSON_FILE, // {"log":"…","stream":"…","time":"…"}
    LOG_FORMAT_CRI,       // TIME STREAM F|P CONTENT: F ends a line, P is part of a longer one
};

struct log_writer {
    const char *path;
    enum log_format format;
    int fd;
    uint64_t size;
    uint64_t max_size;
    unsigned max_files;
    struct log_stream streams[2];
};

int log_writer_open(struct log_writer *writer, const char *path, enum log_format format, uint64_t max_size, unsigned max_files);
// Appends output of stream 0 (stdout) or 1 (stderr); complete lines are written at once.
void log_writer_append(struct log_writer *writer, int stream, const char *bytes, size_t length);
// Writes what is left of unfinished lines (at the end of the container) and syncs.
void log_writer_flush(struct log_writer *writer);
// Closes the file and opens `path` again: kubelet renamed it to rotate it.
int log_writer_reopen(struct log_writer *writer);

#endif
