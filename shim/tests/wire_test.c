// The shim's side of the wire formats it shares with berthd and the guest agent, against the golden
// files in Tests/Fixtures/wire (Swift's tests check the same files from their side):
// - agent-frames.txt / .bin: agent_frame_header encodes each described frame to exactly the .bin,
//   and agent_read + agent_next_frame read the .bin, written in small pieces, back into them;
// - launch-spec-NAME.bin, written by Swift's LaunchSpec: launch_spec_load reads it into the fields
//   launch-spec-NAME.txt lists. `wire_test --print DIR` prints what the shim reads, to write those.
#include "../agent_client.h"
#include "../spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int failures;

#define CHECK(condition, ...) do { if (!(condition)) { fprintf(stderr, "wire_test: " __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

static char *read_whole(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(2); }
    char *buffer = NULL;
    size_t length = 0, capacity = 0;
    for (;;) {
        if (capacity - length < 4096) {
            capacity = capacity ? capacity * 2 : 8192;
            if (!(buffer = realloc(buffer, capacity))) { perror("realloc"); exit(2); }
        }
        size_t count = fread(buffer + length, 1, capacity - length - 1, file);
        length += count;
        if (count == 0) break;
    }
    fclose(file);
    buffer[length] = '\0';
    *size = length;
    return buffer;
}

struct described_frame {
    char kind;
    uint32_t process;
    char payload[512];
    size_t length;
};

// agent-frames.txt: "kind process [payload-hex]" per line, '#' starts a comment line.
static size_t read_described(const char *path, struct described_frame *frames, size_t capacity) {
    size_t size, count = 0;
    char *text = read_whole(path, &size);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if (count == capacity) { fprintf(stderr, "wire_test: too many frames in %s\n", path); exit(2); }
        struct described_frame *frame = &frames[count++];
        char hex[1100] = "";
        unsigned long process;
        if (sscanf(line, "%c %lu %1099s", &frame->kind, &process, hex) < 2) { fprintf(stderr, "wire_test: bad line %s\n", line); exit(2); }
        frame->process = (uint32_t)process;
        frame->length = strlen(hex) / 2;
        for (size_t i = 0; i < frame->length; i++) {
            unsigned byte;
            sscanf(hex + 2 * i, "%2x", &byte);
            frame->payload[i] = (char)byte;
        }
    }
    free(text);
    return count;
}

static void check_agent_frames(const char *directory) {
    char path[4096];
    struct described_frame frames[32];
    snprintf(path, sizeof path, "%s/agent-frames.txt", directory);
    size_t count = read_described(path, frames, 32);
    size_t golden_size;
    snprintf(path, sizeof path, "%s/agent-frames.bin", directory);
    char *golden = read_whole(path, &golden_size);
    CHECK(count == 11, "agent-frames.txt: %zu frames, expected 11", count);

    // Encoding: header then payload, as agent_send writes them.
    char encoded[8192];
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        agent_frame_header(encoded + offset, frames[i].kind, frames[i].process, frames[i].length);
        memcpy(encoded + offset + AGENT_HEADER_SIZE, frames[i].payload, frames[i].length);
        offset += AGENT_HEADER_SIZE + frames[i].length;
    }
    CHECK(offset == golden_size && memcmp(encoded, golden, golden_size) == 0, "agent frames: encoded bytes differ from agent-frames.bin");

    // Reading: through a socket, in pieces smaller than a header, as the agent's port delivers them.
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) < 0) { perror("socketpair"); exit(2); }
    struct agent_reader reader = {0};
    struct agent_frame frame;
    size_t seen = 0;
    for (size_t start = 0; start < golden_size; start += 5) {
        size_t piece = golden_size - start < 5 ? golden_size - start : 5;
        if (write(ends[1], golden + start, piece) != (ssize_t)piece) { perror("write"); exit(2); }
        CHECK(agent_read(ends[0], &reader) == 1, "agent_read failed");
        while (agent_next_frame(&reader, &frame)) {
            if (seen < count) {
                const struct described_frame *expected = &frames[seen];
                CHECK(frame.kind == expected->kind && frame.process == expected->process && frame.length == expected->length &&
                      memcmp(frame.payload, expected->payload, frame.length) == 0,
                      "agent frame %zu read back as kind %c process %u length %zu", seen, frame.kind, frame.process, frame.length);
            }
            seen++;
        }
    }
    CHECK(seen == count, "read %zu frames back, expected %zu", seen, count);
    close(ends[0]);
    close(ends[1]);
    free(reader.buffer);
    free(golden);
}

