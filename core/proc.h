/*
 * proc: the one app, in ring 3.
 *
 * Its address space is a vm_map over [PAGE_SIZE, USER_SPACE_END - PAGE_SIZE)
 * with a pmap of its own (page 0 is never mapped).  The heap object, of
 * size GATE_AREA_ADDRESS, backs every app mapping below the gate: the
 * image's segments, the stack and the blocks of sys_allocate_heap, each a
 * heap mapping whose address is its offset in the object (the seed's
 * rule), so the heap is one object however it is cut.  Below the image
 * the map is reserved, so the lowest heap address lies above the image's
 * data and bss.  The stack sits just under the gate with a reserved guard
 * page below it.  The gate page at GATE_AREA_ADDRESS (struct phobos_gate,
 * read-only) tells the app what it needs without a system call.
 *
 * proc_run loads the ELF image carried in the kernel (core/app_blob.S),
 * runs it with args and tears everything down when it exits or is
 * stopped.  A fault the VM cannot resolve, any other exception, or a fault
 * out of memory stops the app with one line naming the address, the
 * access and the mapping; the kernel goes on.
 * Lock key: one app at a time, run from the kernel's main thread.
 */
#ifndef PHOBOS_PROC_H
#define PHOBOS_PROC_H

#include "core/env.h"

#define PROC_EXIT_STOPPED (-1) /* *code when the app was stopped */

/*
 * 0 when the app ran to its exit (*code = its exit code) or was stopped
 * (*code = PROC_EXIT_STOPPED); -EINVAL when the image is bad (logged; the
 * caller exits with code 2), -ENOMEM.
 */
int proc_run(const char *args, int *code);

/* Set by the ring-3 self-tests when the app they ran was stopped. */
extern bool proc_test_stopped;

/* For syscall.c: the running app's map and heap object, and its end. */
struct vm_map *proc_map(void);
struct vm_object *proc_heap(void);
/* [*lo, *hi): where the app's own blocks and mappings lie, between the
 * image and the stack's guard page. */
void proc_app_space(uint64_t *lo, uint64_t *hi);
_Noreturn void proc_exit(int code);

/*
 * The kernel stack traps and system calls from ring 3 run on: 16 KiB in
 * the kernel map, wired, with a reserved, never mapped page (guard) just
 * below base.  alloc: 0, or a negative errno with *ks fit for
 * proc_kstack_free.
 */
#define PROC_KSTACK_SIZE (4 * PAGE_SIZE)
struct proc_kstack {
	uint64_t base, guard;
};
int proc_kstack_alloc(struct proc_kstack *ks);
void proc_kstack_free(struct proc_kstack *ks);

#endif
