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

long phobos_syscall(long nr, long a0, long a1, long a2, long a3, long a4);

_Noreturn void sys_exit(int code);
_Noreturn void sys_panic(const char *why, uint64_t value);
long sys_console_write(const void *buf, size_t len);
long sys_clock_us(void);
long sys_allocate_heap(uint64_t size, unsigned prot, uint64_t location, int zeroed);
long sys_free_heap(uint64_t addr);
long sys_reserve_space(uint64_t size);
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
long sys_unmap(uint64_t addr);
long sys_vm_stats(struct phobos_vm_stats *out);

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

/* The bucket allocator (app/lib/bucket.c, contract in app/lib/bucket.h). */
void *malloc(size_t size);
void free(void *p);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void *aligned_alloc(size_t align, size_t size);
size_t malloc_usable_size(void *p);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
