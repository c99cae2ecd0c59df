#include <seccomp.h>

// libseccomp's names for 64-bit architectures are macros Swift cannot import (three flags or'ed).
enum {
    BERTH_SCMP_ARCH_X86_64 = SCMP_ARCH_X86_64,
    BERTH_SCMP_ARCH_AARCH64 = SCMP_ARCH_AARCH64,
    BERTH_SCMP_ARCH_RISCV64 = SCMP_ARCH_RISCV64,
};
