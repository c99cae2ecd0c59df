// Headers only; this file gives the target something to compile.
#include "CLinux.h"
