// The per-mount flags a read-only or bind remount must keep, or the kernel refuses (flags locked
// in a user namespace) or drops them (nosuid, nodev, noexec, atime). Shared by berth-shim and the
// guest agent (vm-images/agent/agent.h), which confine containers the same way.
#ifndef BERTH_MOUNT_FLAGS_H
#define BERTH_MOUNT_FLAGS_H

#include <sys/mount.h>
#include <sys/statvfs.h>

static inline unsigned long mount_flags_to_keep(const char *path) {
    struct statvfs info;
    if (statvfs(path, &info) < 0) return 0;
    unsigned long flags = 0;
    if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    return flags;
}

#endif
