/*
 * Kernel-wide services outside the VM: boot state, exit protocol, clock
 * set-up, self-tests.  Not for core/mm (which sees only env.h).
 */
#ifndef PHOBOS_KERNEL_H
#define PHOBOS_KERNEL_H

#include "core/boot_info.h"
#include "core/config.h"
#include "core/env.h"

extern struct boot_info *kernel_boot_info;
extern struct config kernel_config;

/* Exit codes of SPEC 7. */
#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_CONFIG 2
#define EXIT_PANIC 3
#define EXIT_STOPPED 4 /* the app was stopped: a fault the VM could not resolve */

/* Prints "PHOBOS EXIT <code>" and halts, reboots or ends QEMU (exit=). */
_Noreturn void kernel_exit(int code);

void kern_set_log_level(enum log_level level);
void kvprintf(const char *fmt, va_list ap);

/* Symbol of a kernel code address: name and offset; false if unknown. */
bool ksyms_lookup(uintptr_t addr, const char **name, uintptr_t *offset);

/* The kernel map's submaps (SPEC 3), set up at boot. */
enum { KERNEL_SUBMAP_BUFFER, KERNEL_SUBMAP_DEVICE, KERNEL_SUBMAP_STACKS, KERNEL_SUBMAPS };
struct vm_map;
extern struct vm_map *kernel_submaps[KERNEL_SUBMAPS];

/* The app= modes. */
int ktest_run(const char *selection);

#endif
