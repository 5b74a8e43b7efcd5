/* The allocator benchmark harness: see alloc_mix.h. */
#include <mimalloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test/bench/alloc_mix.h"

void alloc_mix_make(struct alloc_mix *m, size_t n, size_t min, size_t max, size_t unit,
		    unsigned seed)
{
	unsigned lo = 0, hi = 0;

	while (((size_t)1 << lo) < min)
		lo++;
	while (((size_t)1 << hi) < max)
		hi++;
	srand(seed);
	m->n = n;
	m->sizes = malloc(n * sizeof(*m->sizes));
	m->slots = malloc(n * sizeof(*m->slots));
	for (size_t i = 0; i < n; i++) {
		size_t s = (size_t)1 << (lo + (unsigned)rand() % (hi - lo + 1));
		s += (size_t)rand() % s; /* not only powers of two */
		s = s < min ? min : s > max ? max : s;
		m->sizes[i] = (s + unit - 1) / unit * unit;
		m->slots[i] = (unsigned)rand() % ALLOC_MIX_LIVE;
	}
}

static double alloc_mix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

double alloc_mix_run(const struct alloc_mix *m, const struct alloc_api *api)
{
	static void *live[ALLOC_MIX_LIVE];

	for (unsigned i = 0; i < ALLOC_MIX_LIVE; i++)
		live[i] = api->alloc(api->ctx, m->sizes[i]);
	double t = alloc_mix_now();
	for (size_t i = 0; i < m->n; i++) {
		unsigned s = m->slots[i];
		api->release(api->ctx, live[s]);
		live[s] = api->alloc(api->ctx, m->sizes[i]);
		if (live[s] == NULL)
			abort();
	}
	t = (alloc_mix_now() - t) / (double)m->n;
	for (unsigned i = 0; i < ALLOC_MIX_LIVE; i++)
		api->release(api->ctx, live[i]);
	return t;
}

void alloc_mix_result(const char *bench, double ns)
{
	printf("RESULT {\"bench\":\"%s\",\"metric\":\"ns_per_pair\",\"value\":%.1f,\"unit\":\"ns\"}\n",
	       bench, ns);
	fflush(stdout);
}

/* The process's malloc touches each block once so lazy allocators pay too. */
static void *alloc_mix_libc(void *ctx, size_t size)
{
	char *p = malloc(size);
	if (p != NULL)
		p[0] = 1;
	return p;
}

static void alloc_mix_libc_free(void *ctx, void *p)
{
	free(p);
}

static void *alloc_mix_mi(void *ctx, size_t size)
{
	char *p = mi_malloc(size);
	if (p != NULL)
		p[0] = 1;
	return p;
}

static void alloc_mix_mi_free(void *ctx, void *p)
{
	mi_free(p);
}

static void alloc_mix_named(const char *name, const char *suffix, double ns)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%s", name, suffix);
	alloc_mix_result(buf, ns);
}

bool alloc_mix_is_jemalloc_child(const struct alloc_mix *m, const char *suffix)
{
	static const struct alloc_api libc = {alloc_mix_libc, alloc_mix_libc_free, NULL};

	if (getenv("ALLOC_MIX_JEMALLOC") == NULL)
		return false;
	alloc_mix_named("jemalloc", suffix, alloc_mix_run(m, &libc));
	return true;
}

void alloc_mix_peers(const struct alloc_mix *m, const char *suffix)
{
	static const struct alloc_api libc = {alloc_mix_libc, alloc_mix_libc_free, NULL};
	static const struct alloc_api mi = {alloc_mix_mi, alloc_mix_mi_free, NULL};
	char exe[4096], cmd[4300];

	alloc_mix_named("glibc", suffix, alloc_mix_run(m, &libc));
	alloc_mix_named("mimalloc", suffix, alloc_mix_run(m, &mi));
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=libjemalloc.so.2 ALLOC_MIX_JEMALLOC=1 '%s'", exe);
	if (system(cmd) != 0)
		fprintf(stderr, "alloc_mix: the jemalloc run failed\n");
}
