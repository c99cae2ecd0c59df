// What the host asks of a VM container besides running its programs: `cp` both ways, `top`,
// `pause`, `diff`, `commit`, `stats` and `network connect`. The initramfs holds no tar or ps, and the container's image may hold none either, so a
// forked child of the agent does the work in C: tar streams are ustar with pax records where a
// field does not fit (as the host's libarchive writes them), made and read inside the container's
// root, which the child has entered, so every path is resolved inside it.
// Exit statuses the host reads: 0 done, 2 no such path, 3 not a directory, 4 a bad or unsafe
// archive, 1 anything else; the reason is on standard error.

#define BUILTIN_FAILED 1
#define BUILTIN_NOT_FOUND 2
#define BUILTIN_NOT_A_DIRECTORY 3
#define BUILTIN_BAD_ARCHIVE 4
#define TAR_BLOCK 512
// Bounds a pax or GNU long-name record, so a hostile archive cannot make the guest allocate at will.
#define TAR_MAX_RECORD (1u << 20)

static int builtin_fail(int status, const char *what, const char *path) {
    char line[4400];
    int length = snprintf(line, sizeof line, "%s%s%s%s%s\n", what, path ? " " : "", path ? path : "", errno ? ": " : "",
                          errno ? strerror(errno) : "");
    if (length > 0) (void)!write(2, line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
    return status;
}

static int tar_write_all(int fd, const void *data, size_t length) {
    const char *bytes = data;
    while (length) {
        ssize_t written = write(fd, bytes, length);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return -1;
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

static int tar_write_padding(int fd, unsigned long long size) {
    static const char zeros[TAR_BLOCK];
    size_t rest = (size_t)(size % TAR_BLOCK);
    return rest ? tar_write_all(fd, zeros, TAR_BLOCK - rest) : 0;
}

// `width` counts the field's terminating NUL.
static int tar_fits_octal(unsigned long long value, size_t width) { return value < (1ull << (3 * (width - 1))); }

static void tar_octal(char *field, size_t width, unsigned long long value) {
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0; value >>= 3) field[i] = (char)('0' + (value & 7));
}

// One pax record, "LENGTH key=value\n", whose LENGTH counts its own digits; 0 when it does not fit.
static size_t tar_pax_record(char *out, size_t room, const char *key, const char *value) {
    size_t body = strlen(key) + strlen(value) + 3, digits = 1, total = body + 1;
    for (;;) {
        total = body + digits;
        size_t needed = (size_t)snprintf(NULL, 0, "%zu", total);
        if (needed == digits) break;
        digits = needed;
    }
    if (total + 1 > room) return 0;
    snprintf(out, room, "%zu %s=%s\n", total, key, value);
    return total;
}

// The ustar name/prefix split of `name` (prefix ≤ 155 bytes, the rest ≤ 100): where the prefix ends, or NULL.
static const char *tar_prefix_split(const char *name, size_t length) {
    if (length > 256) return NULL;
    for (const char *slash = name; (slash = strchr(slash, '/')); slash++) {
        size_t prefix = (size_t)(slash - name), rest = length - prefix - 1;
        if (prefix <= 155 && rest > 0 && rest <= 100) return slash;
        if (prefix > 155) break;
    }
    return NULL;
}

static void tar_finish_header(char *header) {
    memcpy(header + 257, "ustar", 6);
    memcpy(header + 263, "00", 2);
    memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++) sum += (unsigned char)header[i];
    snprintf(header + 148, 8, "%06o", sum);
    header[155] = ' ';
}

// The header of one entry, preceded by a pax header when its name, link, size or ids need one.
static int tar_write_header(int out, const char *name, const struct stat *info, char type, const char *link) {
    size_t name_length = strlen(name), link_length = link ? strlen(link) : 0;
    unsigned long long size = type == '0' ? (unsigned long long)info->st_size : 0;
    const char *split = name_length > 100 ? tar_prefix_split(name, name_length) : NULL;
    char pax[3 * 4200 + 128];
    size_t pax_length = 0;
    char number[32];
    if (name_length > 100 && !split) pax_length += tar_pax_record(pax + pax_length, sizeof pax - pax_length, "path", name);
    if (link_length > 100) pax_length += tar_pax_record(pax + pax_length, sizeof pax - pax_length, "linkpath", link);
    if (!tar_fits_octal(size, 12)) {
        snprintf(number, sizeof number, "%llu", size);
        pax_length += tar_pax_record(pax + pax_length, sizeof pax - pax_length, "size", number);
    }
    if (!tar_fits_octal(info->st_uid, 8)) {
        snprintf(number, sizeof number, "%u", (unsigned)info->st_uid);
        pax_length += tar_pax_record(pax + pax_length, sizeof pax - pax_length, "uid", number);
    }
    if (!tar_fits_octal(info->st_gid, 8)) {
        snprintf(number, sizeof number, "%u", (unsigned)info->st_gid);
        pax_length += tar_pax_record(pax + pax_length, sizeof pax - pax_length, "gid", number);
    }
    char header[TAR_BLOCK];
    if (pax_length) {
        memset(header, 0, sizeof header);
        snprintf(header, 100, "PaxHeader/%.80s", name);
        tar_octal(header + 100, 8, 0644);
        tar_octal(header + 108, 8, 0);
        tar_octal(header + 116, 8, 0);
        tar_octal(header + 124, 12, pax_length);
        tar_octal(header + 136, 12, 0);
        header[156] = 'x';
        tar_finish_header(header);
        if (tar_write_all(out, header, sizeof header) < 0 || tar_write_all(out, pax, pax_length) < 0 ||
            tar_write_padding(out, pax_length) < 0)
            return -1;
    }
    memset(header, 0, sizeof header);
    if (split) {
        memcpy(header, split + 1, name_length - (size_t)(split - name) - 1);
        memcpy(header + 345, name, (size_t)(split - name));
    } else {
        memcpy(header, name, name_length < 100 ? name_length : 100);
    }
    tar_octal(header + 100, 8, info->st_mode & 07777);
    tar_octal(header + 108, 8, tar_fits_octal(info->st_uid, 8) ? info->st_uid : 0);
    tar_octal(header + 116, 8, tar_fits_octal(info->st_gid, 8) ? info->st_gid : 0);
    tar_octal(header + 124, 12, tar_fits_octal(size, 12) ? size : 0);
    tar_octal(header + 136, 12, info->st_mtim.tv_sec > 0 ? (unsigned long long)info->st_mtim.tv_sec : 0);
    header[156] = type;
    if (link) memcpy(header + 157, link, link_length < 100 ? link_length : 100);
    if (type == '3' || type == '4') {
        tar_octal(header + 329, 8, major(info->st_rdev));
        tar_octal(header + 337, 8, minor(info->st_rdev));
    }
    tar_finish_header(header);
    return tar_write_all(out, header, sizeof header);
}

// A regular file's bytes, exactly the size its header gave: a file that shrank meanwhile is padded.
static int tar_write_file(int out, int file, unsigned long long size) {
    char buffer[65536];
    unsigned long long left = size;
    while (left) {
        ssize_t count = read(file, buffer, left < sizeof buffer ? (size_t)left : sizeof buffer);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) return -1;
        if (count == 0) {
            memset(buffer, 0, sizeof buffer);
            count = left < sizeof buffer ? (ssize_t)left : (ssize_t)sizeof buffer;
        }
        if (tar_write_all(out, buffer, (size_t)count) < 0) return -1;
        left -= (unsigned long long)count;
    }
    return tar_write_padding(out, size);
}

