/*
 * The workloads' shared kit: RESULT lines, counters, the progress bar,
 * random numbers, page patterns and reference traces.  See bench.h.
 */
#include "app/bench/bench.h"
#include "app/bench/report.h"

struct bench_opts bench_opts;

int bench_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = os_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void bench_vprint(void (*out)(const char *s, size_t len), const char *fmt, va_list ap)
{
	char buf[512];
	int n = os_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > 0)
		out(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void bench_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_vprint(os_console, fmt, ap);
	va_end(ap);
}

/* A line for programs (os_console_machine). */
static void bench_machine_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bench_machine_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_vprint(os_console_machine, fmt, ap);
	va_end(ap);
}

void bench_result(const char *bench, const char *metric, uint64_t milli, const char *unit)
{
	bench_progress_end();
	bench_machine_printf("RESULT {\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%llu.%03llu,"
		     "\"unit\":\"%s\"}\n",
		     bench, metric, (unsigned long long)(milli / 1000),
		     (unsigned long long)(milli % 1000), unit);
	report_add(bench, metric, milli, unit);
}

int bench_skip(const char *bench, const char *why)
{
	bench_progress_end();
	bench_printf("bench: %s skipped: %s\n", bench, why);
	report_skip(bench, why);
	return 1;
}

void bench_counters_report(const char *bench, const struct os_counters *b)
{
	struct os_counters a;

	os_counters(&a);
	bench_result(bench, "faults_major", (a.faults_major - b->faults_major) * 1000, "faults");
	bench_result(bench, "faults_minor", (a.faults_minor - b->faults_minor) * 1000, "faults");
	bench_result(bench, "pages_read", (a.pages_read - b->pages_read) * 1000, "pages");
	bench_result(bench, "pages_written", (a.pages_written - b->pages_written) * 1000, "pages");
	bench_result(bench, "pageouts", (a.pageouts - b->pageouts) * 1000, "pages");
}

uint64_t bench_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	return a / c * b + a % c * b / c;
}

/* ticks to a unit of 1/per_s seconds: whole seconds, then the rest, so
 * nothing overflows for any TSC below 18 GHz */
static uint64_t bench_ticks_to(uint64_t ticks, uint64_t per_s)
{
	uint64_t hz = os_tsc_hz();

	return ticks / hz * per_s + ticks % hz * per_s / hz;
}

uint64_t bench_rate(uint64_t count, uint64_t ticks)
{
	uint64_t us = bench_ticks_to(ticks, 1000000);

	return bench_muldiv(count, 1000000000ull, us ? us : 1);
}

uint64_t bench_ns(uint64_t ticks)
{
	return bench_ticks_to(ticks, 1000000000ull);
}

/* ---- the progress bar ---- */

static struct {
	const char *stage;
	uint64_t start, last;
	bool shown;
} bench_bar;

void bench_progress_begin(const char *stage)
{
	bench_progress_end();
	bench_bar.stage = stage;
	bench_bar.start = bench_bar.last = os_tsc();
	bench_bar.shown = false;
}

static void bench_progress_draw(uint64_t done, uint64_t total, uint64_t now)
{
	uint64_t hz = os_tsc_hz();
	unsigned fill = total ? (unsigned)(done * 40 / total) : 40;
	char bar[41];

	for (unsigned i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = 0;
	bench_printf("\r  %-24s [%s] %3u%% %4llu s", bench_bar.stage, bar,
		     total ? (unsigned)(done * 100 / total) : 100,
		     (unsigned long long)((now - bench_bar.start) / hz));
	bench_bar.last = now;
}

void bench_progress(uint64_t done, uint64_t total)
{
	uint64_t now = os_tsc(), hz = os_tsc_hz();

	if (bench_bar.stage == NULL || now - bench_bar.start < hz ||
	    (bench_bar.shown && now - bench_bar.last < hz / 4))
		return;
	bench_progress_draw(done, total, now);
	bench_bar.shown = true;
}

/* A bar that was shown ends full and on its own line, so what follows
 * (RESULT lines above all) starts at column 0 of a line of its own. */
void bench_progress_end(void)
{
	if (bench_bar.shown) {
		bench_progress_draw(1, 1, os_tsc());
		bench_printf("\n");
	}
	bench_bar.stage = NULL;
	bench_bar.shown = false;
}

static void bench_cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

void bench_machine_cpu(struct bench_machine *m)
{
	uint32_t r[4];

	bench_cpuid(0x80000000, r);
	if (r[0] >= 0x80000004)
		for (uint32_t i = 0; i < 3; i++) {
			bench_cpuid(0x80000002 + i, r);
			for (int k = 0; k < 4; k++)
				for (int b = 0; b < 4; b++)
					m->cpu[16 * i + 4 * k + b] = (char)(r[k] >> 8 * b);
		}
	m->cpu[48] = 0;
	for (int i = 0; i < 48; i++)
		if (m->cpu[i] != 0 && (m->cpu[i] < 0x20 || m->cpu[i] > 0x7e || m->cpu[i] == '"' ||
				       m->cpu[i] == '\\'))
			m->cpu[i] = '?';
	bench_cpuid(1, r);
	uint32_t fam = r[0] >> 8 & 0xf;
	/* the extended family counts for family 15 only, the extended model for 6 and 15 */
	m->cpu_family = fam + (fam == 0xf ? (r[0] >> 20 & 0xff) : 0);
	m->cpu_model = (r[0] >> 4 & 0xf) | (fam == 6 || fam == 0xf ? (r[0] >> 12 & 0xf0) : 0);
	m->cpu_stepping = r[0] & 0xf;
}

/* ---- random numbers and sorting ---- */

void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (r->s == 0)
		r->s = 1;
}

