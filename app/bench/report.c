/*
 * The run's figures: summary table and results file (see report.h).
 */
#include "app/bench/report.h"
#include "phobos_commit.h"

static struct report_entry report_tab[REPORT_MAX];
static unsigned report_n;

#define REPORT_NOTES 16
static struct {
	char bench[24];
	char why[96];
	bool failed;
} report_note[REPORT_NOTES];
static unsigned report_notes, report_failed;

static void report_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

void report_add(const char *bench, const char *metric, uint64_t milli, const char *unit)
{
	if (report_n == REPORT_MAX)
		return;
	struct report_entry *e = &report_tab[report_n++];
	report_copy(e->bench, sizeof(e->bench), bench);
	report_copy(e->metric, sizeof(e->metric), metric);
	report_copy(e->unit, sizeof(e->unit), unit);
	e->milli = milli;
}

static void report_note_add(const char *bench, const char *why, bool failed)
{
	report_failed += failed;
	if (report_notes == REPORT_NOTES)
		return;
	report_copy(report_note[report_notes].bench, sizeof(report_note[0].bench), bench);
	report_copy(report_note[report_notes].why, sizeof(report_note[0].why), why);
	report_note[report_notes++].failed = failed;
}

void report_skip(const char *bench, const char *why)
{
	report_note_add(bench, why, false);
}

void report_fail(const char *bench, const char *why)
{
	report_note_add(bench, why, true);
}

unsigned report_failures(void)
{
	return report_failed;
}

long report_json(char *buf, size_t size, const struct bench_machine *m, long number)
{
	size_t o = 0;
#define REPORT_PUT(...)                                                                            \
	do {                                                                                       \
		int n_ = bench_snprintf(buf + o, size - o, __VA_ARGS__);                           \
		if (n_ < 0 || (size_t)n_ >= size - o)                                              \
			return -BENCH_ENOSPC;                                                      \
		o += (size_t)n_;                                                                   \
	} while (0)

	REPORT_PUT("{\"phobos_results\":1,\"number\":%ld,\"commit\":\"%s\",\n", number,
		   PHOBOS_COMMIT);
	REPORT_PUT("\"machine\":{\"os\":\"%s\",\"cpu\":\"%s\",\"family\":%u,\"model\":%u,"
		   "\"stepping\":%u,\"mem_bytes\":%llu,\"firmware\":\"%s\",\"disks\":[",
		   m->os, m->cpu, m->cpu_family, m->cpu_model, m->cpu_stepping,
		   (unsigned long long)m->mem_total, m->firmware);
	for (uint32_t i = 0; i < m->disks; i++)
		REPORT_PUT("%s{\"name\":\"%s\",\"bytes\":%llu}", i ? "," : "", m->disk_name[i],
			   (unsigned long long)m->disk_bytes[i]);
	REPORT_PUT("]},\n\"notes\":[");
	for (unsigned i = 0; i < report_notes; i++)
		REPORT_PUT("%s\n{\"bench\":\"%s\",\"%s\":\"%s\"}", i ? "," : "", report_note[i].bench,
			   report_note[i].failed ? "failed" : "skipped", report_note[i].why);
	REPORT_PUT("],\n\"results\":[\n");
	for (unsigned i = 0; i < report_n; i++) {
		const struct report_entry *e = &report_tab[i];
		REPORT_PUT("{\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%llu.%03llu,\"unit\":\"%s\"}%s\n",
			   e->bench, e->metric, (unsigned long long)(e->milli / 1000),
			   (unsigned long long)(e->milli % 1000), e->unit,
			   i + 1 < report_n ? "," : "");
	}
	REPORT_PUT("]}\n");
	return (long)o;
#undef REPORT_PUT
}

/* Finds `"key":"value"` at p (p at the opening quote of key). */
static bool report_field(const char *p, const char *key, const char *value, const char **after)
{
	size_t k = 0, v = 0;

	if (*p++ != '"')
		return false;
	while (key[k] && p[k] == key[k])
		k++;
	if (key[k] || p[k] != '"' || p[k + 1] != ':' || p[k + 2] != '"')
		return false;
	p += k + 3;
	while (value[v] && p[v] == value[v])
		v++;
	if (value[v] || p[v] != '"')
		return false;
	*after = p + v + 2;
	return true;
}

static uint64_t report_parse_milli(const char *p)
{
	uint64_t whole = 0, frac = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9')
		whole = whole * 10 + (uint64_t)(*p++ - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 3) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				digits++;
			}
	while (digits++ < 3)
		frac *= 10;
	return whole * 1000 + frac;
}

bool report_previous(const char *text, const char *bench, const char *metric, uint64_t *milli)
{
	static const char value_key[] = "\"value\":";

	for (const char *line = text; line != NULL && *line;) {
		const char *p;
		if (line[0] == '{' && report_field(line + 1, "bench", bench, &p) &&
		    report_field(p, "metric", metric, &p)) {
			for (size_t i = 0; value_key[i]; i++)
				if (p[i] != value_key[i])
					return false;
			*milli = report_parse_milli(p + sizeof(value_key) - 1);
			return true;
		}
		while (*line && *line != '\n')
			line++;
		line = *line ? line + 1 : NULL;
	}
	return false;
}

