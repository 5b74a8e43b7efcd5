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
};

#define KBENCH(bname)                                                                              \
	static int kbench_fn_##bname(void);                                                        \
	static const struct kbench kbench_##bname __attribute__((used, section(".kbench"),        \
								 aligned(8))) = {#bname,         \
										 kbench_fn_##bname};  \
	static int kbench_fn_##bname(void)

/* RESULT {"bench":b,"metric":m,"value":milli/1000,"unit":u} */
void kbench_result(const char *bench, const char *metric, uint64_t milli, const char *unit);

/* Runs the selected benchmarks; returns how many failed to run. */
int kbench_run(const char *selection);

#endif
