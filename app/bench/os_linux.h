/* What a Linux main tells the POSIX backend (os_linux.c). */
#ifndef PHOBOS_APP_BENCH_OS_LINUX_H
#define PHOBOS_APP_BENCH_OS_LINUX_H

#include <stdbool.h>

extern const char *os_linux_root; /* where the files partition is mounted; "" none */
extern bool os_linux_swap;        /* a swap area is on */

#endif
