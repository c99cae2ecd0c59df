#include "vm_container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#define ANSWER_MILLISECONDS 30000

// The value after `key` in a token payload, or NULL.
static const char *token(const char *payload, size_t length, const char *key) {
    const char *end = payload + length;
    for (const char *cursor = payload; cursor < end;) {
        const char *value = memchr(cursor, '\0', (size_t)(end - cursor));
        if (!value || ++value >= end) return NULL;
        const char *next = memchr(value, '\0', (size_t)(end - value));
        if (!next) return NULL;
        if (!strcmp(cursor, key)) return value;
        cursor = next + 1;
    }
    return NULL;
}

// A failure frame's "<code> <message>": the message into `error`, the code returned (125 if none).
static int copy_failure(const struct agent_frame *frame, char *error, size_t error_size) {
    size_t length = frame->length < error_size - 1 ? frame->length : error_size - 1;
    memcpy(error, frame->payload, length);
    error[length] = '\0';
    int code = atoi(error);
    char *space = strchr(error, ' ');
    if (space) memmove(error, space + 1, strlen(space + 1) + 1);
    return code ? code : 125;
}

// Sends one request and waits for its answer; -1 with the reason in `error` unless it succeeded.
static int ask(int agent, struct agent_reader *reader, char kind, uint32_t number, const char *payload, size_t length,
               const char *what, char *error, size_t error_size) {
    struct agent_frame frame;
    if (agent_send(agent, kind, number, payload, length) < 0 ||
        agent_wait_frame(agent, reader, "xf", number, ANSWER_MILLISECONDS, &frame) != 1) {
        snprintf(error, error_size, "the VM's agent stopped answering while %s", what);
        return -1;
    }
    if (frame.kind == 'f') {
        copy_failure(&frame, error, error_size);
        return -1;
    }
    return 0;
}

// The spec's settings and then its mounts, each answered before the next; under `number` when
// given (through a relay, which passes only its own), else under numbers of their own.
static int apply_setup(int agent, struct agent_reader *reader, const struct launch_spec *spec, uint32_t number, char *error,
                       size_t error_size) {
    for (size_t i = 0; i < spec->vm_request_count; i++) {
        const struct vm_request *request = &spec->vm_requests[i];
        char what[32];
        snprintf(what, sizeof what, "applying setting '%c'", request->kind);
        if (ask(agent, reader, request->kind, number ? number : 50 + (uint32_t)i, request->payload, request->length, what, error,
                error_size) < 0)
            return -1;
    }
    for (size_t i = 0; i < spec->vm_mount_count; i++) {
        const struct mount_entry *entry = &spec->vm_mounts[i];
        char *payload = NULL;
        size_t length = 0;
        char flags[32];
        snprintf(flags, sizeof flags, "%lu", entry->flags);
        if (agent_token(&payload, &length, "source", entry->source) < 0 || agent_token(&payload, &length, "target", entry->target) < 0 ||
            agent_token(&payload, &length, "fstype", entry->fstype) < 0 || agent_token(&payload, &length, "options", entry->data) < 0 ||
            agent_token(&payload, &length, "readonly", (entry->flags & MS_RDONLY) ? "1" : "0") < 0 ||
            agent_token(&payload, &length, "bind", (entry->flags & MS_BIND) ? "1" : "0") < 0 ||
            agent_token(&payload, &length, "flags", flags) < 0) {
            snprintf(error, error_size, "out of memory");
            return -1;
        }
        char what[4200];
        snprintf(what, sizeof what, "mounting %s", entry->target);
        int failed = ask(agent, reader, 'm', number ? number : 100 + (uint32_t)i, payload, length, what, error, error_size);
        free(payload);
        if (failed < 0) return -1;
    }
    return 0;
}

int vm_prepare(const struct launch_spec *spec, struct agent_reader *reader, char *error, size_t error_size) {
    int agent = agent_connect(spec->vm_socket, ANSWER_MILLISECONDS);
    if (agent < 0) { snprintf(error, error_size, "connecting to the VM's agent at %s failed", spec->vm_socket); return -1; }
    struct agent_frame frame;
    // The agent says hello at boot to whoever is connected; ask again in case that was not us.
    int answered = agent_send(agent, 'h', 0, NULL, 0) < 0 ? -1
                 : agent_wait_frame(agent, reader, "h", 0, (int)spec->vm_agent_timeout * 1000, &frame);
    if (answered != 1) {
        if (answered == 0) snprintf(error, error_size, "the VM's agent did not answer within %u s", spec->vm_agent_timeout);
        else snprintf(error, error_size, "the VM stopped before its agent answered");
        return -1;
    }
    const char *version = token(frame.payload, frame.length, "version");
    if (!version || strcmp(version, "1")) {
        snprintf(error, error_size, "the VM's agent speaks protocol version %s, not 1", version ? version : "(none)");
        return -1;
    }
    if (spec->hostname && ask(agent, reader, 'n', 0, spec->hostname, strlen(spec->hostname), "setting the hostname", error, error_size) < 0)
        return -1;
    if (apply_setup(agent, reader, spec, 0, error, error_size) < 0) return -1;
    return agent;
}

