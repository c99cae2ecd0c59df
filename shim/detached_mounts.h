// Mounts made by the shim, privileged in the host's user namespace, and handed to an init that has
// its own user namespace, which may neither idmap layers nor search berthd's private directories.
// Detached mounts (open_tree, fsmount) belong to no namespace, so init may attach them in its own.
#ifndef BERTH_SHIM_DETACHED_MOUNTS_H
#define BERTH_SHIM_DETACHED_MOUNTS_H

#include "spec.h"

// The container's root: every layer mounted through an idmapped mount (so the container's ids see
// the image's files as their own while the disk keeps the image's ids) and the overlay assembled
// from those. Returns the detached overlay, or -1 with a message in `error`.
int detached_root_create(pid_t child, const struct launch_spec *spec, char *error, size_t error_size);

// A detached copy of the tree at `path` (with its submounts when `recursive`); -1 with errno.
int detached_bind_create(const char *path, int recursive);

// Attaches a detached mount on the directory or file open as `target_fd`; -1 with errno.
int detached_mount_attach(int mount_fd, int target_fd);

#endif
