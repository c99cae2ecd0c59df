// A utility VM's agent port: the container's output and exit arrive as frames, and frames for an
// exec's process number pass between the agent and that exec's shim.
#include "shim.h"
#include "vm_container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

// An exec's frames go on to the agent, under its own process number only.
void relay_to_agent(struct shim *s, size_t index) {
    struct client *client = &s->clients[index];
    int status = agent_read(client->fd, &client->relay_reader);
    struct agent_frame frame;
    while (agent_next_frame(&client->relay_reader, &frame))
        if (frame.process == client->relay_process && strchr("rickzmw", frame.kind) &&
            agent_send(s->agent_fd, frame.kind, frame.process, frame.payload, frame.length) < 0)
            shim_log("relaying exec process %u's frame to the VM: %s", frame.process, strerror(errno));
    if (status <= 0) remove_client(s, index);
}

static void relay_to_exec(struct shim *s, const struct agent_frame *frame) {
    for (size_t i = 0; i < s->client_count; i++) {
        struct client *client = &s->clients[i];
        if (client->role != CLIENT_RELAY || client->relay_process != frame->process) continue;
        char header[AGENT_HEADER_SIZE];
        agent_frame_header(header, frame->kind, frame->process, frame->length);
        if (client_send(client, header, sizeof header) < 0 || client_send(client, frame->payload, frame->length) < 0) remove_client(s, i);
        return;
    }
}

// Output and the exit from the VM's agent; all output comes before the exit, so the exit ends it.
void read_agent(struct shim *s) {
    int status = agent_read(s->agent_fd, &s->agent_reader);
    handle_agent_frames(s);
    // The VM died (killed, crashed, powered off) with the process still running.
    if (status <= 0 && !s->exited) {
        mark_exited(s, 137);
        s->exit_reason = "the utility VM stopped while the container ran";
        s->output_fds[0] = -1;
    }
}

// The frames read but not yet handled: a wait for one answer (the start's) reads whatever came
// with it, and nothing more may arrive on the port to wake the loop for them.
void handle_agent_frames(struct shim *s) {
    struct agent_frame frame;
    while (agent_next_frame(&s->agent_reader, &frame)) {
        if (frame.process != s->agent_process) {
            if (s->spec.vm_socket) relay_to_exec(s, &frame);
            continue;
        }
        if (frame.kind == 'o' || frame.kind == 'e') {
            int stream = frame.kind == 'o' ? 0 : 1;
            log_writer_append(&s->log_writer, stream, frame.payload, frame.length);
            broadcast_output(s, stream, frame.payload, frame.length);
        } else if (frame.kind == 'x') {
            char text[16];
            size_t length = frame.length < sizeof text - 1 ? frame.length : sizeof text - 1;
            memcpy(text, frame.payload, length);
            text[length] = '\0';
            mark_exited(s, atoi(text));
            s->oom_killed = strstr(text, " oom") != NULL;
            s->output_fds[0] = -1;
        }
    }
}
