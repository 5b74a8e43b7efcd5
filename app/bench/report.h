/*
 * The run's figures, kept for the summary table and the results file.
 * report_add records one figure; report_skip and report_fail one workload
 * that gave none.  report_json writes the run as the results file's JSON
 * (one figure per line, so a later run can read it back with
 * report_previous without a JSON parser).
 */
#ifndef PHOBOS_APP_BENCH_REPORT_H
#define PHOBOS_APP_BENCH_REPORT_H

#include "app/bench/bench.h"

#define REPORT_MAX 256

struct report_entry {
	char bench[24], metric[32], unit[16];
	uint64_t milli;
};

void report_add(const char *bench, const char *metric, uint64_t milli, const char *unit);
void report_skip(const char *bench, const char *why);
void report_fail(const char *bench, const char *why);
/* Characters written (at most size - 1), or -BENCH_ENOSPC when it did not fit. */
long report_json(char *buf, size_t size, const struct bench_machine *m, long number);
/* The figure bench/metric of a results file's text; false when absent. */
bool report_previous(const char *text, const char *bench, const char *metric, uint64_t *milli);
/* The table every run ends with: each headline figure and the previous
 * run's, then the results file's name. */
void report_summary(const char *previous);
unsigned report_failures(void);

#endif
