// The shim runs from a sealed in-memory copy of its binary, never from the file on the host.
#pragma once

// Returns when this process already runs from the sealed copy; otherwise re-executes itself from
// a new one with the same arguments, or returns -1 with errno if it cannot make one.
int run_from_sealed_copy(char **argv);
