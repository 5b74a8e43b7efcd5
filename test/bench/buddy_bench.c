/*
 * Buddy allocate+free pairs against glibc malloc, mimalloc and jemalloc on
 * one size mix: page-multiple sizes from 4 KiB to 1 MiB, log-uniform, with
 * a working set of live blocks so frees and allocations interleave.  Each
 * allocator replays the same precomputed sequence; the figure is ns per
 * allocate+free pair.
 */
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/mm/buddy.h"

#define LIVE 1024
#define PAIRS 2000000

static uint64_t sizes[PAIRS];
static unsigned slots[PAIRS];

/* A free list of descriptors so the bench measures the allocator, not malloc. */
static void *pool;

static void *bench_desc_alloc(void *ctx)
{
	void *d = pool;
	if (d != NULL) {
		pool = *(void **)d;
		return d;
	}
	return malloc(BUDDY_DESC_SIZE);
}

static void bench_desc_free(void *ctx, void *d)
{
	*(void **)d = pool;
	pool = d;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void result(const char *name, double ns)
{
	printf("RESULT {\"bench\":\"%s\",\"metric\":\"ns_per_pair\",\"value\":%.1f,\"unit\":\"ns\"}\n",
	       name, ns);
}

static double bench_buddy(void)
{
	static const struct buddy_ops ops = {bench_desc_alloc, bench_desc_free, NULL};
	static uint64_t live[LIVE];
	struct buddy b;

	if (buddy_init(&b, 0, 1ull << 40, 12, 30, &ops) != 0)
		abort();
	for (unsigned i = 0; i < LIVE; i++)
		if (buddy_alloc(&b, sizes[i], 0, &live[i]) != 0)
			abort();
	double t = now_ns();
	for (unsigned i = 0; i < PAIRS; i++) {
		unsigned s = slots[i];
		buddy_free(&b, live[s]);
		if (buddy_alloc(&b, sizes[i], 0, &live[s]) != 0)
			abort();
	}
	t = (now_ns() - t) / PAIRS;
	buddy_destroy(&b);
	return t;
}

static double bench_libc(void *(*alloc)(size_t), void (*release)(void *))
{
	static void *live[LIVE];

	for (unsigned i = 0; i < LIVE; i++)
		live[i] = alloc(sizes[i]);
	double t = now_ns();
	for (unsigned i = 0; i < PAIRS; i++) {
		unsigned s = slots[i];
		release(live[s]);
		live[s] = alloc(sizes[i]);
		*(volatile char *)live[s] = 1;
	}
	t = (now_ns() - t) / PAIRS;
	for (unsigned i = 0; i < LIVE; i++)
		release(live[i]);
	return t;
}

int main(void)
{
	bool child = getenv("BUDDY_BENCH_CHILD") != NULL;

	srand(7);
	for (unsigned i = 0; i < PAIRS; i++) {
		unsigned pages = 1u << (rand() % 9);           /* 4 KiB .. 1 MiB */
		pages += (unsigned)rand() % pages;             /* not only powers of two */
		sizes[i] = (uint64_t)pages << 12;
		slots[i] = (unsigned)rand() % LIVE;
	}
	if (child) {
		result("jemalloc_pair", bench_libc(malloc, free));
		return 0;
	}
	result("buddy_pair", bench_buddy());
	result("glibc_pair", bench_libc(malloc, free));
	result("mimalloc_pair", bench_libc(mi_malloc, mi_free));
	/*
	 * jemalloc's TLS model forbids dlopen: measure it in a child that
	 * has it preloaded as the process's malloc.
	 */
	char exe[4096], cmd[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=libjemalloc.so.2 BUDDY_BENCH_CHILD=1 '%s'", exe);
	fflush(stdout);
	if (system(cmd) != 0)
		fprintf(stderr, "buddy_bench: the jemalloc run failed\n");
	return 0;
}
