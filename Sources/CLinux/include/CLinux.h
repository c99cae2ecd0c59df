// Linux interfaces Swift's Glibc module does not expose.
#include <sys/xattr.h>
#include <sys/vfs.h>
