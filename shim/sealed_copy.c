// CVE-2019-5736: a process inside a container can open /proc/PID/exe of a shim process that is in
// its pid namespace (the exec'd process before its execve, or the shim itself when a container's
// command is "#!/proc/self/exe"), and through that descriptor write to the binary on the host once
// nothing runs it. Running from a memfd that is sealed against writes, what it reaches is the copy.
#include "sealed_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int run_from_sealed_copy(char **argv) {
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0) return -1;
    // A plain file has no seals (EINVAL): that is the host's binary, to be copied.
    int seals = fcntl(self, F_GET_SEALS);
    if (seals >= 0 && (seals & SEALS) == SEALS) {
        close(self);
        return 0;
    }
    struct stat status;
    if (fstat(self, &status) < 0) {
        int saved = errno;
        close(self);
        errno = saved;
        return -1;
    }
    int copy = memfd_create("berth-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (copy < 0) { close(self); return -1; }
    off_t offset = 0;
    while (offset < status.st_size) {
        ssize_t sent = sendfile(copy, self, &offset, (size_t)(status.st_size - offset));
        if (sent <= 0) {
            if (sent < 0 && errno == EINTR) continue;
            if (sent == 0) errno = EIO;
            close(self);
            close(copy);
            return -1;
        }
    }
    close(self);
    if (fcntl(copy, F_ADD_SEALS, SEALS) < 0) { close(copy); return -1; }
    extern char **environ;
    fexecve(copy, argv, environ);
    close(copy);
    return -1;
}
