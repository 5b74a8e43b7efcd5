/*
 * The system calls the app library's allocator needs, as thin wrappers
 * over the `syscall` instruction (app/include/phobos/abi.h).  In the app
 * the ring-3 library implements them; host tests and benchmarks implement
 * them over mmap (test/host/bucket_sys_host.c).
 *
 * Results are a value >= 0 or a negative PHOBOS_E* code.  What the bucket
 * allocator relies on, and nothing more:
 *   sys_allocate_heap  size is a non-zero multiple of PHOBOS_PAGE_SIZE;
 *                      the block is page-aligned (no further alignment is
 *                      assumed); with location PHOBOS_HEAP_ANYWHERE it is
 *                      never placed inside a reservation; with location an
 *                      exact address inside a reservation made by
 *                      sys_reserve_space it is placed exactly there, or the
 *                      call fails.  zeroed != 0: the block reads as zeros;
 *                      zeroed == 0: its contents are unspecified.
 *   sys_free_heap      addr is a block's address; the whole block goes.  A
 *                      block that lay inside a reservation leaves its range
 *                      reserved (nothing else is placed there).
 *   sys_reserve_space  address space only (no memory), page-aligned, that
 *                      nothing is placed in except at an exact location.
 *   sys_panic          prints why and value (as hex) and ends the app; it
 *                      never returns.  Called for programmer errors only
 *                      (invalid and double frees, broken invariants).
 * None is called re-entrantly; the allocator calls them with its lock held.
 */
#ifndef PHOBOS_APP_SYS_H
#define PHOBOS_APP_SYS_H

#include <stdint.h>

long sys_allocate_heap(uint64_t size, unsigned prot, uint64_t location, int zeroed);
long sys_free_heap(uint64_t addr);
long sys_reserve_space(uint64_t size);
_Noreturn void sys_panic(const char *why, uint64_t value);

#endif
