/*
 * Kernel-side benchmarks: figures with no form an app could measure (a raw
 * disk's reads).  The benchmark app in ring 3 runs every other workload
 * (app/bench/).  A benchmark registers with KBENCH(name) into the .kbench
 * linker section and runs only when bench= names it (never with "all": it
 * wants a machine set up for it, such as a test disk).
 * Figures are printed as SPEC 7 RESULT lines through kbench_result, one
 * figure per line; the kernel has no floating point, so values are passed
 * in thousandths and printed with three decimals.
 */
#ifndef PHOBOS_KBENCH_H
#define PHOBOS_KBENCH_H

#include "core/env.h"

struct kbench {
	const char *name;
	/* 0, or a negative code when the benchmark could not run */
	int (*fn)(void);
};

#define KBENCH(bname)                                                                              \
	static int kbench_fn_##bname(void);                                                        \
	static const struct kbench kbench_##bname __attribute__((used, section(".kbench"),        \
								 aligned(8))) = {#bname,         \
											 kbench_fn_##bname}; \
	static int kbench_fn_##bname(void)

/* RESULT {"bench":b,"metric":m,"value":milli/1000,"unit":u} */
void kbench_result(const char *bench, const char *metric, uint64_t milli, const char *unit);

/* Runs the kernel-side benchmarks that the comma list selection names and
 * copies the other names, comma-separated, into rest (for the app).
 * Returns how many failed to run. */
int kbench_run(const char *selection, char *rest, size_t size);

#endif
