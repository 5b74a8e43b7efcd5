/* System-call wrappers: the ABI of abi.h, nothing more. */
#include "app/include/phobos/app.h"

long phobos_syscall(long nr, long a0, long a1, long a2, long a3, long a4)
{
	long ret;
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The allocator's last word on a broken heap: a bad free, a broken run. */
_Noreturn void sys_panic(const char *why, uint64_t value)
{
	printf("app: panic: %s (%lx)\n", why, (unsigned long)value);
	sys_exit(70);
}

_Noreturn void sys_exit(int code)
{
	phobos_syscall(PHOBOS_SYS_EXIT, code, 0, 0, 0, 0);
	__builtin_unreachable();
}

long sys_console_write(const void *buf, size_t len)
{
	return phobos_syscall(PHOBOS_SYS_CONSOLE_WRITE, (long)buf, (long)len, 0, 0, 0);
}

long sys_clock_us(void)
{
	return phobos_syscall(PHOBOS_SYS_CLOCK_US, 0, 0, 0, 0, 0);
}

long sys_allocate_heap(uint64_t size, unsigned prot, uint64_t location, int zeroed)
{
	return phobos_syscall(PHOBOS_SYS_ALLOCATE_HEAP, (long)size, prot, (long)location, zeroed, 0);
}

long sys_free_heap(uint64_t addr)
{
	return phobos_syscall(PHOBOS_SYS_FREE_HEAP, (long)addr, 0, 0, 0, 0);
}

long sys_reserve_space(uint64_t size)
{
	return phobos_syscall(PHOBOS_SYS_RESERVE_SPACE, (long)size, 0, 0, 0, 0);
}

long sys_unreserve_space(uint64_t addr)
{
	return phobos_syscall(PHOBOS_SYS_UNRESERVE_SPACE, (long)addr, 0, 0, 0, 0);
}

long sys_open(const char *path, unsigned flags)
{
	return phobos_syscall(PHOBOS_SYS_OPEN, (long)path, flags, 0, 0, 0);
}

long sys_close(long fd)
{
	return phobos_syscall(PHOBOS_SYS_CLOSE, fd, 0, 0, 0, 0);
}

long sys_read(long fd, void *buf, size_t len)
{
	return phobos_syscall(PHOBOS_SYS_READ, fd, (long)buf, (long)len, 0, 0);
}

long sys_write(long fd, const void *buf, size_t len)
{
	return phobos_syscall(PHOBOS_SYS_WRITE, fd, (long)buf, (long)len, 0, 0);
}

long sys_seek(long fd, int64_t off, int whence)
{
	return phobos_syscall(PHOBOS_SYS_SEEK, fd, (long)off, whence, 0, 0);
}

long sys_stat(const char *path, struct phobos_stat *st)
{
	return phobos_syscall(PHOBOS_SYS_STAT, (long)path, (long)st, 0, 0, 0);
}

long sys_list(const char *path, struct phobos_dirent *out, size_t max)
{
	return phobos_syscall(PHOBOS_SYS_LIST, (long)path, (long)out, (long)max, 0, 0);
}

long sys_map_file(long fd, uint64_t offset, uint64_t size, unsigned prot, unsigned flags)
{
	return phobos_syscall(PHOBOS_SYS_MAP_FILE, fd, (long)offset, (long)size, prot, flags);
}

long sys_sync(uint64_t addr, uint64_t size)
{
	return phobos_syscall(PHOBOS_SYS_SYNC, (long)addr, (long)size, 0, 0, 0);
}

long sys_advise(uint64_t addr, uint64_t size, unsigned advice)
{
	return phobos_syscall(PHOBOS_SYS_ADVISE, (long)addr, (long)size, advice, 0, 0);
}

long sys_unmap(uint64_t addr)
{
	return phobos_syscall(PHOBOS_SYS_UNMAP, (long)addr, 0, 0, 0, 0);
}

long sys_vm_stats(struct phobos_vm_stats *out)
{
	return phobos_syscall(PHOBOS_SYS_VM_STATS, (long)out, 0, 0, 0, 0);
}

long sys_mkdir(const char *path)
{
	return phobos_syscall(PHOBOS_SYS_MKDIR, (long)path, 0, 0, 0, 0);
}

long sys_console_to(unsigned sink, const void *buf, size_t len)
{
	return phobos_syscall(PHOBOS_SYS_CONSOLE_TO, (long)sink, (long)buf, (long)len, 0, 0);
}

const struct phobos_gate *gate(void)
{
	return (const struct phobos_gate *)PHOBOS_GATE_ADDRESS;
}

uint64_t clock_us_fast(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t ticks = ((uint64_t)hi << 32 | lo) - gate()->tsc_base, hz = gate()->tsc_hz;
	/* whole seconds, then the rest: no 128-bit division in a freestanding app */
	return ticks / hz * 1000000 + ticks % hz * 1000000 / hz;
}
