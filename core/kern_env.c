/*
 * The kernel side of core/env.h: console output, log lines, irq locks and
 * symbol names.  panic() lives in panic.c, clock_us() in the clock code.
 */
#include "core/console.h"
#include "core/arch/x86_64/cpu.h"
#include "core/kernel.h"

static enum log_level kern_log_level = LOG_INFO;

void kern_set_log_level(enum log_level level)
{
	kern_log_level = level;
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);

	console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void klog(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	uint64_t us = clock_us();

	if (level > kern_log_level)
		return;
	kprintf("[%5llu.%06llu] ", (unsigned long long)(us / 1000000),
		(unsigned long long)(us % 1000000));
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
}

void irq_lock_init(struct irq_lock *l, const char *name)
{
	l->locked = 0;
	l->saved_flags = 0;
	l->name = name;
}

/*
 * One CPU: the lock only has to keep interrupt handlers out, so taking it
 * disables interrupts and remembers whether they were on.
 */
void irq_lock(struct irq_lock *l)
{
	uint64_t flags = read_rflags();

	cli();
	if (l->locked)
		panic("irq_lock: %s already held", l->name);
	l->locked = 1;
	l->saved_flags = flags;
}

void irq_unlock(struct irq_lock *l)
{
	uint64_t flags = l->saved_flags;

	if (!l->locked)
		panic("irq_unlock: %s not held", l->name);
	l->locked = 0;
	if (flags & RFLAGS_IF)
		sti();
}

bool irq_lock_held(const struct irq_lock *l)
{
	return l->locked != 0;
}
