// The launch spec berthd writes for one container: NUL-terminated tokens, each key followed by a
// fixed number of values. Strings point into the file's buffer, which lives as long as the shim.
#ifndef BERTH_SHIM_SPEC_H
#define BERTH_SHIM_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mount_entry {
    const char *source;
    const char *target; // inside the container's root
    const char *fstype;
    unsigned long flags;
    const char *data;
    int source_fd; // with a user namespace: the bind as a detached mount the shim made, else -1
};

struct rlimit_entry {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

struct string_list {
    const char **items; // NULL-terminated
    size_t count;
};

struct launch_spec {
    const char *id;
    struct string_list args;
    struct string_list env;
    const char *cwd;
    const char *hostname;
    const char *rootfs;           // empty directory the overlay is mounted on
    const char *overlay_options;  // lowerdir=…,upperdir=…,workdir=… (without a user namespace)
    struct string_list lower_dirs; // with a user namespace: the layers, top first, idmapped one by one
    const char *upper_dir, *work_dir; // siblings, with a user namespace
    struct mount_entry *mounts;
    size_t mount_count;
    struct string_list sysctls; // name, value, name, value…: settings of the container's own namespaces
    struct string_list masked_paths;
    struct string_list readonly_paths;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t group_count;
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    int no_new_privileges;
    const char *seccomp_filter; // a file of struct sock_filter, or NULL
    struct rlimit_entry *rlimits;
    size_t rlimit_count;
    int clone_flags;              // CLONE_NEW* namespaces to create
    const char *network_namespace; // a pinned network namespace to join before those are made, or NULL
    // Other namespaces to enter before the clone instead of making them (another container's ipc,
    // uts or pid namespace, as /proc/PID/ns/KIND): the CLONE_NEW* flag and the path.
    struct joined_namespace {
        int type;
        const char *path;
    } *joined_namespaces;
    size_t joined_namespace_count;
    const char *uid_map, *gid_map; // "inside outside count" lines, with a user namespace
    struct string_list cgroup_procs; // cgroup.procs files the container joins
    int readonly_rootfs;
    unsigned long root_propagation; // 0 (private), MS_SLAVE or MS_SHARED
    int create_devices;           // the default /dev nodes (not with --privileged, which binds the host's)
    int private_cgroupns;         // a cgroup namespace of its own, rooted at the container's cgroups
    int tty;
    unsigned console_rows, console_columns; // the terminal's size from the start; 0 when not given
    int open_stdin;
    int reaper;                   // --init: PID 1 stays ours, reaping orphans and passing signals on
    int oom_score_adj_set;
    int oom_score_adj;
    const char *log_path;
    int log_format_cri;           // the Kubernetes CRI's log format instead of json-file
    uint64_t log_max_size;        // 0: no rotation
    unsigned log_max_files;
    const char *exit_path;        // where the exit status is recorded
    const char *socket_path;      // the control socket
    pid_t join_pid;               // exec: enter this container init's namespaces instead of making new ones
    // A container in a utility VM: the agent's socket, the mounts that make its root in the guest
    // (source, target, fstype, flags with MS_RDONLY, options) and that root; no namespaces here.
    const char *vm_socket;
    struct mount_entry *vm_mounts;
    size_t vm_mount_count;
    const char *vm_root;
    // Settings the agent applies before the mounts (network, files): a message kind and its tokens,
    // which lie in the spec's buffer exactly as the agent's payload wants them.
    struct vm_request {
        char kind;
        const char *payload;
        size_t length;
    } *vm_requests;
    size_t vm_request_count;
    unsigned vm_agent_timeout; // seconds the agent has to say hello
    const char *vm_relay; // an exec in a utility VM: the container shim's socket, which relays to the agent
    // In a VM that holds several containers (a pod's): the one this process belongs to, by the
    // agent's name for it; with `vm_member`, the process is that container's init, whose root the
    // VM's own container's shim relays the mounts for.
    const char *vm_container;
    int vm_member;
    // A pod VM's container that shares the PID or IPC namespace of another container of the VM,
    // by the agent's name for it ("" for the VM's own container).
    const char *vm_pid_of;
    const char *vm_ipc_of;
};

// Makes every bind's source a detached mount while the shim can still reach it: a container's root
// in its own user namespace may not search berthd's private directories. -1 with a message on failure.
int launch_spec_detach_bind_sources(struct launch_spec *spec, char *error, size_t error_size);

// Reads and checks `path` (an exec spec, with join-pid, needs no root, overlay or log); on failure returns -1 with a message in `error`.
int launch_spec_load(const char *path, struct launch_spec *spec, char *error, size_t error_size);

#endif
