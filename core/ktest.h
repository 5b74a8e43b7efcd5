/*
 * Kernel self-tests (app=selftest).  A test is a function registered with
 * KTEST(name) into the .ktests linker section; ktest_run prints TAP
 * (SPEC 7): "1..N", then "ok N - name" or "not ok N - name" with "# "
 * lines saying what failed.  KTEST_ON_REQUEST tests (deliberate faults) run
 * only when named in selftest=.
 */
#ifndef PHOBOS_KTEST_H
#define PHOBOS_KTEST_H

#include "core/env.h"

#define KTEST_ON_REQUEST 0x1

struct ktest {
	const char *name;
	void (*fn)(void);
	unsigned flags;
};

#define KTEST_DEFINE(tname, tflags)                                                                \
	static void ktest_fn_##tname(void);                                                        \
	static const struct ktest ktest_##tname __attribute__((used, section(".ktests"),          \
							       aligned(8))) = {#tname, ktest_fn_##tname, \
										tflags};                  \
	static void ktest_fn_##tname(void)

#define KTEST(tname) KTEST_DEFINE(tname, 0)

/* Records a failure of the running test (which goes on) with a reason. */
void ktest_fail(const char *file, int line, const char *fmt, ...) __printf_like(3, 4);
/* The running test cannot check what it is for on this machine: its line
 * says "ok N - name # SKIP <reason>", never a plain ok.  The test returns. */
void ktest_skip(const char *reason);

#define KTEST_ASSERT(cond, ...)                                                                    \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ktest_fail(__FILE__, __LINE__, "assertion '%s' failed", #cond);            \
	} while (0)

#define KTEST_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long ktest_a_ = (unsigned long long)(a);                             \
		unsigned long long ktest_b_ = (unsigned long long)(b);                             \
		if (ktest_a_ != ktest_b_)                                                          \
			ktest_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b,      \
				   ktest_a_, ktest_b_);                                            \
	} while (0)

/* Runs the selected tests ("" = all not on request); returns failures. */
int ktest_run(const char *selection);

#endif
