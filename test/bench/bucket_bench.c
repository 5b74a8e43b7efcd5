/*
 * The app library's bucket allocator against glibc malloc, mimalloc and
 * jemalloc on the slab benchmark's mix (alloc_mix: 16 to 1024 bytes,
 * log-uniform, 1024 live blocks, 5 million free+allocate pairs, each block
 * touched once).  Each allocator runs in child processes of its own (this
 * program re-run as "bucket_bench time|mem NAME"; jemalloc preloaded as
 * the process's malloc):
 *   time  alloc_mix_run's ns per pair;
 *   mem   the same replay, untimed, with the process's resident set read
 *         from /proc/self/smaps_rollup (a page-table walk, exact; getrusage's
 *         peak moves in steps of up to 256 KiB) before the first block and
 *         every 50000 pairs: peak_rss_kib is the largest growth over the
 *         start, so it counts what the allocator touched, its own metadata
 *         included, and nothing it only reserved.  For the bucket allocator
 *         (mmap-backed system calls here) peak_heap_kib is the peak of
 *         bytes held from sys_allocate_heap, touched or not.
 */
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/lib/bucket.h"
#include "test/bench/alloc_mix.h"
#include "test/host/bucket_sys_host.h"

static void *bench_bucket_alloc(void *ctx, size_t size)
{
	char *p = bucket_malloc(size);
	if (p != NULL)
		p[0] = 1;
	return p;
}

static void bench_bucket_free(void *ctx, void *p)
{
	bucket_free(p);
}

static void *bench_libc_alloc(void *ctx, size_t size)
{
	char *p = malloc(size);
	if (p != NULL)
		p[0] = 1;
	return p;
}

static void bench_libc_free(void *ctx, void *p)
{
	free(p);
}

static void *bench_mi_alloc(void *ctx, size_t size)
{
	char *p = mi_malloc(size);
	if (p != NULL)
		p[0] = 1;
	return p;
}

static void bench_mi_free(void *ctx, void *p)
{
	mi_free(p);
}

static long bench_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long bench_peak_rss_growth(const struct alloc_mix *m, const struct alloc_api *api)
{
	static void *live[ALLOC_MIX_LIVE];
	long start = bench_rss_kib(), peak = start;

	for (unsigned i = 0; i < ALLOC_MIX_LIVE; i++)
		live[i] = api->alloc(api->ctx, m->sizes[i]);
	for (size_t i = 0; i < m->n; i++) {
		unsigned s = m->slots[i];
		api->release(api->ctx, live[s]);
		live[s] = api->alloc(api->ctx, m->sizes[i]);
		if (i % 50000 == 0) {
			long now = bench_rss_kib();
			peak = now > peak ? now : peak;
		}
	}
	for (unsigned i = 0; i < ALLOC_MIX_LIVE; i++)
		api->release(api->ctx, live[i]);
	return peak - start;
}

static void bench_metric(const char *bench, const char *metric, double value, const char *unit)
{
	printf("RESULT {\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%.1f,\"unit\":\"%s\"}\n",
	       bench, metric, value, unit);
	fflush(stdout);
}

static int bench_one(const char *mode, const char *name)
{
	static const struct alloc_api apis[] = {
	    {bench_bucket_alloc, bench_bucket_free, NULL},
	    {bench_libc_alloc, bench_libc_free, NULL},
	    {bench_mi_alloc, bench_mi_free, NULL},
	    {bench_libc_alloc, bench_libc_free, NULL},
	};
	static const char *const names[] = {"bucket", "glibc", "mimalloc", "jemalloc"};
	struct alloc_mix m;
	char bench[64];

	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(name, names[i]) != 0)
			continue;
		alloc_mix_make(&m, 5000000, 16, 1024, 1, 11);
		snprintf(bench, sizeof(bench), "%s_app_mix", name);
		if (strcmp(mode, "time") == 0) {
			bench_metric(bench, "ns_per_pair", alloc_mix_run(&m, &apis[i]), "ns");
			return 0;
		}
		bench_metric(bench, "peak_rss_kib", (double)bench_peak_rss_growth(&m, &apis[i]),
			     "KiB");
		if (i == 0)
			bench_metric(bench, "peak_heap_kib", bucket_sys_host_peak / 1024.0, "KiB");
		return 0;
	}
	fprintf(stderr, "bucket_bench: no allocator %s\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	static const char *const runs[] = {"bucket", "glibc", "mimalloc", "jemalloc"};
	char exe[4096], cmd[4400];

	if (argc == 3)
		return bench_one(argv[1], argv[2]);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < 4; i++) {
			snprintf(cmd, sizeof(cmd), "%s'%s' %s %s",
				 strcmp(runs[i], "jemalloc") == 0 ? "LD_PRELOAD=libjemalloc.so.2 "
								  : "",
				 exe, k == 0 ? "time" : "mem", runs[i]);
			if (system(cmd) != 0)
				fprintf(stderr, "bucket_bench: the %s run failed\n", runs[i]);
		}
	}
	return 0;
}
