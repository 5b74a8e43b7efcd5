/*
 * The shared harness of the allocator benchmarks: a precomputed sequence of
 * sizes and slots (a working set of live blocks where each step frees one
 * slot and allocates into it again), replayed identically for every
 * allocator, and the RESULT line.  jemalloc cannot be dlopen'ed (its TLS
 * model), so it is measured in a child process that preloads it as the
 * process's malloc.
 */
#ifndef PHOBOS_TEST_ALLOC_MIX_H
#define PHOBOS_TEST_ALLOC_MIX_H

#include <stddef.h>
#include <stdint.h>

#define ALLOC_MIX_LIVE 1024

struct alloc_mix {
	size_t n;
	size_t *sizes;
	unsigned *slots;
};

struct alloc_api {
	void *(*alloc)(void *ctx, size_t size);
	void (*release)(void *ctx, void *p);
	void *ctx;
};

/* sizes log-uniform in [min, max], rounded up to a multiple of unit. */
void alloc_mix_make(struct alloc_mix *m, size_t n, size_t min, size_t max, size_t unit,
		    unsigned seed);
/* ns per free+allocate pair. */
double alloc_mix_run(const struct alloc_mix *m, const struct alloc_api *api);
void alloc_mix_result(const char *bench, double ns);
/* Runs glibc and mimalloc in this process and jemalloc in a child; prefix
 * names the results ("glibc<suffix>", ...). */
void alloc_mix_peers(const struct alloc_mix *m, const char *suffix);
/* true in the child that measures jemalloc (the caller then just returns). */
bool alloc_mix_is_jemalloc_child(const struct alloc_mix *m, const char *suffix);

#endif
