// A container in a utility VM, seen from its shim: the guest agent runs the process; the shim
// keeps its log, attach clients, control socket and exit record exactly as for a native one.
#ifndef BERTH_SHIM_VM_CONTAINER_H
#define BERTH_SHIM_VM_CONTAINER_H

#include "agent_client.h"
#include "spec.h"

// The agent's process number for the container's own process.
#define VM_PROCESS 1

// Connects to the agent, checks its hello and mounts the container's root in the guest; returns
// the agent's descriptor, or -1 with a message in `error`.
int vm_prepare(const struct launch_spec *spec, struct agent_reader *reader, char *error, size_t error_size);

// Runs the container's process. 0 when it started; else its exit code (126, 127, 125) with the
// reason in `error`.
int vm_run(int agent, struct agent_reader *reader, const struct launch_spec *spec, char *error, size_t error_size);

int vm_signal(int agent, int signal);
int vm_resize(int agent, int rows, int columns);

#endif