static int tar_skip_dots(const struct dirent *entry) { return strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."); }

// Filesystems the kernel fills (the container's /proc, /sys, devpts, mqueue, cgroup): an archive
// holds their mount points, not what the kernel shows in them (`/proc/kcore` alone is the size of
// the address space), as the host's walk does.
static int tar_is_kernel_filesystem(const char *path) {
    static const long kinds[] = {0x9fa0, 0x62656572, 0x1cd1, 0x19800202, 0x27e0eb, 0x63677270, 0x73636673,
                                 0x64626720, 0x74726163, 0xcafe4a11, 0x42494e4d, 0x6165676c, 0x62656570, 0x65735543};
    struct statfs info;
    if (statfs(path, &info) < 0) return 0;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if ((long)info.f_type == kinds[i]) return 1;
    return 0;
}

// `path` (not followed when it is a symlink) as the entry `name`, and a directory's children after
// it in name order. An entry gone by the time it is read is left out, as the host's walk does.
static int tar_add(int out, const char *path, const char *name, int top) {
    struct stat info;
    if (lstat(path, &info) < 0) return top ? builtin_fail(BUILTIN_NOT_FOUND, "lstat", path) : 0;
    char entry[4200];
    if (S_ISREG(info.st_mode)) {
        int file = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (file < 0) return top ? builtin_fail(BUILTIN_FAILED, "opening", path) : 0;
        int failed = tar_write_header(out, name, &info, '0', NULL) < 0 || tar_write_file(out, file, (unsigned long long)info.st_size) < 0;
        close(file);
        return failed ? builtin_fail(BUILTIN_FAILED, "archiving", path) : 0;
    }
    if (S_ISLNK(info.st_mode)) {
        char target[4097];
        ssize_t length = readlink(path, target, sizeof target - 1);
        if (length < 0) return top ? builtin_fail(BUILTIN_FAILED, "reading the link", path) : 0;
        target[length] = '\0';
        return tar_write_header(out, name, &info, '2', target) < 0 ? builtin_fail(BUILTIN_FAILED, "archiving", path) : 0;
    }
    if (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode) || S_ISFIFO(info.st_mode)) {
        char type = S_ISCHR(info.st_mode) ? '3' : S_ISBLK(info.st_mode) ? '4' : '6';
        return tar_write_header(out, name, &info, type, NULL) < 0 ? builtin_fail(BUILTIN_FAILED, "archiving", path) : 0;
    }
    if (!S_ISDIR(info.st_mode)) return 0;
    int kernel_filesystem = tar_is_kernel_filesystem(path);
    // The whole root (export) is its entries, unprefixed.
    if (*name) {
        snprintf(entry, sizeof entry, "%s/", name);
        if (tar_write_header(out, entry, &info, '5', NULL) < 0) return builtin_fail(BUILTIN_FAILED, "archiving", path);
    }
    if (kernel_filesystem) return 0;
    struct dirent **children;
    int count = scandir(path, &children, tar_skip_dots, alphasort);
    if (count < 0) return top ? builtin_fail(BUILTIN_FAILED, "listing", path) : 0;
    int status = 0;
    for (int i = 0; i < count; i++) {
        char child[4200];
        if (!status) {
            snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "", children[i]->d_name);
            snprintf(entry, sizeof entry, "%s%s%s", name, *name ? "/" : "", children[i]->d_name);
            status = tar_add(out, child, entry, 0);
        }
        free(children[i]);
    }
    free(children);
    return status;
}

