/*
 * The app library (app/lib/): system-call wrappers, the gate page's clock,
 * strings, printf, and the bucket allocator (malloc and friends).  Each
 * wrapper returns what the kernel did: a value >= 0 or -PHOBOS_E*.
 */
#ifndef PHOBOS_APP_H
#define PHOBOS_APP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "app/include/phobos/abi.h"
#include "app/lib/bucket.h" /* malloc and friends */
#include "app/lib/sys.h"    /* the calls the allocator needs, and sys_panic */

long phobos_syscall(long nr, long a0, long a1, long a2, long a3, long a4);

_Noreturn void sys_exit(int code);
long sys_console_write(const void *buf, size_t len);
long sys_clock_us(void);
long sys_unreserve_space(uint64_t addr);
long sys_open(const char *path, unsigned flags);
long sys_close(long fd);
long sys_read(long fd, void *buf, size_t len);
long sys_write(long fd, const void *buf, size_t len);
long sys_seek(long fd, int64_t off, int whence);
long sys_stat(const char *path, struct phobos_stat *st);
long sys_list(const char *path, struct phobos_dirent *out, size_t max);
long sys_map_file(long fd, uint64_t offset, uint64_t size, unsigned prot, unsigned flags);
long sys_sync(uint64_t addr, uint64_t size);
long sys_advise(uint64_t addr, uint64_t size, unsigned advice);
long sys_unmap(uint64_t addr);
long sys_vm_stats(struct phobos_vm_stats *out);
long sys_mkdir(const char *path);
long sys_console_to(unsigned sink, const void *buf, size_t len);

/* The gate page, and microseconds from the TSC without a system call. */
const struct phobos_gate *gate(void);
uint64_t clock_us_fast(void);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
