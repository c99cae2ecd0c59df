// The agent's builtins (`builtins.h`) run on the host: tar streams made and read back, archives
// written by GNU tar and by pax writers, and hostile archives refused with nothing written outside.
#include "../agent.h"

#include <stdarg.h>

static int failures;

static void expect(int condition, const char *format, ...) {
    if (condition) return;
    va_list args;
    va_start(args, format);
    fprintf(stderr, "builtins_test: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    failures++;
}

// Runs a builtin in a child with `input` as its standard input and `output` as its standard output.
static int run2(const char *name, const char *argument, const char *second, const char *input, const char *output) {
    pid_t pid = fork();
    if (pid == 0) {
        if (input) dup2(open(input, O_RDONLY), 0);
        if (output) dup2(open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        _exit(agent_run_builtin(name, argument, second));
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run(const char *name, const char *argument, const char *input, const char *output) {
    return run2(name, argument, NULL, input, output);
}

static int shell(const char *format, ...) {
    char command[8192];
    va_list args;
    va_start(args, format);
    vsnprintf(command, sizeof command, format, args);
    va_end(args);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// In a network namespace of its own: the card appears only after the address builtin was asked
// (as a hot-plugged one does); the builtin waits for it, addresses it and sets it up.
static int address_a_late_card(void) {
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0) _exit(90);
        if (system("(sleep 0.3; ip link add late0 address 02:42:0a:09:00:07 type veth peer name late1) &") != 0) _exit(91);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        if (agent_run_builtin("address", "02:42:0a:09:00:07", "10.9.0.7/24") != 0) _exit(92);
        _exit(system("ip -4 -o addr show late0 | grep -q 'inet 10.9.0.7/24' && ip -o link show late0 | grep -q '[<,]UP[,>]'") == 0 ? 0 : 93);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void) {
    char base[] = "/tmp/builtins-test-XXXXXX";
    if (!mkdtemp(base)) return 1;
    char path[4200], other[4200];
    // A tree with a long name (pax), a long link, a fifo, owners and modes, made and read back.
    expect(shell("cd %s && mkdir -p src/d/sub/%0120d dst && echo hello > src/d/a.txt && ln -s a.txt src/d/link"
                 " && ln -s %0150d src/d/longlink && mkfifo src/d/fifo && echo deep > src/d/sub/%0120d/%090d"
                 " && head -c 100000 /dev/urandom > src/d/sub/bin && chown 1234:5678 src/d/sub/bin && chmod 751 src/d/sub/bin",
                 base, 0, 0, 0, 0, 0) == 0, "making the tree");
    snprintf(path, sizeof path, "%s/src/d", base);
    snprintf(other, sizeof other, "%s/out.tar", base);
    expect(run("archive", path, NULL, other) == 0, "archive of a tree");
    expect(shell("tar -tvf %s/out.tar | grep -q ' 1234/5678 .*d/sub/bin$'", base) == 0, "GNU tar reads the archive, owners kept");
    snprintf(path, sizeof path, "%s/dst", base);
    expect(run("extract", path, other, NULL) == 0, "extract of our own archive");
    expect(shell("cd %s && diff -r --no-dereference src/d dst/d 2>&1 | grep -v '^Only in src/d: fifo$' | grep -q .", base) != 0,
           "the tree comes back whole");
    expect(shell("stat -c '%%u:%%g %%a' %s/dst/d/sub/bin | grep -qx '1234:5678 751'", base) == 0, "owner and mode come back");
    // Archives from GNU tar (long-name records) and a pax writer.
    for (int format = 0; format < 2; format++) {
        snprintf(other, sizeof other, "%s/%s.tar", base, format ? "pax" : "gnu");
        expect(shell("cd %s/src && tar --format=%s -cf %s d", base, format ? "pax" : "gnu", other) == 0, "tar --format");
        snprintf(path, sizeof path, "%s/dst-%d", base, format);
        mkdir(path, 0755);
        expect(run("extract", path, other, NULL) == 0, "extract of a %s archive", format ? "pax" : "GNU");
        expect(shell("cd %s && diff -r --no-dereference src/d dst-%d/d 2>&1 | grep -v '^Only in src/d: fifo$' | grep -q .", base, format) != 0,
               "a %s archive comes out whole", format ? "pax" : "GNU");
    }
    // A pod's VM names its containers: each selects a cgroup beside the VM's own; a name that could
    // leave /sys/fs/cgroup (or is no name) is refused and leaves the selection as it was.
    expect(agent_select_container("", 0) == 0 && !strcmp(agent_cgroup, "/sys/fs/cgroup/container"), "the VM's own container");
    expect(agent_select_container("c0ffee000000", 0) == 0 && !strcmp(agent_cgroup, "/sys/fs/cgroup/container-c0ffee000000"),
           "a pod container's cgroup: %s", agent_cgroup);
    static const char *bad_names[] = {"../x", "a/b", "UPPER", "with space", "0123456789012345678901234567890123456789012345678901234567890123x"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        expect(agent_select_container(bad_names[i], 0) < 0 && errno == EINVAL && !strcmp(agent_cgroup, "/sys/fs/cgroup/container-c0ffee000000"),
               "container name %s refused", bad_names[i]);
    agent_select_container(NULL, 0);
    // Hostile archives: refused (4), nothing made outside the target.
    static const char *hostile[] = {
        "entry = tarfile.TarInfo('../escaped'); entry.size = 4; archive.addfile(entry, io.BytesIO(b'evil'))",
        "entry = tarfile.TarInfo('/escaped'); entry.size = 4; archive.addfile(entry, io.BytesIO(b'evil'))",
        "link = tarfile.TarInfo('up'); link.type = tarfile.SYMTYPE; link.linkname = '..'; archive.addfile(link)\n"
        "entry = tarfile.TarInfo('up/escaped'); entry.size = 4; archive.addfile(entry, io.BytesIO(b'evil'))",
    };
    for (int i = 0; i < 3; i++) {
        snprintf(other, sizeof other, "%s/hostile.tar", base);
        expect(shell("python3 -c \"import io, tarfile\narchive = tarfile.open('%s', 'w')\n%s\narchive.close()\"", other, hostile[i]) == 0,
               "writing hostile archive %d", i);
        snprintf(path, sizeof path, "%s/target", base);
        mkdir(path, 0755);
        expect(run("extract", path, other, NULL) == 4, "hostile archive %d refused", i);
        snprintf(path, sizeof path, "%s/escaped", base);
        expect(access(path, F_OK) != 0 && access("/escaped", F_OK) != 0, "hostile archive %d wrote nothing outside", i);
    }
    // A truncated archive and one that is no tar at all.
    expect(shell("head -c 1000 %s/out.tar > %s/short.tar && head -c 2048 /dev/urandom > %s/junk", base, base, base) == 0, "cutting");
    snprintf(path, sizeof path, "%s/target", base);
    snprintf(other, sizeof other, "%s/short.tar", base);
    expect(run("extract", path, other, NULL) == 4, "a truncated archive is refused");
    snprintf(other, sizeof other, "%s/junk", base);
    expect(run("extract", path, other, NULL) == 4, "random bytes are refused");
    // Paths that are not there or not directories.
    snprintf(path, sizeof path, "%s/nothing", base);
    expect(run("stat", path, NULL, "/dev/null") == 2, "stat of a missing path");
    expect(run("archive", path, NULL, "/dev/null") == 2, "archive of a missing path");
    snprintf(path, sizeof path, "%s/src/d/a.txt", base);
    expect(run("extract", path, other, NULL) == 3, "extract into a file");
    snprintf(path, sizeof path, "%s/src/d/link", base);
    snprintf(other, sizeof other, "%s/stat.out", base);
    expect(run("stat", path, NULL, other) == 0 && shell("head -n 1 %s | grep -q '^120777 5 ' && tail -n 1 %s | grep -qx a.txt", other, other) == 0,
           "stat of a symlink");
    // An overlay upper directory: a whiteout, an opaque directory, a hard link pair and placeholders.
    expect(shell("cd %s && mkdir -p upper/etc upper/opq upper/kept && mknod upper/gone c 0 0 && echo x > upper/kept/a"
                 " && ln upper/kept/a upper/kept/b && : > upper/etc/hosts && echo real > upper/etc/hostname"
                 " && python3 -c \"import os; os.setxattr('upper/opq', 'trusted.overlay.opaque', b'y')\"", base) == 0, "making an upper directory");
    snprintf(path, sizeof path, "%s/upper", base);
    snprintf(other, sizeof other, "%s/layer.tar", base);
    expect(run2("layer", path, "etc/hostname:etc/hosts:etc/resolv.conf", NULL, other) == 0, "layer of an upper directory");
    expect(shell("tar -tf %s/layer.tar | tr '\\n' ' ' | grep -qx 'etc/ etc/hostname gone.wh.gone kept/ kept/a kept/b opq/ opq/.wh..wh..opq '"
                 " || tar -tf %s/layer.tar | tr '\\n' ' ' | grep -qx 'etc/ etc/hostname .wh.gone kept/ kept/a kept/b opq/ opq/.wh..wh..opq '",
                 base, base) == 0, "the layer's entries: whiteout, opaque marker, no empty placeholder");
    expect(shell("tar -tvf %s/layer.tar | grep -q '^h.* kept/b link to kept/a$'", base) == 0, "a hard link stays one");
    snprintf(other, sizeof other, "%s/changes.out", base);
    expect(run("changes", path, NULL, other) == 0, "changes of an upper directory");
    expect(shell("tr '\\0' '\\n' < %s/changes.out | tr '\\n' '|' | grep -qx 'd 0 etc|f 0 etc/hostname|e 0 etc/hosts|w 0 gone|d 0 kept|f 0 kept/a|f 0 kept/b|d 0 opq|'",
                 base) == 0, "changes lists every entry with its kind");
    expect(address_a_late_card() == 0, "address waits for a card plugged in later and addresses it");
    // release: a sysfs tree with a card (virtio4) in function 0000:01:00.0 and slot 3 at 0000:01:00; its power is switched off.
    expect(shell("cd %s && mkdir -p sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/virtio4/net/eth1 sys/class/net sys/bus/pci/slots/3 sys/bus/pci/slots/4"
                 " && echo 02:42:0a:09:00:08 > sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/virtio4/net/eth1/address"
                 " && ln -s ../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/virtio4/net/eth1 sys/class/net/eth1"
                 " && ln -s ../../../virtio4 sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/virtio4/net/eth1/device"
                 " && echo 0000:02:00 > sys/bus/pci/slots/4/address && echo 1 > sys/bus/pci/slots/4/power"
                 " && echo 0000:01:00 > sys/bus/pci/slots/3/address && echo 1 > sys/bus/pci/slots/3/power", base) == 0, "making a sysfs tree");
    snprintf(path, sizeof path, "%s/sys", base);
    expect(run2("release", "02:42:0a:09:00:08", path, NULL, NULL) == 0, "release of a plugged card");
    expect(shell("grep -qx 0 %s/sys/bus/pci/slots/3/power && grep -qx 1 %s/sys/bus/pci/slots/4/power", base, base) == 0,
           "the card's slot is powered off, no other");
    expect(run2("release", "02:42:0a:09:00:09", path, NULL, NULL) == 2, "release of a card that is not there");
    expect(run2("address", "02:42:0a:09:00:07", "10.9.0.7", NULL, NULL) == 1, "address without a prefix is refused");
    shell("rm -rf %s", base);
    if (failures) return 1;
    printf("builtins_test: all passed\n");
    return 0;
}