static void print_string(FILE *out, const char *name, const char *value) {
    fprintf(out, "%s ", name);
    if (!value) { fputs("(none)\n", out); return; }
    fputc('"', out);
    for (const char *c = value; *c; c++) {
        if (*c == '\n') fputs("\\n", out);
        else if (*c == '\t') fputs("\\t", out);
        else if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
        else fputc(*c, out);
    }
    fputs("\"\n", out);
}

static void print_list(FILE *out, const char *name, const struct string_list *list) {
    for (size_t i = 0; i < list->count; i++) print_string(out, name, list->items[i]);
}

static void print_mounts(FILE *out, const char *name, const struct mount_entry *mounts, size_t count) {
    for (size_t i = 0; i < count; i++) {
        fprintf(out, "%s %lu\n", name, mounts[i].flags);
        print_string(out, "  source", mounts[i].source);
        print_string(out, "  target", mounts[i].target);
        print_string(out, "  fstype", mounts[i].fstype);
        print_string(out, "  data", mounts[i].data);
    }
}

// Every field the shim acts on, one per line, in the struct's order.
static void print_spec(FILE *out, const struct launch_spec *spec) {
    print_string(out, "id", spec->id);
    print_list(out, "arg", &spec->args);
    print_list(out, "env", &spec->env);
    print_string(out, "cwd", spec->cwd);
    print_string(out, "hostname", spec->hostname);
    print_string(out, "rootfs", spec->rootfs);
    print_string(out, "overlay", spec->overlay_options);
    print_list(out, "lower", &spec->lower_dirs);
    print_string(out, "upper", spec->upper_dir);
    print_string(out, "work", spec->work_dir);
    print_mounts(out, "mount", spec->mounts, spec->mount_count);
    for (size_t i = 0; i + 1 < spec->sysctls.count; i += 2)
        fprintf(out, "sysctl %s=%s\n", spec->sysctls.items[i], spec->sysctls.items[i + 1]);
    if (spec->root_propagation) fprintf(out, "root-propagation %lu\n", spec->root_propagation);
    print_list(out, "masked", &spec->masked_paths);
    print_list(out, "readonly-path", &spec->readonly_paths);
    fprintf(out, "uid %u\ngid %u\n", (unsigned)spec->uid, (unsigned)spec->gid);
    for (size_t i = 0; i < spec->group_count; i++) fprintf(out, "group %u\n", (unsigned)spec->groups[i]);
    fprintf(out, "capabilities bounding %#llx effective %#llx permitted %#llx inheritable %#llx ambient %#llx\n",
            (unsigned long long)spec->cap_bounding, (unsigned long long)spec->cap_effective, (unsigned long long)spec->cap_permitted,
            (unsigned long long)spec->cap_inheritable, (unsigned long long)spec->cap_ambient);
    fprintf(out, "no-new-privileges %d\n", spec->no_new_privileges);
    print_string(out, "seccomp", spec->seccomp_filter);
    for (size_t i = 0; i < spec->rlimit_count; i++)
        fprintf(out, "rlimit %d soft %llu hard %llu\n", spec->rlimits[i].resource, (unsigned long long)spec->rlimits[i].soft,
                (unsigned long long)spec->rlimits[i].hard);
    fprintf(out, "clone-flags %#x\n", (unsigned)spec->clone_flags);
    print_string(out, "netns", spec->network_namespace);
    for (size_t i = 0; i < spec->joined_namespace_count; i++)
        fprintf(out, "join-namespace %#x %s\n", (unsigned)spec->joined_namespaces[i].type, spec->joined_namespaces[i].path);
    print_string(out, "uid-map", spec->uid_map);
    print_string(out, "gid-map", spec->gid_map);
    print_list(out, "cgroup-procs", &spec->cgroup_procs);
    fprintf(out, "readonly-rootfs %d\ncreate-devices %d\ntty %d\nconsole %ux%u\nopen-stdin %d\ninit %d\n", spec->readonly_rootfs,
            spec->create_devices, spec->tty, spec->console_rows, spec->console_columns, spec->open_stdin, spec->reaper);
    if (spec->oom_score_adj_set) fprintf(out, "oom-score-adj %d\n", spec->oom_score_adj);
    print_string(out, "log", spec->log_path);
    if (spec->log_format_cri) fprintf(out, "log-format cri\n");
    fprintf(out, "log-max-size %llu\nlog-max-files %u\n", (unsigned long long)spec->log_max_size, spec->log_max_files);
    print_string(out, "exit", spec->exit_path);
    print_string(out, "socket", spec->socket_path);
    fprintf(out, "join-pid %d\n", (int)spec->join_pid);
    print_string(out, "vm-socket", spec->vm_socket);
    print_mounts(out, "vm-mount", spec->vm_mounts, spec->vm_mount_count);
    print_string(out, "vm-root", spec->vm_root);
    for (size_t i = 0; i < spec->vm_request_count; i++) {
        fprintf(out, "vm-request %c\n", spec->vm_requests[i].kind);
        // The tokens as the agent will read them: key, then value.
        const char *token = spec->vm_requests[i].payload, *end = token + spec->vm_requests[i].length;
        while (token < end) {
            const char *value = token + strlen(token) + 1;
            fprintf(out, "  %s", token);
            print_string(out, "", value);
            token = value + strlen(value) + 1;
        }
    }
    fprintf(out, "vm-agent-timeout %u\n", spec->vm_agent_timeout);
    print_string(out, "vm-relay", spec->vm_relay);
    if (spec->vm_container) fprintf(out, "vm-container %s\nvm-member %d\n", spec->vm_container, spec->vm_member);
    if (spec->vm_pid_of) print_string(out, "vm-pid-of", spec->vm_pid_of);
    if (spec->vm_ipc_of) print_string(out, "vm-ipc-of", spec->vm_ipc_of);
}