int vm_prepare_member(int relay, struct agent_reader *reader, const struct launch_spec *spec, uint32_t process, char *error,
                      size_t error_size) {
    return apply_setup(relay, reader, spec, process, error, error_size);
}

int vm_relay_connect(const char *container_socket, uint32_t *process, char *error, size_t error_size) {
    int relay = agent_connect(container_socket, 0);
    if (relay < 0) {
        snprintf(error, error_size, "reaching the container's shim at %s: %s (has it exited?)", container_socket, strerror(errno));
        return -1;
    }
    char line[256];
    size_t length = 0;
    // Byte by byte: the frames that follow the answer are the relay's, not this line's.
    if (send(relay, "relay\n", 6, MSG_NOSIGNAL) != 6) length = sizeof line;
    while (length < sizeof line - 1) {
        ssize_t count = read(relay, &line[length], 1);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0 || line[length] == '\n') break;
        length++;
    }
    line[length < sizeof line ? length : sizeof line - 1] = '\0';
    unsigned number;
    if (sscanf(line, "ok %u", &number) == 1 && number > VM_PROCESS) {
        *process = number;
        return relay;
    }
    close(relay);
    // "error <code> <message>"
    const char *message = strchr(line, ' ');
    message = message ? strchr(message + 1, ' ') : NULL;
    snprintf(error, error_size, "%s", message ? message + 1 : "the container's shim refused to relay to its VM");
    return -1;
}

// The seccomp filter file's bytes as hex, the agent's token for it; NULL with errno set on failure.
static char *filter_hex(const char *path) {
    FILE *file = fopen(path, "re");
    if (!file) return NULL;
    size_t size = 0, capacity = 4096;
    char *text = malloc(capacity);
    int byte;
    while (text && (byte = fgetc(file)) != EOF) {
        if (size + 3 > capacity) {
            char *grown = realloc(text, capacity *= 2);
            if (!grown) { free(text); text = NULL; break; }
            text = grown;
        }
        size += (size_t)snprintf(text + size, 3, "%02x", byte);
    }
    if (text && ferror(file)) { free(text); text = NULL; errno = EIO; }
    fclose(file);
    if (text) text[size] = '\0';
    return text;
}

// What the agent needs to confine the process as a native container's: the container's own
// namespaces (its init) or its init's (an exec), the kernel filesystems, hidden paths,
// capabilities, no_new_privs, seccomp and limits. Returns nonzero when memory or the filter failed.
static int add_confinement(char **payload, size_t *length, const struct launch_spec *spec, char *error, size_t error_size) {
    char number[32];
    int entering = spec->vm_relay && !spec->vm_member;
    int failed = agent_token(payload, length, entering ? "enter" : "isolate", "1");
    if (spec->vm_container) failed |= agent_token(payload, length, "container", spec->vm_container);
    if (spec->vm_member && spec->vm_pid_of) failed |= agent_token(payload, length, "pid-of", spec->vm_pid_of);
    if (spec->vm_member && spec->vm_ipc_of) failed |= agent_token(payload, length, "ipc-of", spec->vm_ipc_of);
    for (size_t i = 0; i < spec->mount_count; i++) {
        const struct mount_entry *entry = &spec->mounts[i];
        snprintf(number, sizeof number, "%lu", entry->flags);
        failed |= agent_token(payload, length, "mount-source", entry->source);
        failed |= agent_token(payload, length, "mount-target", entry->target);
        failed |= agent_token(payload, length, "mount-fstype", entry->fstype);
        failed |= agent_token(payload, length, "mount-flags", number);
        failed |= agent_token(payload, length, "mount-options", entry->data);
    }
    if (!entering) {
        failed |= agent_token(payload, length, "create-devices", spec->create_devices ? "1" : "0");
        failed |= agent_token(payload, length, "readonly-rootfs", spec->readonly_rootfs ? "1" : "0");
        if (spec->reaper) failed |= agent_token(payload, length, "init", "1");
        for (size_t i = 0; i + 1 < spec->sysctls.count; i += 2) {
            char setting[4200];
            snprintf(setting, sizeof setting, "%s=%s", spec->sysctls.items[i], spec->sysctls.items[i + 1]);
            failed |= agent_token(payload, length, "sysctl", setting);
        }
    }
    for (size_t i = 0; i < spec->readonly_paths.count; i++) failed |= agent_token(payload, length, "readonly-path", spec->readonly_paths.items[i]);
    for (size_t i = 0; i < spec->masked_paths.count; i++) failed |= agent_token(payload, length, "masked", spec->masked_paths.items[i]);
    for (size_t i = 0; i < spec->group_count; i++) {
        snprintf(number, sizeof number, "%u", spec->groups[i]);
        failed |= agent_token(payload, length, "group", number);
    }
    // Hex: 64-bit values do not fit a 32-bit guest's Int.
    const struct { const char *key; uint64_t value; } sets[] = {
        {"cap-bounding", spec->cap_bounding}, {"cap-effective", spec->cap_effective}, {"cap-permitted", spec->cap_permitted},
        {"cap-inheritable", spec->cap_inheritable}, {"cap-ambient", spec->cap_ambient},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        snprintf(number, sizeof number, "%llx", (unsigned long long)sets[i].value);
        failed |= agent_token(payload, length, sets[i].key, number);
    }
    for (size_t i = 0; i < spec->rlimit_count; i++) {
        char limit[64];
        snprintf(limit, sizeof limit, "%x %llx %llx", spec->rlimits[i].resource, (unsigned long long)spec->rlimits[i].soft,
                 (unsigned long long)spec->rlimits[i].hard);
        failed |= agent_token(payload, length, "rlimit", limit);
    }
    failed |= agent_token(payload, length, "no-new-privileges", spec->no_new_privileges ? "1" : "0");
    if (spec->seccomp_filter) {
        char *filter = filter_hex(spec->seccomp_filter);
        if (!filter) {
            snprintf(error, error_size, "reading the seccomp filter %s: %s", spec->seccomp_filter, strerror(errno));
            return -1;
        }
        failed |= agent_token(payload, length, "seccomp", filter);
        free(filter);
    }
    if (failed) snprintf(error, error_size, "out of memory");
    return failed;
}

