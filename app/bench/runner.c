/*
 * The benchmark app's runner: picks the workloads bench= names, runs each
 * with a heading, ends with the summary against the previous run and
 * writes the results file.  The exit code is 0 when every chosen workload
 * ran or was skipped with its reason, 1 when one failed.
 */
#include "app/bench/bench.h"
#include "app/bench/report.h"

static const struct {
	const char *name;
	int (*run)(void);
	const char *what;
} runner_work[] = {
	{"boot", bench_boot, "loader entry to the app's first instruction"},
	{"tick", bench_tick, "time the timer's interrupts take from a busy program"},
	{"first_touch", bench_first_touch, "one store to each page of a fresh block"},
	{"file_map_read", bench_file_map_read, "first touches of a file mapping, cold cache"},
	{"file_map_write", bench_file_map_write, "stores to a shared file mapping, then sync"},
	{"swap_ws", bench_swap_ws, "a working set twice memory, checked"},
	{"alloc_mix", bench_alloc_mix, "malloc/free small-object mix"},
	{"replacement", bench_replacement, "pages read by a loop, a Zipf draw, a scan"},
};

#define RUNNER_N (sizeof(runner_work) / sizeof(runner_work[0]))

static bool runner_same(const char *a, size_t alen, const char *b)
{
	size_t i = 0;

	while (i < alen && b[i] && a[i] == b[i])
		i++;
	return i == alen && b[i] == 0;
}

/* "64M", "1G", "4096" */
static uint64_t runner_size(const char *v, size_t len)
{
	uint64_t n = 0;
	size_t i = 0;

	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(v[i] - '0');
	if (i < len)
		n <<= v[i] == 'K' || v[i] == 'k' ? 10 : v[i] == 'M' || v[i] == 'm' ? 20
				: v[i] == 'G' || v[i] == 'g' ? 30 : 0;
	return n;
}

/* Words are separated by blanks, tabs and newlines (a kernel command line
 * read from /proc ends in one). */
static bool runner_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The value of key= among the words, and its length; NULL when absent. */
static const char *runner_word(const char *args, const char *key, size_t *len)
{
	size_t k = 0;

	while (key[k])
		k++;
	for (const char *p = args; *p;) {
		while (runner_blank(*p))
			p++;
		const char *w = p;
		while (*p && !runner_blank(*p))
			p++;
		size_t i = 0;
		while (i < k && w + i < p && w[i] == key[i])
			i++;
		if (i == k && w + k < p && w[k] == '=') {
			*len = (size_t)(p - w) - k - 1;
			return w + k + 1;
		}
	}
	return NULL;
}

static bool runner_chosen(const char *list, size_t len, const char *name)
{
	if (list == NULL || runner_same(list, len, "all"))
		return true;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && list[j] != ',')
			j++;
		if (runner_same(list + i, j - i, name))
			return true;
		i = j + 1;
	}
	return false;
}

static void runner_save(void)
{
	static char text[64 * 1024];
	struct bench_machine m;

	os_machine(&m);
	long last = os_results_last(text, sizeof(text));
	long n = report_json(text, sizeof(text), &m, last < 0 ? 1 : last + 1);
	if (n < 0) {
		bench_printf("bench: warning: the results do not fit the results file\n");
		return;
	}
	long saved = os_results_save(text, (size_t)n);
	if (saved > 0)
		bench_printf("bench: results written to \\phobos\\results\\%04ld.json\n", saved);
	else if (saved != -BENCH_ENOSYS)
		bench_printf("bench: warning: results not written (error %ld); the console "
			     "has them\n", -saved);
}

int bench_main(const char *args)
{
	static char previous[64 * 1024];
	size_t len, blen = 0;
	const char *v, *list = runner_word(args, "bench", &blen);

	bench_opts.mem = (v = runner_word(args, "bench_mem", &len)) ? runner_size(v, len) : 0;
	bench_opts.file_size = (v = runner_word(args, "bench_file", &len)) ? runner_size(v, len)
									   : 64 * BENCH_MIB;
	bench_opts.trace = (v = runner_word(args, "trace", &len)) && runner_same(v, len, "1");
	if (bench_opts.mem == 0)
		bench_opts.mem = os_mem_free();
	bench_opts.mem &= ~(BENCH_MIB - 1);
	bench_opts.file_size &= ~(BENCH_PAGE - 1);
	long prev = os_results_last(previous, sizeof(previous));
	struct bench_machine m;

	os_machine(&m);

	bench_printf("bench: Phobos benchmark app on %s; paging workloads sized from %llu MiB, "
		     "file %llu MiB; free memory at start %llu MiB\n",
		     m.os, (unsigned long long)(bench_opts.mem >> 20),
		     (unsigned long long)(bench_opts.file_size >> 20),
		     (unsigned long long)(os_mem_free() >> 20));
	bench_result("run", "mem_free_mib", (os_mem_free() >> 20) * 1000, "MiB");
	bench_result("run", "mem_sized_mib", (bench_opts.mem >> 20) * 1000, "MiB");
	unsigned ran = 0;
	for (size_t i = 0; i < RUNNER_N; i++) {
		if (!runner_chosen(list, blen, runner_work[i].name))
			continue;
		ran++;
		bench_printf("== %s: %s\n", runner_work[i].name, runner_work[i].what);
		int err = runner_work[i].run();
		bench_progress_end();
		if (err < 0) {
			char why[48];
			bench_snprintf(why, sizeof(why), "error %d", -err);
			bench_printf("bench: %s FAILED: %s\n", runner_work[i].name, why);
			report_fail(runner_work[i].name, why);
		}
	}
	if (ran == 0) {
		bench_printf("bench: no workload matches bench=%.*s\n", (int)blen, list ? list : "");
		return 2;
	}
	report_summary(prev > 0 ? previous : NULL);
	runner_save();
	return report_failures() ? 1 : 0;
}
