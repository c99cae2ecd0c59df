// The host side of a container's setup between clone and exec: its user namespace's id maps, its
// oom score, its cgroups, and the seccomp filter init installs.
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sock_fprog *load_seccomp_filter(const char *path) {
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

void write_id_map(struct shim *s, pid_t pid, const char *file, const char *map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) < 0) {
        char message[256];
        snprintf(message, sizeof message, "writing %s: %s", file, strerror(errno));
        fail_before_ready(s, 125, message);
    }
    close(fd);
}

// Written from here: init, once root of its own user namespace, is not the owner of its /proc files.
void set_oom_score_adj(struct shim *s, pid_t pid, int value) {
    char path[64], text[16];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
    int length = snprintf(text, sizeof text, "%d", value);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, (size_t)length) != length) {
        char message[128];
        snprintf(message, sizeof message, "setting oom_score_adj: %s", strerror(errno));
        fail_before_ready(s, 125, message);
    }
    close(fd);
}

void join_cgroups(struct shim *s, pid_t pid) {
    char text[32];
    int length = snprintf(text, sizeof text, "%d", pid);
    for (size_t i = 0; i < s->spec.cgroup_procs.count; i++) {
        int fd = open(s->spec.cgroup_procs.items[i], O_WRONLY | O_CLOEXEC);
        int written = fd >= 0 ? (int)write(fd, text, (size_t)length) : -1;
        int saved = errno;
        if (fd >= 0) close(fd);
        if (written >= 0) continue;
        // An init that already failed its setup is gone; its own report says why.
        if (saved == ESRCH) return;
        char message[4200];
        snprintf(message, sizeof message, "joining cgroup %s: %s", s->spec.cgroup_procs.items[i], strerror(saved));
        fail_before_ready(s, 125, message);
    }
}
