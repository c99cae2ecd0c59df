// Linux interfaces Swift's Glibc module does not expose, and helpers that must be written in C.
#include <sys/xattr.h>
#include <sys/vfs.h>
#include <sys/types.h>

// Starts `path` with `argv` and `envp` through posix_spawn: stdin from /dev/null, stdout and
// stderr onto the given fds, every signal unblocked and at its default. Threads of the daemon
// block signals, and a child started from one would otherwise inherit that mask.
// Returns 0 and sets *pid, or an errno value.
int berth_spawn(const char *path, char *const argv[], char *const envp[], int stdout_fd, int stderr_fd, pid_t *pid);

// berth_spawn for a VM's QEMU: without transparent huge pages (PR_SET_THP_DISABLE: QEMU asks for
// them on its code buffer and heap, which then cost whole 2 MiB pages) and, with `merge_memory`,
// with its whole memory offered to kernel same-page merging (PR_SET_MEMORY_MERGE) and its address
// space laid out without randomisation (ADDR_NO_RANDOMIZE). All are kept across exec and set in the
// child between fork and exec, so neither the daemon nor its other children are marked. Returns 0
// and sets *pid, or an errno value.
int berth_spawn_vm(const char *path, char *const argv[], char *const envp[], int stdout_fd, int stderr_fd, int merge_memory,
                   pid_t *pid);

// Sends `bytes` on a unix stream socket with `descriptor` attached (SCM_RIGHTS), as one sendmsg;
// returns what sendmsg does.
ssize_t berth_send_with_descriptor(int socket, const void *bytes, size_t length, int descriptor);

// pipe2(fds, O_CLOEXEC), which Swift's Glibc module does not declare.
int berth_pipe_cloexec(int fds[2]);

// openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` resolved as if `root_fd` were "/",
// so no symlink inside can lead out. Returns an fd or -1 with errno.
int berth_open_in_root(int root_fd, const char *path, int flags);
// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: `path` below `directory_fd` through no symlink
// at all (with O_PATH | O_NOFOLLOW a final symlink itself is returned); -1 with errno otherwise.
int berth_open_beneath(int directory_fd, const char *path, int flags);

/// Sets the calling thread's filesystem uid and gid and keeps its file capabilities effective
/// (the kernel clears them when the fsuid leaves 0). Only this thread is affected; 0/-1.
int berth_set_thread_fs_ids(unsigned uid, unsigned gid);

// Moves the calling thread into the network namespace `fd` names (setns), or into a new one (unshare).
int berth_enter_network_namespace(int fd);
int berth_new_network_namespace(void);


// Opens /dev/net/tun as the TAP interface `name` (made if missing; not persistent, so it goes when
// the last descriptor closes), with virtio-net headers as QEMU's tap backend uses them. Returns the
// descriptor (close-on-exec) or -1 with errno.
int berth_open_tap(const char *name);
