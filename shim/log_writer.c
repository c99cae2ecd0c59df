#include "log_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void reopen(struct log_writer *writer);

int log_writer_open(struct log_writer *writer, const char *path, enum log_format format, uint64_t max_size, unsigned max_files) {
    memset(writer, 0, sizeof *writer);
    writer->path = path;
    writer->format = format;
    writer->max_size = max_size;
    writer->max_files = max_files ? max_files : 1;
    writer->streams[0].name = "stdout";
    writer->streams[1].name = "stderr";
    reopen(writer);
    return writer->fd < 0 ? -1 : 0;
}

static void reopen(struct log_writer *writer) {
    writer->fd = open(writer->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st;
    writer->size = writer->fd >= 0 && fstat(writer->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int log_writer_reopen(struct log_writer *writer) {
    if (!writer->path) return 0;
    if (writer->fd >= 0) {
        fsync(writer->fd);
        close(writer->fd);
    }
    reopen(writer);
    return writer->fd < 0 ? -1 : 0;
}

// Keeps max_files files: path, path.1, … path.(max_files-1); with one file it starts over.
static void rotate(struct log_writer *writer) {
    close(writer->fd);
    char from[4096], to[4096];
    for (unsigned index = writer->max_files - 1; index >= 1; index--) {
        if (index == 1) snprintf(from, sizeof from, "%s", writer->path);
        else snprintf(from, sizeof from, "%s.%u", writer->path, index - 1);
        snprintf(to, sizeof to, "%s.%u", writer->path, index);
        rename(from, to);
    }
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (writer->max_files == 1 ? O_TRUNC : 0);
    writer->fd = open(writer->path, flags, 0640);
    writer->size = 0;
}

// Length of the valid UTF-8 sequence at `bytes`, or 0 when it is not one.
static size_t utf8_sequence(const unsigned char *bytes, size_t available) {
    unsigned char lead = bytes[0];
    size_t length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
    if (!length || length > available) return 0;
    for (size_t i = 1; i < length; i++) if ((bytes[i] & 0xC0) != 0x80) return 0;
    if (lead == 0xE0 && bytes[1] < 0xA0) return 0;
    if (lead == 0xED && bytes[1] > 0x9F) return 0;
    if (lead == 0xF0 && bytes[1] < 0x90) return 0;
    if (lead == 0xF4 && bytes[1] > 0x8F) return 0;
    return length;
}

// RFC 3339 with nanoseconds, UTC, as both formats stamp their entries.
static void timestamp(char *stamp, size_t size) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char seconds[32];
    strftime(seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(stamp, size, "%s.%09ldZ", seconds, now.tv_nsec);
}

// One CRI entry: "TIME STREAM F CONTENT\n" for a whole line (its newline dropped), P for a part.
static size_t format_cri(char *line, const char *stream, const char *bytes, size_t length) {
    char stamp[48];
    timestamp(stamp, sizeof stamp);
    int whole = length && bytes[length - 1] == '\n';
    size_t used = (size_t)sprintf(line, "%s %s %c ", stamp, stream, whole ? 'F' : 'P');
    size_t content = whole ? length - 1 : length;
    memcpy(line + used, bytes, content);
    used += content;
    line[used++] = '\n';
    return used;
}

// One json-file entry: {"log":"…","stream":"…","time":"…"}; bytes that are not UTF-8 become U+FFFD as in Docker.
static size_t format_json_file(char *line, size_t capacity, const char *stream, const char *bytes, size_t length) {
    size_t used = (size_t)sprintf(line, "{\"log\":\"");
    const unsigned char *input = (const unsigned char *)bytes;
    for (size_t i = 0; i < length;) {
        unsigned char c = input[i];
        if (c == '"' || c == '\\') { line[used++] = '\\'; line[used++] = (char)c; i++; }
        else if (c == '\n') { memcpy(line + used, "\\n", 2); used += 2; i++; }
        else if (c == '\r') { memcpy(line + used, "\\r", 2); used += 2; i++; }
        else if (c == '\t') { memcpy(line + used, "\\t", 2); used += 2; i++; }
        else if (c < 0x20 || c == 0x7f) { used += (size_t)sprintf(line + used, "\\u%04x", c); i++; }
        else if (c < 0x80) { line[used++] = (char)c; i++; }
        else {
            size_t sequence = utf8_sequence(input + i, length - i);
            if (sequence) { memcpy(line + used, input + i, sequence); used += sequence; i += sequence; }
            else { memcpy(line + used, "\\ufffd", 6); used += 6; i++; }
        }
    }
    char stamp[48];
    timestamp(stamp, sizeof stamp);
    used += (size_t)snprintf(line + used, capacity - used, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, stamp);
    return used;
}

static void write_entry(struct log_writer *writer, const char *stream, const char *bytes, size_t length) {
    size_t capacity = length * 6 + 128;
    char *line = malloc(capacity);
    if (!line) return;
    size_t used = writer->format == LOG_FORMAT_CRI ? format_cri(line, stream, bytes, length) : format_json_file(line, capacity, stream, bytes, length);
    if (writer->max_size && writer->size && writer->size + used > writer->max_size) rotate(writer);
    // A rotation on a full disk may have lost the file: each entry tries to have it again.
    if (writer->fd < 0) reopen(writer);
    if (writer->fd >= 0) {
        size_t done = 0;
        while (done < used) {
            ssize_t n = write(writer->fd, line + done, used - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += (size_t)n;
        }
        // A full disk drops the whole entry (as Docker's json-file does), never leaving half a line
        // that would spoil the next one for every reader.
        if (done < used && ftruncate(writer->fd, (off_t)writer->size) == 0) done = 0;
        writer->size += done;
    }
    free(line);
}

void log_writer_append(struct log_writer *writer, int stream_index, const char *bytes, size_t length) {
    if (!writer->path) return;
    struct log_stream *stream = &writer->streams[stream_index];
    while (length) {
        const char *newline = memchr(bytes, '\n', length);
        size_t take = newline ? (size_t)(newline - bytes) + 1 : length;
        size_t room = LOG_LINE_MAX - stream->pending_length;
        if (take > room) take = room;
        memcpy(stream->pending + stream->pending_length, bytes, take);
        stream->pending_length += take;
        bytes += take;
        length -= take;
        int complete = stream->pending[stream->pending_length - 1] == '\n';
        if (complete || stream->pending_length == LOG_LINE_MAX) {
            write_entry(writer, stream->name, stream->pending, stream->pending_length);
            stream->pending_length = 0;
        }
    }
}

void log_writer_flush(struct log_writer *writer) {
    for (int i = 0; i < 2; i++) {
        if (writer->streams[i].pending_length) {
            write_entry(writer, writer->streams[i].name, writer->streams[i].pending, writer->streams[i].pending_length);
            writer->streams[i].pending_length = 0;
        }
    }
    if (writer->fd >= 0) fsync(writer->fd);
}
