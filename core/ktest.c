/* The self-test runner: selection, TAP output, failure accounting. */
#include "core/config.h"
#include "core/ktest.h"

extern const struct ktest __ktests_start[], __ktests_end[];

static unsigned ktest_failures; /* of the running test */
static const char *ktest_skipped;

void ktest_skip(const char *reason)
{
	ktest_skipped = reason;
}

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# %s:%d: %s\n", file, line, buf);
	ktest_failures++;
}

static bool ktest_selected(const struct ktest *t, const char *selection)
{
	if (selection[0] == '\0')
		return !(t->flags & KTEST_ON_REQUEST);
	if (strcmp(selection, "all") == 0)
		return !(t->flags & KTEST_ON_REQUEST);
	return config_list_has(selection, t->name);
}

int ktest_run(const char *selection)
{
	unsigned n = 0, i = 0;
	int failed = 0;

	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
		n += ktest_selected(t, selection);
	kprintf("1..%u\n", n);
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++) {
		if (!ktest_selected(t, selection))
			continue;
		ktest_failures = 0;
		ktest_skipped = NULL;
		uint64_t start = clock_us();
		t->fn();
		uint64_t us = clock_us() - start;
		i++;
		if (ktest_skipped != NULL && ktest_failures == 0)
			kprintf("ok %u - %s # SKIP %s\n", i, t->name, ktest_skipped);
		else
			kprintf("%s %u - %s # %llu us\n", ktest_failures ? "not ok" : "ok", i, t->name,
				(unsigned long long)us);
		failed += ktest_failures != 0;
	}
	return failed;
}
