#include "spec.h"
#include "detached_mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct reader {
    char *cursor;
    char *end;
};

static const char *next_token(struct reader *reader) {
    if (reader->cursor >= reader->end) return NULL;
    char *token = reader->cursor;
    char *nul = memchr(token, '\0', (size_t)(reader->end - token));
    if (!nul) return NULL;
    reader->cursor = nul + 1;
    return token;
}

static int append_string(struct string_list *list, const char *value) {
    const char **grown = realloc(list->items, (list->count + 2) * sizeof(char *));
    if (!grown) return -1;
    grown[list->count++] = value;
    grown[list->count] = NULL;
    list->items = grown;
    return 0;
}

static int parse_u64(const char *text, uint64_t *value) {
    char *end;
    errno = 0;
    unsigned long long parsed = strtoull(text, &end, 0);
    if (errno || end == text || *end) return -1;
    *value = parsed;
    return 0;
}

static int read_file(const char *path, char **buffer, size_t *size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) { close(fd); return -1; }
    *buffer = malloc((size_t)st.st_size + 1);
    if (!*buffer) { close(fd); return -1; }
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, *buffer + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { close(fd); return -1; }
        done += (size_t)n;
    }
    close(fd);
    (*buffer)[done] = '\0';
    *size = done;
    return 0;
}

// One mount's five values (source, target, fstype, flags, data) appended to `list`; -1 when a value
// is missing or bad, or memory is short.
static int read_mount(struct reader *reader, struct mount_entry **list, size_t *count) {
    const char *values[5];
    for (int i = 0; i < 5; i++) if (!(values[i] = next_token(reader))) return -1;
    uint64_t flags;
    if (parse_u64(values[3], &flags)) return -1;
    struct mount_entry *grown = realloc(*list, (*count + 1) * sizeof *grown);
    if (!grown) return -1;
    *list = grown;
    grown[(*count)++] = (struct mount_entry){values[0], values[1], values[2], (unsigned long)flags, values[4], -1};
    return 0;
}

#define FAIL(...) do { snprintf(error, error_size, __VA_ARGS__); return -1; } while (0)
#define VALUE(name) const char *name = next_token(&reader); if (!name) FAIL("spec: %s is missing a value", key)
#define NUMBER(name, field) do { uint64_t parsed_; VALUE(name); if (parse_u64(name, &parsed_)) FAIL("spec: %s: bad number %s", key, name); field = parsed_; } while (0)

