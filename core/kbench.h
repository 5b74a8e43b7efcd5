/*
 * Kernel benchmarks (app=bench).  A benchmark registers with KBENCH(name)
 * into the .kbench linker section; bench= selects by name (or "all").
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
	unsigned flags;
};

/* Runs only when bench= names it: it wants a machine set up for it (a
 * mem= cap, swap, trace=1), which the all-in-one run does not have. */
#define KBENCH_ON_REQUEST 0x1

#define KBENCH_DEFINE(bname, bflags)                                                               \
	static int kbench_fn_##bname(void);                                                        \
	static const struct kbench kbench_##bname __attribute__((used, section(".kbench"),        \
								 aligned(8))) = {                \
	    #bname, kbench_fn_##bname, bflags};                                                    \
	static int kbench_fn_##bname(void)

#define KBENCH(bname) KBENCH_DEFINE(bname, 0)

/* RESULT {"bench":b,"metric":m,"value":milli/1000,"unit":u} */
void kbench_result(const char *bench, const char *metric, uint64_t milli, const char *unit);

/* Runs the selected benchmarks; returns how many failed to run. */
int kbench_run(const char *selection);

#endif
