// The container's first process between clone and exec: every step that must happen inside the
// new namespaces, in the order the kernel needs them.
#ifndef BERTH_SHIM_CONTAINER_INIT_H
#define BERTH_SHIM_CONTAINER_INIT_H

#include "spec.h"
#include <linux/filter.h>

struct init_stdio {
    int stdin_fd, stdout_fd, stderr_fd; // unused with a tty
};

// Never returns: execs the container's process, or reports SYNC_ERROR and exits.
_Noreturn void container_init(const struct launch_spec *spec, int sync_fd, const struct init_stdio *stdio,
                              const struct sock_fprog *seccomp);

// The same for a process joining a running container (exec): the shim has already entered the
// container's pid namespace for its children; the rest are entered here.
_Noreturn void exec_init(const struct launch_spec *spec, int sync_fd, const struct init_stdio *stdio,
                         const struct sock_fprog *seccomp);

#endif