int launch_spec_load(const char *path, struct launch_spec *spec, char *error, size_t error_size) {
    memset(spec, 0, sizeof *spec);
    spec->log_max_files = 1;
    char *buffer;
    size_t size;
    if (read_file(path, &buffer, &size) < 0) FAIL("reading %s: %s", path, strerror(errno));
    struct reader reader = {buffer, buffer + size};
    const char *key;
    while ((key = next_token(&reader))) {
        if (!strcmp(key, "id")) { VALUE(v); spec->id = v; }
        else if (!strcmp(key, "arg")) { VALUE(v); if (append_string(&spec->args, v)) FAIL("out of memory"); }
        else if (!strcmp(key, "env")) { VALUE(v); if (append_string(&spec->env, v)) FAIL("out of memory"); }
        else if (!strcmp(key, "cwd")) { VALUE(v); spec->cwd = v; }
        else if (!strcmp(key, "hostname")) { VALUE(v); spec->hostname = v; }
        else if (!strcmp(key, "rootfs")) { VALUE(v); spec->rootfs = v; }
        else if (!strcmp(key, "overlay")) { VALUE(v); spec->overlay_options = v; }
        else if (!strcmp(key, "lower")) { VALUE(v); if (append_string(&spec->lower_dirs, v)) FAIL("out of memory"); }
        else if (!strcmp(key, "upper")) { VALUE(v); spec->upper_dir = v; }
        else if (!strcmp(key, "work")) { VALUE(v); spec->work_dir = v; }
        else if (!strcmp(key, "mount")) {
            if (read_mount(&reader, &spec->mounts, &spec->mount_count) < 0) FAIL("spec: a bad or short %s", key);
        }
        else if (!strcmp(key, "netns")) { VALUE(v); spec->network_namespace = v; }
        else if (!strcmp(key, "join-namespace")) {
            VALUE(kind);
            VALUE(target);
            int type = !strcmp(kind, "ipc") ? CLONE_NEWIPC : !strcmp(kind, "uts") ? CLONE_NEWUTS : !strcmp(kind, "pid") ? CLONE_NEWPID : 0;
            if (!type) FAIL("spec: %s cannot be joined by path (ipc, uts and pid can)", kind);
            struct joined_namespace *grown = realloc(spec->joined_namespaces, (spec->joined_namespace_count + 1) * sizeof *grown);
            if (!grown) FAIL("out of memory");
            spec->joined_namespaces = grown;
            grown[spec->joined_namespace_count++] = (struct joined_namespace){type, target};
        }
        else if (!strcmp(key, "vm-socket")) { VALUE(v); spec->vm_socket = v; }
        else if (!strcmp(key, "vm-root")) { VALUE(v); spec->vm_root = v; }
        else if (!strcmp(key, "vm-request")) {
            VALUE(kind);
            uint64_t pairs;
            NUMBER(count, pairs);
            const char *start = reader.cursor;
            for (uint64_t i = 0; i < pairs * 2; i++) if (!next_token(&reader)) FAIL("spec: a short %s", key);
            struct vm_request *grown = realloc(spec->vm_requests, (spec->vm_request_count + 1) * sizeof *grown);
            if (!grown) FAIL("out of memory");
            spec->vm_requests = grown;
            grown[spec->vm_request_count++] = (struct vm_request){kind[0], start, (size_t)(reader.cursor - start)};
        }
        else if (!strcmp(key, "vm-relay")) { VALUE(v); spec->vm_relay = v; }
        else if (!strcmp(key, "vm-container")) { VALUE(v); spec->vm_container = v; }
        else if (!strcmp(key, "vm-member")) { VALUE(v); spec->vm_container = v; spec->vm_member = 1; }
        else if (!strcmp(key, "vm-pid-of")) { VALUE(v); spec->vm_pid_of = v; }
        else if (!strcmp(key, "vm-ipc-of")) { VALUE(v); spec->vm_ipc_of = v; }
        else if (!strcmp(key, "vm-agent-timeout")) NUMBER(v, spec->vm_agent_timeout);
        else if (!strcmp(key, "vm-mount")) {
            if (read_mount(&reader, &spec->vm_mounts, &spec->vm_mount_count) < 0) FAIL("spec: a bad or short %s", key);
        }
        else if (!strcmp(key, "sysctl")) {
            VALUE(name);
            VALUE(value);
            if (append_string(&spec->sysctls, name) || append_string(&spec->sysctls, value)) FAIL("out of memory");
        }
        else if (!strcmp(key, "masked")) { VALUE(v); if (append_string(&spec->masked_paths, v)) FAIL("out of memory"); }
        else if (!strcmp(key, "readonly-path")) { VALUE(v); if (append_string(&spec->readonly_paths, v)) FAIL("out of memory"); }
        else if (!strcmp(key, "uid")) NUMBER(v, spec->uid);
        else if (!strcmp(key, "gid")) NUMBER(v, spec->gid);
        else if (!strcmp(key, "group")) {
            gid_t *grown = realloc(spec->groups, (spec->group_count + 1) * sizeof *grown);
            if (!grown) FAIL("out of memory");
            spec->groups = grown;
            NUMBER(v, grown[spec->group_count]);
            spec->group_count++;
        }
        else if (!strcmp(key, "cap-bounding")) NUMBER(v, spec->cap_bounding);
        else if (!strcmp(key, "cap-effective")) NUMBER(v, spec->cap_effective);
        else if (!strcmp(key, "cap-permitted")) NUMBER(v, spec->cap_permitted);
        else if (!strcmp(key, "cap-inheritable")) NUMBER(v, spec->cap_inheritable);
        else if (!strcmp(key, "cap-ambient")) NUMBER(v, spec->cap_ambient);
        else if (!strcmp(key, "no-new-privileges")) NUMBER(v, spec->no_new_privileges);
        else if (!strcmp(key, "seccomp")) { VALUE(v); spec->seccomp_filter = v; }
        else if (!strcmp(key, "rlimit")) {
            struct rlimit_entry *grown = realloc(spec->rlimits, (spec->rlimit_count + 1) * sizeof *grown);
            if (!grown) FAIL("out of memory");
            spec->rlimits = grown;
            struct rlimit_entry *entry = &grown[spec->rlimit_count++];
            NUMBER(resource, entry->resource);
            NUMBER(soft, entry->soft);
            NUMBER(hard, entry->hard);
        }
        else if (!strcmp(key, "namespace")) {
            VALUE(v);
            if (!strcmp(v, "pid")) spec->clone_flags |= CLONE_NEWPID;
            else if (!strcmp(v, "mount")) spec->clone_flags |= CLONE_NEWNS;
            else if (!strcmp(v, "uts")) spec->clone_flags |= CLONE_NEWUTS;
            else if (!strcmp(v, "ipc")) spec->clone_flags |= CLONE_NEWIPC;
            else if (!strcmp(v, "net")) spec->clone_flags |= CLONE_NEWNET;
            else if (!strcmp(v, "user")) spec->clone_flags |= CLONE_NEWUSER;
            else if (!strcmp(v, "cgroup")) spec->clone_flags |= CLONE_NEWCGROUP;
            else FAIL("spec: unknown namespace %s", v);
        }
        else if (!strcmp(key, "uid-map")) { VALUE(v); spec->uid_map = v; }
        else if (!strcmp(key, "gid-map")) { VALUE(v); spec->gid_map = v; }
        else if (!strcmp(key, "cgroupns")) { VALUE(v); spec->private_cgroupns = !strcmp(v, "private"); }
        else if (!strcmp(key, "cgroup-procs")) { VALUE(v); if (append_string(&spec->cgroup_procs, v)) FAIL("out of memory"); }
        else if (!strcmp(key, "readonly-rootfs")) NUMBER(v, spec->readonly_rootfs);
        else if (!strcmp(key, "root-propagation")) {
            VALUE(v);
            if (!strcmp(v, "slave")) spec->root_propagation = MS_SLAVE;
            else if (!strcmp(v, "shared")) spec->root_propagation = MS_SHARED;
            else FAIL("spec: root-propagation %s", v);
        }
        else if (!strcmp(key, "create-devices")) NUMBER(v, spec->create_devices);
        else if (!strcmp(key, "tty")) NUMBER(v, spec->tty);
        else if (!strcmp(key, "console-size")) {
            NUMBER(rows, spec->console_rows);
            NUMBER(columns, spec->console_columns);
        }
        else if (!strcmp(key, "open-stdin")) NUMBER(v, spec->open_stdin);
        else if (!strcmp(key, "init")) NUMBER(v, spec->reaper);
        else if (!strcmp(key, "oom-score-adj")) {
            VALUE(v);
            spec->oom_score_adj = atoi(v);
            spec->oom_score_adj_set = 1;
        }
        else if (!strcmp(key, "log")) { VALUE(v); spec->log_path = v; }
        else if (!strcmp(key, "log-format")) {
            VALUE(v);
            if (!strcmp(v, "cri")) spec->log_format_cri = 1;
            else if (strcmp(v, "json-file")) FAIL("spec: unknown log format %s", v);
        }
        else if (!strcmp(key, "log-max-size")) NUMBER(v, spec->log_max_size);
        else if (!strcmp(key, "log-max-files")) NUMBER(v, spec->log_max_files);
        else if (!strcmp(key, "exit")) { VALUE(v); spec->exit_path = v; }
        else if (!strcmp(key, "socket")) { VALUE(v); spec->socket_path = v; }
        else if (!strcmp(key, "join-pid")) NUMBER(v, spec->join_pid);
        else FAIL("spec: unknown key %s", key);
    }
    if (!spec->id || !spec->args.count || !spec->exit_path || !spec->socket_path)
        FAIL("spec %s lacks one of id, arg, exit, socket", path);
    int has_layers = spec->overlay_options || (spec->lower_dirs.count && spec->upper_dir && spec->work_dir);
    if ((spec->vm_socket || spec->vm_member) && !spec->log_path) FAIL("spec %s: a VM container needs a log", path);
    if (spec->vm_member && !spec->vm_relay) FAIL("spec %s: a pod VM's container needs the relay of the VM's own", path);
    if (!spec->vm_socket && !spec->vm_relay && !spec->join_pid && (!spec->rootfs || !has_layers || !spec->log_path))
        FAIL("spec %s lacks one of rootfs, overlay (or lower, upper, work), log", path);
    for (size_t i = 0; i < spec->joined_namespace_count; i++)
        if (spec->clone_flags & spec->joined_namespaces[i].type) FAIL("spec %s: a namespace both made and joined", path);
    if (!spec->join_pid && (spec->clone_flags & CLONE_NEWUSER) && !spec->lower_dirs.count)
        FAIL("spec %s: a user namespace needs its layers as lower, upper and work", path);
    if (!spec->cwd) spec->cwd = "/";
    if (!spec->vm_agent_timeout) spec->vm_agent_timeout = 30;
    if (spec->log_max_files == 0) spec->log_max_files = 1;
    return 0;
}

int launch_spec_detach_bind_sources(struct launch_spec *spec, char *error, size_t error_size) {
    for (size_t i = 0; i < spec->mount_count; i++) {
        struct mount_entry *entry = &spec->mounts[i];
        if (!(entry->flags & MS_BIND)) continue;
        entry->source_fd = detached_bind_create(entry->source, (entry->flags & MS_REC) != 0);
        if (entry->source_fd < 0) FAIL("copying the mount source %s: %s", entry->source, strerror(errno));
    }
    return 0;
}