// `archive PATH`: PATH as a tar on standard output whose top entry is its base name ("/" gives
// the whole root's entries).
static int builtin_archive(const char *path) {
    char trimmed[4097];
    snprintf(trimmed, sizeof trimmed, "%s", path);
    size_t length = strlen(trimmed);
    while (length > 1 && trimmed[length - 1] == '/') trimmed[--length] = '\0';
    const char *slash = strrchr(trimmed, '/');
    const char *name = strcmp(trimmed, "/") ? (slash ? slash + 1 : trimmed) : "";
    int status = tar_add(1, trimmed, name, 1);
    if (status) return status;
    static const char end[2 * TAR_BLOCK];
    return tar_write_all(1, end, sizeof end) < 0 ? builtin_fail(BUILTIN_FAILED, "writing the archive", NULL) : 0;
}

// `stat PATH`: "MODE SIZE MTIME" (st_mode in octal) and, for a symlink, its target on the next line.
static int builtin_stat(const char *path) {
    struct stat info;
    if (lstat(path, &info) < 0) return builtin_fail(BUILTIN_NOT_FOUND, "lstat", path);
    char line[4200], target[4097] = "";
    if (S_ISLNK(info.st_mode)) {
        ssize_t length = readlink(path, target, sizeof target - 1);
        target[length > 0 ? length : 0] = '\0';
    }
    int length = snprintf(line, sizeof line, "%o %lld %lld\n%s", (unsigned)info.st_mode, (long long)info.st_size,
                          (long long)info.st_mtim.tv_sec, target);
    return tar_write_all(1, line, (size_t)length) < 0 ? BUILTIN_FAILED : 0;
}

static size_t tar_read_full(int fd, void *buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t count = read(fd, (char *)buffer + done, length - done);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        done += (size_t)count;
    }
    return done;
}

static int tar_skip(int fd, unsigned long long length) {
    char buffer[65536];
    while (length) {
        size_t chunk = length < sizeof buffer ? (size_t)length : sizeof buffer;
        if (tar_read_full(fd, buffer, chunk) != chunk) return -1;
        length -= chunk;
    }
    return 0;
}

// A numeric header field: octal text, or base-256 when its first byte has the high bit (GNU).
static unsigned long long tar_number(const char *field, size_t width) {
    unsigned long long value = 0;
    if ((unsigned char)field[0] & 0x80) {
        for (size_t i = 0; i < width; i++) value = (value << 8) | (unsigned char)(i ? field[i] : field[i] & 0x7f);
        return value;
    }
    for (size_t i = 0; i < width && field[i]; i++)
        if (field[i] >= '0' && field[i] <= '7') value = value * 8 + (unsigned long long)(field[i] - '0');
    return value;
}

static int tar_checksum_matches(const char *header) {
    unsigned sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)header[i];
    return sum == (unsigned)tar_number(header + 148, 8);
}

// The pax records that name the next entry: path, linkpath and size; others are ignored.
static void tar_read_pax(char *records, size_t length, char **path, char **link, long long *size) {
    char *cursor = records, *end = records + length;
    while (cursor < end) {
        char *after;
        unsigned long record = strtoul(cursor, &after, 10);
        if (!record || record > (unsigned long)(end - cursor) || *after != ' ') return;
        char *key = after + 1, *stop = cursor + record - 1, *equals = memchr(key, '=', (size_t)(stop - key));
        if (!equals || *stop != '\n') return;
        *stop = '\0';
        *equals = '\0';
        if (!strcmp(key, "path")) { free(*path); *path = strdup(equals + 1); }
        else if (!strcmp(key, "linkpath")) { free(*link); *link = strdup(equals + 1); }
        else if (!strcmp(key, "size")) *size = atoll(equals + 1);
        cursor += record;
    }
}

