/*
 * The app's system calls (app/lib/sys.h) on Linux, for host tests and
 * benchmarks of the app library: heap blocks and reservations are mmap
 * regions.  Blocks come back only page-aligned (mmap's alignment), so code
 * relying on more than the contract promises fails here.
 *   bucket_sys_host_*       calls made, blocks and bytes outstanding, the
 *                           peak of those bytes;
 *   bucket_sys_host_limit   if non-zero, allocations that would take the
 *                           outstanding bytes above it fail with -ENOMEM;
 *   bucket_sys_host_dirty   blocks asked for without zeroing are filled
 *                           with junk (tests; benchmarks leave it off so
 *                           untouched pages stay unresident);
 *   bucket_sys_host_panic_hook  called by sys_panic before abort(); a test
 *                           expecting a panic may longjmp out of it.
 */
#ifndef PHOBOS_TEST_BUCKET_SYS_HOST_H
#define PHOBOS_TEST_BUCKET_SYS_HOST_H

#include <stdbool.h>
#include <stdint.h>

extern uint64_t bucket_sys_host_allocs, bucket_sys_host_frees, bucket_sys_host_reserves;
extern uint64_t bucket_sys_host_blocks, bucket_sys_host_bytes, bucket_sys_host_peak;
extern uint64_t bucket_sys_host_limit;
extern bool bucket_sys_host_dirty;
extern void (*bucket_sys_host_panic_hook)(const char *why, uint64_t value);

#endif
