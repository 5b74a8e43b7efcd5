/*
 * The app library's bucket allocator against glibc malloc, mimalloc and
 * jemalloc on the slab benchmark's mix (alloc_mix: 16 to 1024 bytes,
 * log-uniform, 1024 live blocks, 5 million free+allocate pairs, each block
 * touched once).  Each allocator runs in a child process of its own (this
 * program re-run as "bucket_bench one NAME"; jemalloc preloaded as the
 * process's malloc), so peak memory is measured the same way for all: the
 * growth of the child's peak resident set (getrusage ru_maxrss) over the
 * run, the mix's own arrays already resident before it.  For the bucket
 * allocator, whose system calls are mmap here, the peak of bytes held
 * from sys_allocate_heap is printed as well.
 */
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

static long bench_maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void bench_metric(const char *bench, const char *metric, double value, const char *unit)
{
	printf("RESULT {\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%.1f,\"unit\":\"%s\"}\n", bench,
	       metric, value, unit);
	fflush(stdout);
}

static int bench_one(const char *name)
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
		long rss = bench_maxrss_kib();
		double ns = alloc_mix_run(&m, &apis[i]);
		snprintf(bench, sizeof(bench), "%s_bucket_small", name);
		bench_metric(bench, "ns_per_pair", ns, "ns");
		bench_metric(bench, "peak_rss_growth_kib", (double)(bench_maxrss_kib() - rss), "KiB");
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

	if (argc == 3 && strcmp(argv[1], "one") == 0)
		return bench_one(argv[2]);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	for (unsigned i = 0; i < 4; i++) {
		snprintf(cmd, sizeof(cmd), "%s'%s' one %s",
			 strcmp(runs[i], "jemalloc") == 0 ? "LD_PRELOAD=libjemalloc.so.2 " : "", exe,
			 runs[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "bucket_bench: the %s run failed\n", runs[i]);
	}
	return 0;
}