int vm_run(int agent, struct agent_reader *reader, const struct launch_spec *spec, uint32_t process, pid_t *guest_pid,
           char *error, size_t error_size) {
    char *payload = NULL;
    size_t length = 0;
    char number[32];
    int failed = 0;
    for (size_t i = 0; i < spec->args.count; i++) failed |= agent_token(&payload, &length, "arg", spec->args.items[i]);
    for (size_t i = 0; i < spec->env.count; i++) failed |= agent_token(&payload, &length, "env", spec->env.items[i]);
    if (spec->vm_root) failed |= agent_token(&payload, &length, "root", spec->vm_root);
    failed |= agent_token(&payload, &length, "cwd", spec->cwd);
    snprintf(number, sizeof number, "%u", spec->uid);
    failed |= agent_token(&payload, &length, "uid", number);
    snprintf(number, sizeof number, "%u", spec->gid);
    failed |= agent_token(&payload, &length, "gid", number);
    failed |= agent_token(&payload, &length, "tty", spec->tty ? "1" : "0");
    if (spec->console_rows) {
        snprintf(number, sizeof number, "%u", spec->console_rows);
        failed |= agent_token(&payload, &length, "rows", number);
        snprintf(number, sizeof number, "%u", spec->console_columns);
        failed |= agent_token(&payload, &length, "columns", number);
    }
    if (failed) { snprintf(error, error_size, "out of memory"); free(payload); return 125; }
    if (add_confinement(&payload, &length, spec, error, error_size)) { free(payload); return 125; }
    int sent = agent_send(agent, 'r', process, payload, length);
    free(payload);
    struct agent_frame frame;
    if (sent < 0 || agent_wait_frame(agent, reader, "sf", process, ANSWER_MILLISECONDS, &frame) != 1) {
        snprintf(error, error_size, "the VM's agent stopped answering");
        return 125;
    }
    if (frame.kind == 's') {
        char text[16];
        size_t digits = frame.length < sizeof text - 1 ? frame.length : sizeof text - 1;
        memcpy(text, frame.payload, digits);
        text[digits] = '\0';
        *guest_pid = (pid_t)atoi(text);
        return 0;
    }
    return copy_failure(&frame, error, error_size);
}

int vm_signal(int agent, uint32_t process, int signal) {
    char text[16];
    int length = snprintf(text, sizeof text, "%d", signal);
    return agent_send(agent, 'k', process, text, (size_t)length);
}

int vm_resize(int agent, uint32_t process, int rows, int columns) {
    char *payload = NULL, text[16];
    size_t length = 0;
    snprintf(text, sizeof text, "%d", rows);
    int failed = agent_token(&payload, &length, "rows", text);
    snprintf(text, sizeof text, "%d", columns);
    failed |= agent_token(&payload, &length, "columns", text);
    int sent = failed ? -1 : agent_send(agent, 'z', process, payload, length);
    free(payload);
    return sent;
}
