// One berth-shim: everything the process holds for its container (the spec, its stdio, the control
// socket's clients, the utility VM's agent port, the exit) in one struct, and the functions of each
// concern that act on it: the control server (control_server.c), stdio and log relay
// (stdio_relay.c), the VM agent relay (agent_relay.c), and joining namespaces and cgroups from the
// host's side (namespaces_and_cgroups.c). main.c creates the container and runs the loop.
#ifndef BERTH_SHIM_SHIM_H
#define BERTH_SHIM_SHIM_H

#include "agent_client.h"
#include "log_writer.h"
#include "spec.h"

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MAX_CLIENTS 128
// A client that falls this far behind is dropped rather than stalling the container or the shim.
#define MAX_PENDING (8u << 20)

enum client_role { CLIENT_COMMAND, CLIENT_ATTACH, CLIENT_WAITER, CLIENT_RELAY };

struct client {
    int fd;
    enum client_role role;
    char line[512];
    size_t line_length;
    int wants_stdout, wants_stderr, wants_stdin;
    int input_closed; // an attach client that half-closed still receives output
    char *pending;
    size_t pending_length;
    // An exec's shim: frames for its agent process number pass both ways.
    struct agent_reader relay_reader;
    uint32_t relay_process;
};

struct shim {
    struct launch_spec spec;
    struct log_writer log_writer;
    struct client clients[MAX_CLIENTS];
    size_t client_count;
    int listen_fd, signal_fd, sync_fd;
    int output_fds[2]; // stdout and stderr readers; with a tty, the console master is [0]
    int stdin_fd;      // where attached input goes: a pipe, or the console master
    int console_fd;
    char *stdin_pending;
    size_t stdin_pending_length;
    // In a utility VM the agent's port carries output, input, signals and the exit (vm_container.c).
    // The container's shim owns the port; an exec's shim reaches it through a relay.
    int agent_fd;
    struct agent_reader agent_reader;
    uint32_t agent_process, next_relay_process;
    // Why the container ended when it was not its own doing; recorded with the exit.
    const char *exit_reason;
    pid_t container_pid;
    int started, exited, exit_code;
    // A utility VM's agent saw the OOM killer in the container's cgroup ("x" frame's " oom").
    int oom_killed;
    struct timespec exited_at;
};

// main.c
_Noreturn void fail_before_ready(struct shim *s, int code, const char *message);
void mark_exited(struct shim *s, int code);
// A failing call the shim goes on after, in its diagnostics file (berthd's shim.log).
void shim_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

// control_server.c: the control socket, its commands and its clients' roles (command, attach, waiter, relay).
int bind_control_socket(struct shim *s);
void accept_client(struct shim *s);
void read_client(struct shim *s, size_t index);
void flush_client(struct shim *s, size_t index);
void remove_client(struct shim *s, size_t index);
// Sends now what the socket takes, queues the rest; -1 for a client too far behind.
int client_send(struct client *client, const char *bytes, size_t length);

// stdio_relay.c: the container's output to the log and attach clients, its input from them.
void read_output(struct shim *s, int stream);
void broadcast_output(struct shim *s, int stream, const char *bytes, size_t length);
void queue_stdin(struct shim *s, const char *bytes, size_t length);
void flush_stdin(struct shim *s);
void close_container_stdin(struct shim *s);

// agent_relay.c: a utility VM's agent port, and the frames of execs relayed through it.
void read_agent(struct shim *s);
void handle_agent_frames(struct shim *s);
void relay_to_agent(struct shim *s, size_t index);

// namespaces_and_cgroups.c: what the host side does for init between clone and exec.
struct sock_fprog *load_seccomp_filter(const char *path);
void write_id_map(struct shim *s, pid_t pid, const char *file, const char *map);
void set_oom_score_adj(struct shim *s, pid_t pid, int value);
void join_cgroups(struct shim *s, pid_t pid);

#endif