uint64_t bench_rng_next(struct bench_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint64_t bench_rng_below(struct bench_rng *r, uint64_t n)
{
	/* the top bits are the best of xorshift*; the bias is below 2^-32 for
	 * every n this app uses */
	return (bench_rng_next(r) >> 16) % n;
}

void bench_permutation(struct bench_rng *r, uint32_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = i;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = (uint32_t)bench_rng_below(r, i), t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
}

static void bench_sift(uint32_t *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[i] >= a[c])
			return;
		uint32_t t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

/* heap sort: no recursion, no extra memory, n log n on any input */
void bench_sort(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		bench_sift(a, i, n);
	for (size_t end = n; end > 1; end--) {
		uint32_t t = a[0];
		a[0] = a[end - 1];
		a[end - 1] = t;
		bench_sift(a, 0, end - 1);
	}
}

/* ---- page patterns ---- */

uint64_t bench_page_word(uint64_t index, uint64_t version, uint64_t word)
{
	/* word 0 is readable by eye (index and version); the rest mixes all
	 * three so a page shifted, stale or from another page cannot pass */
	if (word == 0)
		return index << 16 | (version & 0xffff);
	uint64_t x = (index << 20 ^ version << 8 ^ word) * 0xff51afd7ed558ccdull;
	return x ^ x >> 29;
}

void bench_page_fill(void *page, uint64_t index, uint64_t version)
{
	uint64_t *w = page;

	for (uint64_t i = 0; i < BENCH_PAGE / 8; i++)
		w[i] = bench_page_word(index, version, i);
}

bool bench_page_check(const void *page, uint64_t index, uint64_t version)
{
	const volatile uint64_t *w = page;

	for (uint64_t i = 0; i < BENCH_PAGE / 8; i++)
		if (w[i] != bench_page_word(index, version, i))
			return false;
	return true;
}

/* ---- reference traces ---- */

/* trace_replay's format (test/bench/trace_replay.c): "begin <id> <pages>",
 * "ref <id> <page>" for each reference, "frames <id> <frames>" to end.  The
 * ids start at 1000 so they never meet the kernel's object numbers. */
static struct {
	bool on;
	unsigned id;
	uint64_t frames;
} bench_tr = {.id = 1000};

void bench_trace_begin(const char *name, uint64_t pages, uint64_t frames)
{
	bench_tr.on = bench_opts.trace;
	bench_tr.id++;
	bench_tr.frames = frames;
	if (bench_tr.on)
		bench_machine_printf("# trace %u: %s\nTRACE begin %u %llu\n", bench_tr.id, name,
				     bench_tr.id, (unsigned long long)pages);
}

void bench_trace_ref(uint64_t page)
{
	if (bench_tr.on)
		bench_machine_printf("TRACE ref %u %llu\n", bench_tr.id, (unsigned long long)page);
}

void bench_trace_end(void)
{
	if (bench_tr.on)
		bench_machine_printf("TRACE frames %u %llu\n", bench_tr.id,
				     (unsigned long long)bench_tr.frames);
	bench_tr.on = false;
}
