/*
 * Buddy allocate+free pairs against glibc malloc, mimalloc and jemalloc on
 * one size mix: page multiples from 4 KiB to 1 MiB, log-uniform, over a
 * working set of live blocks (test/bench/alloc_mix.h).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "core/mm/buddy.h"
#include "test/bench/alloc_mix.h"

/* Descriptors from a free list so the figure is the allocator's, not malloc's. */
static void *pool;

static void *bench_desc_alloc(void *ctx)
{
	void *d = pool;
	if (d == NULL)
		return malloc(BUDDY_DESC_SIZE);
	pool = *(void **)d;
	return d;
}

static void bench_desc_free(void *ctx, void *d)
{
	*(void **)d = pool;
	pool = d;
}

/* Addresses handed out are offsets in the range, shown as pointers. */
static void *bench_buddy_alloc(void *ctx, size_t size)
{
	uint64_t a;
	return buddy_alloc(ctx, size, 0, &a) == 0 ? (void *)(uintptr_t)a : NULL;
}

static void bench_buddy_free(void *ctx, void *p)
{
	if (buddy_free(ctx, (uintptr_t)p) != 0)
		abort();
}

int main(void)
{
	static const struct buddy_ops ops = {bench_desc_alloc, bench_desc_free, NULL};
	struct alloc_mix m;
	struct buddy b;

	alloc_mix_make(&m, 2000000, 4096, 1 << 20, 4096, 7);
	if (alloc_mix_is_jemalloc_child(&m, "_pair"))
		return 0;
	/* the range starts at a page so no block is at address 0 (NULL) */
	if (buddy_init(&b, 1ull << 30, 1ull << 40, 12, 30, &ops) != 0)
		return 1;
	struct alloc_api api = {bench_buddy_alloc, bench_buddy_free, &b};
	alloc_mix_result("buddy_pair", alloc_mix_run(&m, &api));
	buddy_destroy(&b);
	alloc_mix_peers(&m, "_pair");
	return 0;
}
