/*
 * The bucket allocator: malloc and friends for the ring-3 app, over the
 * kernel's large heap blocks (sys.h).
 *
 * What it owns.  One address-space reservation, the arena (16 GiB asked
 * for, halved until the kernel grants it, at least 64 MiB), cut into
 * 64 KiB slots; the heap blocks it allocates inside that arena at slot
 * addresses ("runs"), and the pages of the run descriptor table at the
 * arena's top (64 bytes per slot, allocated as slots come in use); and the
 * large blocks it allocates anywhere else.
 *
 * Size classes (buckets).  Requests up to BUCKET_SMALL_MAX (8 KiB) are
 * rounded up to one of 32 classes: 16 to 128 bytes in steps of 16, then
 * four classes per power of two (160, 192, 224, 256, 320, ... 8192), so
 * rounding wastes under 16 bytes up to 128 and at most 25 % above.
 * Every block is 16-byte aligned.  A class's blocks live in runs, one run
 * per heap block, blocks from its first byte: its first run is the
 * smallest power of two from 4 KiB holding 8 blocks, each further run
 * while it has runs twice the last, up to 64 KiB (a busy class gets few
 * runs, seldom full, which keeps malloc and free on their fast paths).
 * Blocks are handed out from a free list, then from a never-used tail, so
 * a fresh run is touched only as far as it is used.  Larger requests, and
 * aligned_alloc beyond what a class can hold, get a heap block of their
 * own, placed anywhere, with a 48-byte header just before the pointer.
 *
 * From a pointer to its metadata in O(1).  A pointer inside the arena's run
 * slots (one subtraction and compare) lies in the run of slot
 * (p - base) >> 16, described by table[slot]; runs start on slots because
 * we place them there with sys_allocate_heap's exact location (the
 * kernel's own alignment is never relied on).  A pointer outside is a
 * large block: its header is the 48 bytes before it.
 *
 * When memory goes back to the kernel.  A large block: at its free.  A run
 * that empties stays with its class while it is the class's only run with
 * room (so a malloc/free pair at a run boundary never calls the kernel);
 * otherwise it goes to a small cache of empty runs per run size (8 KiB
 * of each size, at least one run), reused by any class needing that size;
 * a run pushed out of the cache is freed with sys_free_heap.  bucket_trim
 * frees every cached and idle run, and the table once no run is left.
 * The arena's reservation is kept.
 *
 * Errors.  malloc, calloc, realloc and aligned_alloc return NULL when the
 * kernel refuses memory (sys_allocate_heap fails), on calloc overflow, and
 * aligned_alloc for an alignment that is not a power of two; realloc then
 * leaves the old block untouched.  A small request the arena cannot serve
 * (no reservation granted, or all slots in use) is served as a large
 * block instead.  free(NULL) is nothing.  Freeing a pointer this allocator
 * did not hand out, or freeing twice, panics (sys_panic) where it is
 * detected: always for an arena pointer outside any live run and a large
 * pointer whose header does not match; with BUCKET_DEBUG also a pointer
 * that is not a block's start, a block never handed out, any double free
 * of a small block, and any pointer outside the arena that is not a live
 * large block.
 *
 * Lock key: one allocator lock, BUCKET_LOCK()/BUCKET_UNLOCK() (empty
 * unless defined: the app has one thread).  The app build also provides
 * malloc, free, calloc, realloc, aligned_alloc and malloc_usable_size as
 * aliases of the bucket_* functions; host builds keep only the bucket_*
 * names, beside libc's.
 */
#ifndef PHOBOS_APP_BUCKET_H
#define PHOBOS_APP_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#define BUCKET_SMALL_MAX 8192u

struct bucket_stats {
	uint64_t heap_bytes;	/* bytes held from sys_allocate_heap now (table included) */
	uint64_t heap_peak;	/* the most ever held at once */
	uint64_t heap_allocs;	/* sys_allocate_heap calls that succeeded */
	uint64_t heap_frees;	/* sys_free_heap calls */
	uint64_t runs;		/* runs held, cached ones included */
	uint64_t runs_cached;	/* empty runs in the cache */
	uint64_t large_blocks;	/* live large blocks */
	uint64_t blocks_in_use; /* live blocks, small and large */
	uint64_t bytes_in_use;	/* their usable bytes */
	uint64_t arena_size;	/* bytes of address space reserved (0 before the first run) */
};

/* malloc(0) returns a unique minimal block. */
void *bucket_malloc(size_t size);
void bucket_free(void *p);
/* NULL when n * size overflows. */
void *bucket_calloc(size_t n, size_t size);
/*
 * In place when size fits the block's usable size and is at least half of
 * it; otherwise a new block, the contents copied, the old one freed.
 * realloc(NULL, n) is malloc(n); realloc(p, 0) gives a minimal block.
 */
void *bucket_realloc(void *p, size_t size);
/* align a power of two (any size, also above a page); size need not be a multiple. */
void *bucket_aligned_alloc(size_t align, size_t size);
/* Bytes usable from p on (>= the size asked for); 0 for NULL. */
size_t bucket_malloc_usable_size(void *p);

void bucket_stats(struct bucket_stats *out);
/* Walks every run, free list, cache and large block; panics on a broken invariant. */
void bucket_check(void);
/* Returns every empty run (cached, or idle in its class) to the kernel. */
void bucket_trim(void);

#ifndef PHOBOS_HOST
void *malloc(size_t size);
void free(void *p);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void *aligned_alloc(size_t align, size_t size);
size_t malloc_usable_size(void *p);
#endif

#endif