/* The figure each workload is judged by in the summary. */
static const struct {
	const char *bench, *metric, *label;
	bool lower_better;
} report_headline[] = {
	{"first_touch", "pages_per_s", "first touch, pages/s", false},
	{"first_touch", "latency_p50_ns", "first touch, median ns", true},
	{"file_map_read", "seq_pages_per_s", "file map read in order, pages/s", false},
	{"file_map_read", "walk_pages_per_s", "file map read, walk, pages/s", false},
	{"file_map_read", "rand_pages_per_s", "file map read at random, pages/s", false},
	{"file_map_write", "mib_per_s", "file map write + sync, MiB/s", false},
	{"swap_ws", "touches_per_s", "swap working set, touches/s", false},
	{"swap_ws", "bad_pages", "swap working set, bad pages", true},
	{"alloc_mix", "ops_per_s", "allocator mix, ops/s", false},
	{"replacement", "loop_pages_read", "replacement loop, pages read", true},
	{"replacement", "zipf_pages_read", "replacement Zipf, pages read", true},
	{"replacement", "scan_pages_read", "replacement hot+scan, pages read", true},
	{"boot", "loader_to_app_ms", "boot, loader to app, ms", true},
	{"tick", "lost_pct", "busy loop, % of time in gaps", true},
};

static void report_fmt(char *buf, size_t size, uint64_t milli)
{
	if (milli >= 100000)
		bench_snprintf(buf, size, "%llu", (unsigned long long)((milli + 500) / 1000));
	else
		bench_snprintf(buf, size, "%llu.%03llu", (unsigned long long)(milli / 1000),
			       (unsigned long long)(milli % 1000));
}

static const struct report_entry *report_find(const char *bench, const char *metric)
{
	for (unsigned i = 0; i < report_n; i++)
		if (!__builtin_strcmp(report_tab[i].bench, bench) &&
		    !__builtin_strcmp(report_tab[i].metric, metric))
			return &report_tab[i];
	return NULL;
}

#define REPORT_BAR 48

/* One bar: the label's column, then n cells of colour c. */
static void report_bar(const char *label, unsigned n, char c, const char *tail)
{
	char line[256];
	int o = bench_snprintf(line, sizeof(line), "%-36s ", label);

	for (unsigned i = 0; i < n && o < (int)sizeof(line) - 40; i++)
		line[o++] = c;
	o += bench_snprintf(line + o, sizeof(line) - (size_t)o, " %s\n", tail);
	os_fb_write(line, (size_t)o);
}

/* On the framebuffer: each headline figure as a green bar beside the
 * previous run's in grey, both against the larger of the two. */
static void report_chart(const char *previous)
{
	if (os_fb_write("\n", 1) < 0)
		return;
	for (size_t i = 0; i < sizeof(report_headline) / sizeof(report_headline[0]); i++) {
		const struct report_entry *e =
			report_find(report_headline[i].bench, report_headline[i].metric);
		uint64_t prev = 0;
		if (e == NULL)
			continue;
		bool had = previous != NULL &&
			   report_previous(previous, e->bench, e->metric, &prev);
		uint64_t top = e->milli > prev ? e->milli : prev;
		char now[24], before[24];
		report_fmt(now, sizeof(now), e->milli);
		report_fmt(before, sizeof(before), prev);
		report_bar(report_headline[i].label,
			   top ? (unsigned)bench_muldiv(e->milli, REPORT_BAR, top) : 0, 1, now);
		if (had)
			report_bar(report_headline[i].lower_better ? "  (lower is better)" : "",
				   top ? (unsigned)bench_muldiv(prev, REPORT_BAR, top) : 0, 2, before);
	}
}

void report_summary(const char *previous)
{
	bench_printf("\n%-36s %14s %14s %8s\n", "summary", "this run", "previous", "change");
	for (size_t i = 0; i < sizeof(report_headline) / sizeof(report_headline[0]); i++) {
		const struct report_entry *e =
			report_find(report_headline[i].bench, report_headline[i].metric);
		if (e == NULL)
			continue;
		char now[24], before[24] = "-", change[16] = "";
		uint64_t prev;
		report_fmt(now, sizeof(now), e->milli);
		if (previous != NULL &&
		    report_previous(previous, e->bench, e->metric, &prev)) {
			report_fmt(before, sizeof(before), prev);
			if (prev > 0) {
				/* per mille of the previous figure, signed by hand */
				uint64_t pm = bench_muldiv(e->milli, 1000, prev);
				bool up = pm >= 1000;
				uint64_t d = up ? pm - 1000 : 1000 - pm;
				bench_snprintf(change, sizeof(change), "%c%llu.%llu%%", up ? '+' : '-',
					       (unsigned long long)(d / 10),
					       (unsigned long long)(d % 10));
			}
		}
		bench_printf("%-36s %14s %14s %8s\n", report_headline[i].label, now, before, change);
	}
	for (unsigned i = 0; i < report_notes; i++)
		bench_printf("%-36s %s: %s\n", report_note[i].bench,
			     report_note[i].failed ? "FAILED" : "skipped", report_note[i].why);
	report_chart(previous);
}