static const char *const spec_names[] = {"native", "utility-vm", "exec", "utility-vm-exec", "pod-member", "pod-vm-member",
                                         "pod-vm-member-exec"};

static void check_launch_specs(const char *directory, int print) {
    for (size_t i = 0; i < sizeof spec_names / sizeof *spec_names; i++) {
        char path[4096], error[512];
        struct launch_spec spec;
        snprintf(path, sizeof path, "%s/launch-spec-%s.bin", directory, spec_names[i]);
        if (launch_spec_load(path, &spec, error, sizeof error) < 0) {
            CHECK(0, "%s", error);
            continue;
        }
        char *printed = NULL;
        size_t printed_size = 0;
        FILE *out = open_memstream(&printed, &printed_size);
        print_spec(out, &spec);
        fclose(out);
        if (print) {
            printf("== launch-spec-%s.txt\n%s", spec_names[i], printed);
        } else {
            size_t expected_size;
            snprintf(path, sizeof path, "%s/launch-spec-%s.txt", directory, spec_names[i]);
            char *expected = read_whole(path, &expected_size);
            CHECK(printed_size == expected_size && memcmp(printed, expected, expected_size) == 0,
                  "launch-spec-%s.bin reads as\n%s\nbut launch-spec-%s.txt says\n%s", spec_names[i], printed, spec_names[i], expected);
            free(expected);
        }
        free(printed);
    }
}

int main(int argc, char **argv) {
    int print = argc == 3 && !strcmp(argv[1], "--print");
    if (argc != 2 && !print) { fprintf(stderr, "usage: wire_test [--print] FIXTURES-DIRECTORY\n"); return 2; }
    const char *directory = argv[argc - 1];
    if (print) { check_launch_specs(directory, 1); return failures ? 1 : 0; }
    check_agent_frames(directory);
    check_launch_specs(directory, 0);
    if (failures) { fprintf(stderr, "wire_test: %d failures\n", failures); return 1; }
    printf("wire_test: agent frames and launch specs read and written as the golden files say\n");
    return 0;
}
