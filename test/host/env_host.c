/*
 * The host side of core/env.h: what machine-independent kernel code sees
 * when it runs inside a unit test, fuzzer or benchmark on Linux.
 * Output goes to stdout, panics abort (so cmocka, ASan and libFuzzer all
 * report them), the clock is CLOCK_MONOTONIC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/env.h"
#include "test/host/env_host.h"

enum log_level env_host_log_level = LOG_ERROR;

static void env_host_vprint(const char *fmt, va_list ap)
{
	char buf[1024];

	kvsnprintf(buf, sizeof(buf), fmt, ap);
	fputs(buf, stdout);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	env_host_vprint(fmt, ap);
	va_end(ap);
}

void klog(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > env_host_log_level)
		return;
	printf("[%12llu] ", (unsigned long long)clock_us());
	va_start(ap, fmt);
	env_host_vprint(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void panic(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("PANIC: ", stderr);
	va_start(ap, fmt);
	char buf[1024];
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs(buf, stderr);
	fputc('\n', stderr);
	if (env_host_panic_hook != NULL)
		env_host_panic_hook(buf);
	abort();
}

void (*env_host_panic_hook)(const char *why);

uint64_t clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void irq_lock_init(struct irq_lock *l, const char *name)
{
	l->locked = 0;
	l->saved_flags = 0;
	l->name = name;
}

void irq_lock(struct irq_lock *l)
{
	if (l->locked)
		panic("irq_lock: %s already held (single-threaded host: deadlock)", l->name);
	l->locked = 1;
}

void irq_unlock(struct irq_lock *l)
{
	if (!l->locked)
		panic("irq_unlock: %s not held", l->name);
	l->locked = 0;
}

bool irq_lock_held(const struct irq_lock *l)
{
	return l->locked != 0;
}

void ksymbolize(uintptr_t addr, char *buf, size_t size)
{
	ksnprintf(buf, size, "%p", (void *)addr);
}
