/*
 * The kernel environment: the one door through which machine-independent
 * code (core/mm, fs/, core/lib) reaches the rest of the system.
 *
 * Two implementations sit behind it:
 *   - the kernel: core/kern_env.c (console, panic with backtrace, the
 *     TSC clock, interrupt-disabling irq locks);
 *   - the host: test/host/env_host.c (libc, abort(), clock_gettime), used by
 *     every host unit test, fuzzer and benchmark.
 * Machine-independent code includes only this header, errno.h and headers of
 * its own subsystem; `make check-deps` enforces that.
 *
 * Lock key used in struct comments across the tree:
 *   (c) constant after creation   (l) the structure's own irq lock
 *   (m) the owning map's lock     (o) the owning object's lock
 *   (q) the page queue lock       (f) the free-page lock
 * Phobos runs one CPU; irq locks still exist so that interrupt handlers
 * and the contracts stay honest, and irq_lock_assert_held() documents them.
 */
#ifndef PHOBOS_ENV_H
#define PHOBOS_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/errno.h"

#ifdef PHOBOS_HOST
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

typedef uint64_t paddr_t; /* physical address */
typedef uint64_t vaddr_t; /* virtual address */

#define PAGE_SHIFT 12
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)
#define PAGE_MASK (PAGE_SIZE - 1)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* a must be a power of two */
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + ((__typeof__(x))(a)-1), (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define IS_POW2(x) ((x) != 0 && ((x) & ((x)-1)) == 0)
#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

#define __printf_like(f, a) __attribute__((format(printf, f, a)))
#define __unused __attribute__((unused))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Console output, formatted by core/lib/printf.c on both sides. */
void kprintf(const char *fmt, ...) __printf_like(1, 2);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf_like(3, 4);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/*
 * Log lines: a microsecond timestamp and the message.  Lines below the
 * configured level (log=) are dropped.
 */
enum log_level { LOG_ERROR, LOG_INFO, LOG_DEBUG };
void klog(enum log_level level, const char *fmt, ...) __printf_like(2, 3);
#define log_error(...) klog(LOG_ERROR, __VA_ARGS__)
#define log_info(...) klog(LOG_INFO, __VA_ARGS__)
#define log_debug(...) klog(LOG_DEBUG, __VA_ARGS__)

/*
 * A broken invariant.  The kernel prints "PANIC: <why>", registers and a
 * backtrace and exits with code 3; the host aborts so the test fails.
 */
_Noreturn void panic(const char *fmt, ...) __printf_like(1, 2);

#define KASSERT(cond, ...)                                                                         \
	do {                                                                                       \
		if (unlikely(!(cond)))                                                             \
			panic("%s:%d: %s: assertion '%s' failed", __FILE__, __LINE__, __func__,  \
			      #cond);                                                              \
	} while (0)

/*
 * Names a code address as "function+0xoff" into buf (kernel: the symbol
 * table linked into the image; host: the bare address).  For diagnostics
 * such as "double free by caller X".
 */
void ksymbolize(uintptr_t addr, char *buf, size_t size);

/* Monotonic microseconds since boot (kernel) or since some epoch (host). */
uint64_t clock_us(void);

/*
 * Irq locks: a section with interrupts off, not a spinlock.  Phobos runs
 * one CPU, so nobody else can hold a lock being taken: taking one that is
 * held means re-entry (an interrupt handler, or a path that forgot to
 * release it), and panics instead of spinning for ever.  The holder is
 * recorded so irq_lock_assert_held() can check contracts.
 */
struct irq_lock {
	volatile uint32_t locked;
	uint64_t saved_flags;
	const char *name;
};
#define IRQ_LOCK_INIT(n) {0, 0, (n)}
void irq_lock_init(struct irq_lock *l, const char *name);
void irq_lock(struct irq_lock *l);
void irq_unlock(struct irq_lock *l);
bool irq_lock_held(const struct irq_lock *l);
#define irq_lock_assert_held(l) KASSERT(irq_lock_held(l))

#endif
