// A container in a utility VM, seen from its shim: the guest agent runs the process; the shim
// keeps its log, attach clients, control socket and exit record exactly as for a native one.
// QEMU serves the agent's port to one client, the container's shim; an exec's shim reaches the
// agent through it (`relay` on its control socket), with a process number of its own.
#ifndef BERTH_SHIM_VM_CONTAINER_H
#define BERTH_SHIM_VM_CONTAINER_H

#include "agent_client.h"
#include "spec.h"

// The agent's process number for the container's own process; execs get the numbers after it.
#define VM_PROCESS 1

// Connects to the agent, checks its hello and mounts the container's root in the guest; returns
// the agent's descriptor, or -1 with a message in `error`.
int vm_prepare(const struct launch_spec *spec, struct agent_reader *reader, char *error, size_t error_size);

// Sets up a pod VM's container through the relay of the VM's own container, under its relay's
// process number: the spec's settings (its files, its cgroup's limits) and the mounts of its root.
int vm_prepare_member(int relay, struct agent_reader *reader, const struct launch_spec *spec, uint32_t process, char *error,
                      size_t error_size);

// Asks the container's shim at `container_socket` to relay agent frames for a new process; returns
// the relay's descriptor and that process's number, or -1 with a message in `error`.
int vm_relay_connect(const char *container_socket, uint32_t *process, char *error, size_t error_size);

// Runs the spec's process as agent process `process`. 0 when it started, with its pid in the guest
// in `guest_pid`; else its exit code (126, 127, 125) with the reason in `error`.
int vm_run(int agent, struct agent_reader *reader, const struct launch_spec *spec, uint32_t process, pid_t *guest_pid,
           char *error, size_t error_size);

int vm_signal(int agent, uint32_t process, int signal);
int vm_resize(int agent, uint32_t process, int rows, int columns);

#endif