// Opens the directory that holds the entry `components` (count of them) names, below `target`,
// making missing ones as Docker does, never through a symlink; -1 when unsafe.
static int tar_open_parent(int target, char **components, int count) {
    int parent = dup(target);
    for (int i = 0; parent >= 0 && i < count - 1; i++) {
        int next = openat(parent, components[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && mkdirat(parent, components[i], 0755) == 0)
            next = openat(parent, components[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(parent);
        parent = next;
    }
    return parent;
}

static unsigned long long tar_padded(unsigned long long size) { return size + (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK; }

// One entry of an archive being extracted under `target`: a directory, a symlink or a regular file
// (others, and hard links, are skipped as the host's extraction skips them), then its padding.
static int tar_extract_entry(int in, int target, const char *header, const char *name, const char *link, unsigned long long size) {
    char copy[4200];
    snprintf(copy, sizeof copy, "%s", name);
    char *components[512];
    int count = 0;
    errno = 0;
    if (copy[0] == '/') return builtin_fail(BUILTIN_BAD_ARCHIVE, "unsafe path in the archive:", name);
    for (char *part = strtok(copy, "/"); part; part = strtok(NULL, "/")) {
        if (!strcmp(part, ".")) continue;
        if (!strcmp(part, "..") || count == 512) return builtin_fail(BUILTIN_BAD_ARCHIVE, "unsafe path in the archive:", name);
        components[count++] = part;
    }
    char type = header[156];
    int is_file = type == '0' || type == '\0' || type == '7';
    if (!count || (type != '5' && type != '2' && !is_file))
        return tar_skip(in, tar_padded(size)) < 0 ? builtin_fail(BUILTIN_BAD_ARCHIVE, "the archive ends early", NULL) : 0;
    int parent = tar_open_parent(target, components, count);
    if (parent < 0) return builtin_fail(BUILTIN_BAD_ARCHIVE, "unsafe path in the archive:", name);
    const char *last = components[count - 1];
    mode_t mode = (mode_t)(tar_number(header + 100, 8) & 07777);
    uid_t uid = (uid_t)tar_number(header + 108, 8);
    gid_t gid = (gid_t)tar_number(header + 116, 8);
    int status = 0;
    unsigned long long left = tar_padded(size);
    if (type == '5') {
        int directory = -1;
        if (mkdirat(parent, last, mode) < 0 && errno != EEXIST) status = builtin_fail(BUILTIN_FAILED, "mkdir", name);
        else if ((directory = openat(parent, last, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            errno = 0;
            status = builtin_fail(BUILTIN_BAD_ARCHIVE, "unsafe path in the archive:", name);
        } else {
            fchownat(directory, "", uid, gid, AT_EMPTY_PATH);
            close(directory);
        }
    } else if (type == '2') {
        unlinkat(parent, last, 0);
        if (symlinkat(link, parent, last) < 0) status = builtin_fail(BUILTIN_FAILED, "symlink", name);
        else fchownat(parent, last, uid, gid, AT_SYMLINK_NOFOLLOW);
    } else {
        unlinkat(parent, last, 0);
        int file = openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (file < 0) status = builtin_fail(BUILTIN_FAILED, "create", name);
        char buffer[65536];
        for (unsigned long long data = size; !status && data;) {
            size_t chunk = data < sizeof buffer ? (size_t)data : sizeof buffer;
            errno = 0;
            if (tar_read_full(in, buffer, chunk) != chunk) status = builtin_fail(BUILTIN_BAD_ARCHIVE, "the archive ends early", NULL);
            else if (tar_write_all(file, buffer, chunk) < 0) status = builtin_fail(BUILTIN_FAILED, "write", name);
            data -= chunk;
            left -= chunk;
        }
        if (file >= 0) {
            if (!status) {
                fchown(file, uid, gid);
                fchmod(file, mode);
            }
            close(file);
        }
    }
    close(parent);
    if (status) return status;
    errno = 0;
    return tar_skip(in, left) < 0 ? builtin_fail(BUILTIN_BAD_ARCHIVE, "the archive ends early", NULL) : 0;
}

// `extract PATH`: the tar on standard input unpacked into the directory PATH.
static int builtin_extract(const char *path) {
    int target = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (target < 0) return builtin_fail(errno == ENOENT ? BUILTIN_NOT_FOUND : BUILTIN_NOT_A_DIRECTORY, "not a directory:", path);
    char header[TAR_BLOCK], name[4200];
    char *long_path = NULL, *long_link = NULL;
    long long pax_size = -1;
    int status = 0;
    for (;;) {
        size_t count = tar_read_full(0, header, sizeof header);
        if (count == 0) break;
        errno = 0;
        if (count < sizeof header) { status = builtin_fail(BUILTIN_BAD_ARCHIVE, "the archive ends early", NULL); break; }
        int empty = 1;
        for (size_t i = 0; i < sizeof header && empty; i++) empty = !header[i];
        if (empty) break;
        if (!tar_checksum_matches(header)) { status = builtin_fail(BUILTIN_BAD_ARCHIVE, "not a tar archive", NULL); break; }
        unsigned long long size = tar_number(header + 124, 12);
        char type = header[156];
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            if (size > TAR_MAX_RECORD) { status = builtin_fail(BUILTIN_BAD_ARCHIVE, "an archive record is too large", NULL); break; }
            char *record = malloc(tar_padded(size) + 1);
            if (!record || tar_read_full(0, record, tar_padded(size)) != tar_padded(size)) {
                free(record);
                status = builtin_fail(BUILTIN_BAD_ARCHIVE, "the archive ends early", NULL);
                break;
            }
            record[size] = '\0';
            if (type == 'x') tar_read_pax(record, size, &long_path, &long_link, &pax_size);
            else if (type == 'L') { free(long_path); long_path = strdup(record); }
            else if (type == 'K') { free(long_link); long_link = strdup(record); }
            free(record);
            continue;
        }
        if (long_path) snprintf(name, sizeof name, "%s", long_path);
        else if (!memcmp(header + 257, "ustar", 5) && header[345]) snprintf(name, sizeof name, "%.155s/%.100s", header + 345, header);
        else snprintf(name, sizeof name, "%.100s", header);
        char link[4200];
        if (long_link) snprintf(link, sizeof link, "%s", long_link);
        else snprintf(link, sizeof link, "%.100s", header + 157);
        status = tar_extract_entry(0, target, header, name, link, pax_size >= 0 ? (unsigned long long)pax_size : size);
        free(long_path);
        free(long_link);
        long_path = long_link = NULL;
        pax_size = -1;
        if (status) break;
    }
    free(long_path);
    free(long_link);
    close(target);
    return status;
}

// `processes`: one line per process of the container's cgroup and those below it, for `top`:
// "UID STAT" with STAT the process's /proc/PID/stat, a tab, and its command line (spaces for NULs).
static int builtin_list_cgroup(const char *cgroup) {
    char path[4200], line[8192];
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
    FILE *procs = fopen(path, "re");
    if (!procs) return 0;
    int pid;
    while (fscanf(procs, "%d", &pid) == 1) {
        struct stat info;
        snprintf(path, sizeof path, "/proc/%d", pid);
        if (stat(path, &info) < 0) continue;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        int length = snprintf(line, sizeof line, "%u ", (unsigned)info.st_uid);
        ssize_t count = read(fd, line + length, sizeof line / 2);
        close(fd);
        if (count <= 0) continue;
        length += (int)count;
        while (length > 0 && line[length - 1] == '\n') length--;
        line[length++] = '\t';
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        count = fd >= 0 ? read(fd, line + length, sizeof line - (size_t)length - 1) : 0;
        if (fd >= 0) close(fd);
        for (ssize_t i = 0; i < count; i++) if (!line[length + i]) line[length + i] = ' ';
        length += count > 0 ? (int)count : 0;
        while (length > 0 && line[length - 1] == ' ') length--;
        line[length++] = '\n';
        if (tar_write_all(1, line, (size_t)length) < 0) { fclose(procs); return BUILTIN_FAILED; }
    }
    fclose(procs);
    struct dirent **children;
    int count = scandir(cgroup, &children, tar_skip_dots, alphasort);
    int status = 0;
    for (int i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", cgroup, children[i]->d_name);
        struct stat info;
        if (!status && children[i]->d_type == DT_DIR && stat(path, &info) == 0) status = builtin_list_cgroup(path);
        free(children[i]);
    }
    if (count >= 0) free(children);
    return status;
}

// `freeze 1` or `freeze 0`: the container's cgroup frozen or thawed, once the kernel says it is.
static int builtin_freeze(const char *state) {
    int want = !strcmp(state, "1");
    char path[160];
    agent_cgroup_file(path, sizeof path, "cgroup.freeze");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, want ? "1" : "0", 1) != 1) {
        if (fd >= 0) close(fd);
        return builtin_fail(BUILTIN_FAILED, "freezing the container's cgroup", NULL);
    }
    close(fd);
    char events[512], expected[16];
    snprintf(expected, sizeof expected, "frozen %d", want);
    for (int waited = 0; waited < 10000; waited += 5) {
        agent_cgroup_file(path, sizeof path, "cgroup.events");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t count = fd >= 0 ? read(fd, events, sizeof events - 1) : -1;
        if (fd >= 0) close(fd);
        if (count > 0) {
            events[count] = '\0';
            if (strstr(events, expected)) return 0;
        }
        usleep(5000);
    }
    errno = 0;
    return builtin_fail(BUILTIN_FAILED, "the container's cgroup did not change state in 10 s", NULL);
}

// `cgroup`: the container's cgroup counters and the guest's network counters, for `stats`: each
// file as "== NAME" on a line of its own, then its contents.
static int builtin_cgroup_files(void) {
    static const char *files[] = {"memory.current", "memory.peak", "memory.max", "memory.stat", "cpu.stat", "pids.current", "pids.max"};
    char path[256], buffer[16384];
    for (size_t i = 0; i <= sizeof files / sizeof *files; i++) {
        const char *name = i < sizeof files / sizeof *files ? files[i] : "net/dev";
        if (i < sizeof files / sizeof *files) agent_cgroup_file(path, sizeof path, name);
        else snprintf(path, sizeof path, "/proc/net/dev");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        int length = snprintf(buffer, sizeof buffer, "== %s\n", name);
        ssize_t count = read(fd, buffer + length, sizeof buffer - (size_t)length - 1);
        close(fd);
        if (count < 0) continue;
        length += (int)count;
        if (length > 0 && buffer[length - 1] != '\n') buffer[length++] = '\n';
        if (tar_write_all(1, buffer, (size_t)length) < 0) return BUILTIN_FAILED;
    }
    return 0;
}

// Whether `relative` is in any of the image's layers, mounted at /layers/0, /layers/1, ….
static int builtin_in_layers(const char *relative) {
    char path[4400];
    struct stat info;
    for (int layer = 0;; layer++) {
        snprintf(path, sizeof path, "/layers/%d", layer);
        if (stat(path, &info) < 0) return 0;
        snprintf(path, sizeof path, "/layers/%d/%s", layer, relative);
        if (lstat(path, &info) == 0) return 1;
    }
}

// `changes UPPER`: each entry of the overlay's upper directory, for `diff`, as "KIND IN_LAYERS
// PATH" and a NUL: KIND is w (a whiteout), e (an empty regular file), f (another regular file),
// d (a directory) or o (anything else); IN_LAYERS is 1 when an image layer has the path.
static int builtin_list_changes(const char *upper, const char *relative) {
    char directory[4300];
    snprintf(directory, sizeof directory, "%s%s%s", upper, *relative ? "/" : "", relative);
    struct dirent **children;
    int count = scandir(directory, &children, tar_skip_dots, alphasort);
    if (count < 0) return *relative ? 0 : builtin_fail(BUILTIN_NOT_FOUND, "listing", directory);
    int status = 0;
    for (int i = 0; i < count; i++) {
        char child[4300], path[8700], line[4400];
        snprintf(child, sizeof child, "%.4000s%s%.255s", relative, *relative ? "/" : "", children[i]->d_name);
        snprintf(path, sizeof path, "%s/%s", upper, child);
        free(children[i]);
        struct stat info;
        if (status || lstat(path, &info) < 0) continue;
        char kind = S_ISCHR(info.st_mode) && info.st_rdev == 0 ? 'w' : S_ISREG(info.st_mode) ? (info.st_size ? 'f' : 'e')
            : S_ISDIR(info.st_mode) ? 'd' : 'o';
        int length = snprintf(line, sizeof line, "%c %d %s", kind, builtin_in_layers(child), child);
        if (tar_write_all(1, line, (size_t)length + 1) < 0) status = BUILTIN_FAILED;
        else if (kind == 'd') status = builtin_list_changes(upper, child);
    }
    free(children);
    return status;
}

// Whether the directory `path` is an overlay's opaque one (what was below it is hidden).
static int layer_is_opaque(const char *path) {
    char marker = 0;
    return getxattr(path, "trusted.overlay.opaque", &marker, 1) == 1 && marker == 'y';
}

// Hard links already written, so that a second name of an inode becomes a link entry.
struct layer_links {
    dev_t *devices;
    ino_t *inodes;
    char **names;
    size_t count;
};

// `layer UPPER PLACEHOLDERS`: the overlay's upper directory as an OCI layer tar on standard
// output, for `commit`: entries in name order, whiteout devices as `.wh.NAME` files, opaque
// directories marked with `.wh..wh..opq`, hard links kept; the colon-separated PLACEHOLDERS
// (relative paths) are left out while they are empty files (mount points, not content).
static int layer_add_children(int out, const char *upper, const char *relative, const char *placeholders, struct layer_links *links) {
    char directory[4300];
    snprintf(directory, sizeof directory, "%s%s%s", upper, *relative ? "/" : "", relative);
    struct dirent **children;
    int count = scandir(directory, &children, tar_skip_dots, alphasort);
    if (count < 0) return builtin_fail(BUILTIN_FAILED, "listing", directory);
    int status = 0;
    for (int i = 0; i < count; i++) {
        char child[4300], path[8700], entry[4400];
        snprintf(child, sizeof child, "%.4000s%s%.255s", relative, *relative ? "/" : "", children[i]->d_name);
        snprintf(path, sizeof path, "%s/%s", upper, child);
        struct stat info;
        if (status || lstat(path, &info) < 0) { free(children[i]); continue; }
        if (S_ISREG(info.st_mode) && info.st_size == 0) {
            size_t length = strlen(child);
            const char *found = placeholders;
            while ((found = strstr(found, child)) &&
                   !((found == placeholders || found[-1] == ':') && (found[length] == ':' || found[length] == '\0')))
                found += length;
            if (found) { free(children[i]); continue; }
        }
        if (S_ISCHR(info.st_mode) && info.st_rdev == 0) {
            snprintf(entry, sizeof entry, "%s%s.wh.%s", relative, *relative ? "/" : "", children[i]->d_name);
            struct stat whiteout = info;
            whiteout.st_mode = S_IFREG | 0644;
            whiteout.st_size = 0;
            whiteout.st_uid = whiteout.st_gid = 0;
            if (tar_write_header(out, entry, &whiteout, '0', NULL) < 0) status = builtin_fail(BUILTIN_FAILED, "writing the layer", NULL);
        } else if (S_ISREG(info.st_mode)) {
            size_t seen = 0;
            while (info.st_nlink > 1 && seen < links->count && (links->devices[seen] != info.st_dev || links->inodes[seen] != info.st_ino)) seen++;
            if (info.st_nlink > 1 && seen < links->count) {
                if (tar_write_header(out, child, &info, '1', links->names[seen]) < 0) status = builtin_fail(BUILTIN_FAILED, "writing the layer", NULL);
            } else {
                if (info.st_nlink > 1) {
                    links->devices = realloc(links->devices, (links->count + 1) * sizeof *links->devices);
                    links->inodes = realloc(links->inodes, (links->count + 1) * sizeof *links->inodes);
                    links->names = realloc(links->names, (links->count + 1) * sizeof *links->names);
                    links->devices[links->count] = info.st_dev;
                    links->inodes[links->count] = info.st_ino;
                    links->names[links->count++] = strdup(child);
                }
                int file = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (file < 0 || tar_write_header(out, child, &info, '0', NULL) < 0 || tar_write_file(out, file, (unsigned long long)info.st_size) < 0)
                    status = builtin_fail(BUILTIN_FAILED, "adding to the layer", child);
                if (file >= 0) close(file);
            }
        } else if (S_ISLNK(info.st_mode)) {
            char target[4097];
            ssize_t length = readlink(path, target, sizeof target - 1);
            target[length > 0 ? length : 0] = '\0';
            if (length < 0 || tar_write_header(out, child, &info, '2', target) < 0) status = builtin_fail(BUILTIN_FAILED, "adding to the layer", child);
        } else if (S_ISDIR(info.st_mode)) {
            snprintf(entry, sizeof entry, "%s/", child);
            if (tar_write_header(out, entry, &info, '5', NULL) < 0) status = builtin_fail(BUILTIN_FAILED, "writing the layer", NULL);
            if (!status && layer_is_opaque(path)) {
                snprintf(entry, sizeof entry, "%s/.wh..wh..opq", child);
                struct stat marker = info;
                marker.st_mode = S_IFREG | 0644;
                marker.st_size = 0;
                marker.st_uid = marker.st_gid = 0;
                if (tar_write_header(out, entry, &marker, '0', NULL) < 0) status = builtin_fail(BUILTIN_FAILED, "writing the layer", NULL);
            }
            if (!status) status = layer_add_children(out, upper, child, placeholders, links);
        } else if (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode) || S_ISFIFO(info.st_mode)) {
            char type = S_ISCHR(info.st_mode) ? '3' : S_ISBLK(info.st_mode) ? '4' : '6';
            if (tar_write_header(out, child, &info, type, NULL) < 0) status = builtin_fail(BUILTIN_FAILED, "writing the layer", NULL);
        }
        free(children[i]);
    }
    free(children);
    return status;
}

static int builtin_layer(const char *upper, const char *placeholders) {
    struct layer_links links = {0};
    int status = layer_add_children(1, upper, "", placeholders ? placeholders : "", &links);
    for (size_t i = 0; i < links.count; i++) free(links.names[i]);
    free(links.devices);
    free(links.inodes);
    free(links.names);
    if (status) return status;
    static const char end[2 * TAR_BLOCK];
    return tar_write_all(1, end, sizeof end) < 0 ? builtin_fail(BUILTIN_FAILED, "writing the layer", NULL) : 0;
}

// Addresses the card whose MAC address is `mac` with `address` ("10.0.0.2/24"), once it is there: a
// card plugged in while the VM runs appears when the guest has probed it.
static int builtin_address(const char *mac, const char *address) {
    char text[64];
    const char *slash = address ? strchr(address, '/') : NULL;
    if (!slash || (size_t)(slash - address) >= sizeof text) {
        errno = EINVAL;
        return builtin_fail(BUILTIN_FAILED, "address: not ADDRESS/PREFIX:", address ? address : "");
    }
    memcpy(text, address, (size_t)(slash - address));
    text[slash - address] = 0;
    for (int tries = 0;; tries++) {
        if (agent_configure_interface(mac, text, atoi(slash + 1), NULL) == 0) return 0;
        if (errno != ENODEV || tries == 300) return builtin_fail(BUILTIN_FAILED, "configuring the card", mac);
        usleep(50000);
    }
}

// The first line of a small file (a sysfs attribute) into `text`, without its newline; 0, or -1.
static int builtin_read_line(const char *path, char *text, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t count = read(fd, text, size - 1);
    close(fd);
    if (count <= 0) return -1;
    text[count] = 0;
    text[strcspn(text, "\n")] = 0;
    return 0;
}

// Powers off the hot-plug slot holding the card whose MAC address is `mac`, once the host has
// asked for the card back: the guest's PCIe hot-plug driver would otherwise wait five seconds for
// a user to change their mind. `sys` is where sysfs is ("/sys" in the guest).
static int builtin_release(const char *mac, const char *sys) {
    char path[512], text[64], device[PATH_MAX];
    snprintf(path, sizeof path, "%s/class/net", sys);
    DIR *interfaces = opendir(path);
    if (!interfaces) return builtin_fail(BUILTIN_FAILED, "reading", path);
    const char *slot_address = NULL;
    struct dirent *entry;
    while (!slot_address && (entry = readdir(interfaces))) {
        if (entry->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/class/net/%s/address", sys, entry->d_name);
        if (builtin_read_line(path, text, sizeof text) < 0 || strcasecmp(text, mac)) continue;
        // The card's device (virtioN) sits under its PCI function (…/0000:01:00.0/virtio4), which is in
        // slot 0000:01:00: the last path component shaped like a function names the slot.
        snprintf(path, sizeof path, "%s/class/net/%s/device", sys, entry->d_name);
        if (!realpath(path, device)) continue;
        for (char *end = device + strlen(device); !slot_address && end > device;) {
            char *start = end;
            while (start > device && start[-1] != '/') start--;
            unsigned domain, bus, slot, function;
            char rest;
            // What lies right of this component is not needed any more.
            *end = 0;
            if (end - start == 12 && sscanf(start, "%4x:%2x:%2x.%1x%c", &domain, &bus, &slot, &function, &rest) == 4) {
                start[10] = 0;
                slot_address = start;
            }
            end = start > device ? start - 1 : device;
        }
    }
    closedir(interfaces);
    errno = ENODEV;
    if (!slot_address) return builtin_fail(BUILTIN_NOT_FOUND, "no card has the address", mac);
    snprintf(path, sizeof path, "%s/bus/pci/slots", sys);
    DIR *slots = opendir(path);
    if (!slots) return builtin_fail(BUILTIN_NOT_FOUND, "no hot-plug slots in", path);
    int status = BUILTIN_NOT_FOUND;
    while (status == BUILTIN_NOT_FOUND && (entry = readdir(slots))) {
        if (entry->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/bus/pci/slots/%s/address", sys, entry->d_name);
        if (builtin_read_line(path, text, sizeof text) < 0 || strcmp(text, slot_address)) continue;
        snprintf(path, sizeof path, "%s/bus/pci/slots/%s/power", sys, entry->d_name);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        status = fd >= 0 && write(fd, "0", 1) == 1 ? 0 : builtin_fail(BUILTIN_FAILED, "powering off", path);
        if (fd >= 0) close(fd);
    }
    closedir(slots);
    errno = 0;
    return status == BUILTIN_NOT_FOUND ? builtin_fail(status, "no hot-plug slot holds", slot_address) : status;
}

// Runs the builtin `name` with its argument (and a second one, or NULL); the process's exit status.
static int agent_run_builtin(const char *name, const char *argument, const char *second) {
    if (!strcmp(name, "archive")) return builtin_archive(argument);
    if (!strcmp(name, "extract")) return builtin_extract(argument);
    if (!strcmp(name, "stat")) return builtin_stat(argument);
    if (!strcmp(name, "processes")) return builtin_list_cgroup(agent_cgroup);
    if (!strcmp(name, "freeze")) return builtin_freeze(argument);
    if (!strcmp(name, "cgroup")) return builtin_cgroup_files();
    if (!strcmp(name, "changes")) return builtin_list_changes(argument, "");
    if (!strcmp(name, "layer")) return builtin_layer(argument, second);
    if (!strcmp(name, "address")) return builtin_address(argument, second);
    if (!strcmp(name, "release")) return builtin_release(argument, second && *second ? second : "/sys");
    errno = 0;
    return builtin_fail(BUILTIN_FAILED, "no such builtin:", name);
}
