#include "detached_mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(...) do { snprintf(error, error_size, __VA_ARGS__); goto out; } while (0)

// A private copy of the tree at `path` that shows its owners through the user namespace `userns_fd`.
static int idmapped_clone(const char *path, int userns_fd) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return -1;
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        int saved = errno;
        close(tree);
        errno = saved;
        return -1;
    }
    return tree;
}

// The host id the container's root maps to, from a "0 <host> <count>" map line.
static long mapped_root(const char *map) {
    for (const char *line = map; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        unsigned long inside, outside, count;
        if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && count > 0) return (long)outside;
    }
    return -1;
}

// overlayfs works in its upper and work directories with the credentials it was created with; those
// must be the container's root as the idmapped mounts see it, not the host's root (unmapped there).
// Changing the fs ids clears the file capabilities from the effective set; capset puts them back.
static int become_mapped_root(long uid, long gid, struct __user_cap_data_struct saved[2]) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    if (syscall(SYS_capget, &header, saved) < 0) return -1;
    setfsgid((gid_t)gid);
    setfsuid((uid_t)uid);
    return (int)syscall(SYS_capset, &header, saved);
}

static void become_host_root(struct __user_cap_data_struct saved[2]) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    setfsuid(0);
    setfsgid(0);
    syscall(SYS_capset, &header, saved);
}

int detached_root_create(pid_t child, const struct launch_spec *spec, char *error, size_t error_size) {
    int result = -1, userns_fd = -1, upper_tree = -1, upper_fd = -1, work_fd = -1, context = -1;
    int *lower_trees = calloc(spec->lower_dirs.count, sizeof *lower_trees);
    char path[4096];
    if (!lower_trees) FAIL("out of memory");
    for (size_t i = 0; i < spec->lower_dirs.count; i++) lower_trees[i] = -1;
    long root_uid = mapped_root(spec->uid_map), root_gid = mapped_root(spec->gid_map);
    if (root_uid < 0 || root_gid < 0) FAIL("the user namespace maps no root");
    snprintf(path, sizeof path, "/proc/%d/ns/user", child);
    userns_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (userns_fd < 0) FAIL("opening %s: %s", path, strerror(errno));
    for (size_t i = 0; i < spec->lower_dirs.count; i++) {
        lower_trees[i] = idmapped_clone(spec->lower_dirs.items[i], userns_fd);
        if (lower_trees[i] < 0) FAIL("idmapping layer %s: %s", spec->lower_dirs.items[i], strerror(errno));
    }
    // upper and work must be on one mount: clone their common parent and open both inside it.
    snprintf(path, sizeof path, "%s", spec->upper_dir);
    upper_tree = idmapped_clone(dirname(path), userns_fd);
    if (upper_tree < 0) FAIL("idmapping %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s", spec->upper_dir);
    upper_fd = openat(upper_tree, basename(path), O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof path, "%s", spec->work_dir);
    work_fd = openat(upper_tree, basename(path), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (upper_fd < 0 || work_fd < 0) FAIL("opening the upper and work directories: %s", strerror(errno));

    context = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (context < 0) FAIL("opening an overlay: %s", strerror(errno));
    // Layers by descriptor need Linux 6.13's "lowerdir+" over the new mount API.
    for (size_t i = 0; i < spec->lower_dirs.count; i++)
        if (syscall(SYS_fsconfig, context, FSCONFIG_SET_FD, "lowerdir+", NULL, lower_trees[i]) < 0)
            FAIL("adding layer %s to the overlay: %s (user namespaces need Linux 6.13 or newer)",
                 spec->lower_dirs.items[i], strerror(errno));
    if (syscall(SYS_fsconfig, context, FSCONFIG_SET_FD, "upperdir", NULL, upper_fd) < 0 ||
        syscall(SYS_fsconfig, context, FSCONFIG_SET_FD, "workdir", NULL, work_fd) < 0)
        FAIL("setting the overlay's upper directory: %s", strerror(errno));
    struct __user_cap_data_struct saved[2];
    if (become_mapped_root(root_uid, root_gid, saved) < 0) FAIL("taking the container root's ids: %s", strerror(errno));
    int created = (int)syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int saved_errno = errno;
    become_host_root(saved);
    if (created < 0) FAIL("creating the root overlay: %s", strerror(saved_errno));
    result = (int)syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, 0);
    if (result < 0) FAIL("mounting the root overlay: %s", strerror(errno));
out:
    if (lower_trees)
        for (size_t i = 0; i < spec->lower_dirs.count; i++) if (lower_trees[i] >= 0) close(lower_trees[i]);
    free(lower_trees);
    int fds[] = {userns_fd, upper_tree, upper_fd, work_fd, context};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) if (fds[i] >= 0) close(fds[i]);
    return result;
}

int detached_bind_create(const char *path, int recursive) {
    return (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
}

int detached_mount_attach(int mount_fd, int target_fd) {
    return (int)syscall(SYS_move_mount, mount_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}
