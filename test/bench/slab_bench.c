/*
 * Kernel malloc (slab size classes) allocate+free pairs against glibc
 * malloc, mimalloc and jemalloc on one mix of small sizes, 16 to 1024
 * bytes, log-uniform, over a working set of live objects.  kmem is the
 * host's (aligned_alloc), which slabs only touch when they grow or shrink.
 */
#include <stdbool.h>

#include "core/mm/malloc.h"
#include "test/bench/alloc_mix.h"

static void *bench_mm_alloc(void *ctx, size_t size)
{
	char *p = mm_malloc(size);
	if (p != NULL)
		p[0] = 1;
	return p;
}

static void bench_mm_free(void *ctx, void *p)
{
	mm_mfree(p);
}

int main(void)
{
	struct alloc_mix m;

	alloc_mix_make(&m, 5000000, 16, 1024, 1, 11);
	if (alloc_mix_is_jemalloc_child(&m, "_small_pair"))
		return 0;
	mm_malloc_init();
	struct alloc_api api = {bench_mm_alloc, bench_mm_free, NULL};
	alloc_mix_result("slab_pair", alloc_mix_run(&m, &api));
	alloc_mix_peers(&m, "_small_pair");
	return 0;
}
