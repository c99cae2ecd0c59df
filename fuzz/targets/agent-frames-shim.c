// berth-shim's reader of the frames a utility VM's guest sends (shim/agent_client.c): the guest is
// not trusted, so no length it claims may read outside what arrived.
#include "agent_client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct agent_reader reader = {.buffer = malloc(size ? size : 1), .length = size, .capacity = size, .consumed = 0};
    if (!reader.buffer) return 0;
    memcpy(reader.buffer, data, size);
    struct agent_frame frame;
    size_t seen = 0;
    while (agent_next_frame(&reader, &frame)) {
        // Touch every payload byte, so a length past the buffer is caught by AddressSanitizer.
        for (size_t i = 0; i < frame.length; i++) seen += (unsigned char)frame.payload[i];
    }
    free(reader.buffer);
    return seen == SIZE_MAX;
}
