/*
 * The benchmark app's portability layer on Linux (POSIX): the init of a
 * Linux guest in the same QEMU as Phobos (test/bench/linux_init.c), or a
 * plain host program (main_linux.c).  Files live under os_linux_root, the
 * FAT partition's mount point in the guest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "app/bench/bench.h"
#include "app/bench/os_linux.h"

const char *os_linux_root = "";
bool os_linux_swap;

uint64_t os_tsc(void)
{
	return __rdtsc();
}

static uint64_t os_linux_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Timed once against the monotonic clock over 50 ms. */
uint64_t os_tsc_hz(void)
{
	static uint64_t hz;

	if (hz == 0) {
		uint64_t n0 = os_linux_ns(), t0 = os_tsc(), n1, t1;
		do {
			n1 = os_linux_ns();
			t1 = os_tsc();
		} while (n1 - n0 < 50000000ull);
		hz = bench_muldiv(t1 - t0, 1000000, (n1 - n0) / 1000);
	}
	return hz;
}

void os_null_trap(void)
{
	syscall(SYS_getppid); /* not cached by the C library, no vDSO */
}

/* A field of a /proc file that reads "name value" or "name: value kB". */
static uint64_t os_linux_field(const char *file, const char *name)
{
	char line[256];
	size_t n = strlen(name);
	uint64_t v = 0;
	FILE *f = fopen(file, "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == ':')) {
			v = strtoull(line + n + 1 + strspn(line + n + 1, " :"), NULL, 10);
			break;
		}
	if (f != NULL)
		fclose(f);
	return v;
}

uint64_t os_mem_free(void)
{
	return os_linux_field("/proc/meminfo", "MemAvailable") * 1024;
}

bool os_have_swap(void)
{
	return os_linux_swap;
}

uint64_t os_swap_free(void)
{
	return os_linux_swap ? os_linux_field("/proc/meminfo", "SwapFree") * 1024 : 0;
}

bool os_have_files(void)
{
	struct stat st;

	return os_linux_root[0] != 0 && stat(os_linux_root, &st) == 0 && S_ISDIR(st.st_mode);
}

void *os_block(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void os_block_free(void *p, uint64_t size)
{
	munmap(p, size);
}

void *os_malloc(size_t size)
{
	return malloc(size);
}

void os_free(void *p)
{
	free(p);
}

/* Resident memory stands for the allocator's: the peak (VmHWM, reset by
 * clear_refs) above what was resident at the reset. */
static uint64_t os_linux_rss0;

void os_heap_peak_reset(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			bench_printf("bench: warning: VmHWM not reset; the peak is the process's\n");
		close(fd);
	}
	os_linux_rss0 = os_linux_field("/proc/self/status", "VmRSS") * 1024;
}

uint64_t os_heap_peak(void)
{
	uint64_t hwm = os_linux_field("/proc/self/status", "VmHWM") * 1024;

	return hwm > os_linux_rss0 ? hwm - os_linux_rss0 : 0;
}

static void os_linux_path(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "%s%s", os_linux_root, path);
}

long os_open(const char *path, bool create)
{
	char p[512];

	os_linux_path(p, sizeof(p), path);
	int fd = open(p, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	return fd < 0 ? -errno : fd;
}

long os_size(long fd)
{
	struct stat st;

	return fstat((int)fd, &st) < 0 ? -errno : (long)st.st_size;
}

long os_pwrite(long fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite((int)fd, buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

void os_close(long fd)
{
	close((int)fd);
}

int os_mkdir(const char *path)
{
	char p[512];

	os_linux_path(p, sizeof(p), path);
	return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

void *os_map(long fd, uint64_t size, bool writable)
{
	void *p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, (int)fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int os_sync(void *p, uint64_t size)
{
	return msync(p, size, MS_SYNC) < 0 ? -errno : 0;
}

int os_advise(void *p, uint64_t size, enum os_advice advice)
{
	return -posix_madvise(p, size,
			      advice == OS_ADVICE_RANDOM ? POSIX_MADV_RANDOM : POSIX_MADV_SEQUENTIAL);
}

void os_unmap(void *p, uint64_t size)
{
	munmap(p, size);
}

int os_drop_cache(const char *path)
{
	long fd = os_open(path, false);

	if (fd < 0)
		return (int)fd;
	fsync((int)fd);
	int err = posix_fadvise((int)fd, 0, 0, POSIX_FADV_DONTNEED);
	close((int)fd);
	/* the guest's init is root and drops every clean page; a host run is
	 * not, and the file's own pages went with the fadvise */
	int dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (dc >= 0) {
		if (write(dc, "1", 1) != 1)
			err = err ? err : EIO;
		close(dc);
	}
	return -err;
}

void os_counters(struct os_counters *c)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	c->faults_major = (uint64_t)ru.ru_majflt;
	c->faults_minor = (uint64_t)ru.ru_minflt;
	/* pgpgin and pgpgout count KiB of block I/O, swap included */
	c->pages_read = os_linux_field("/proc/vmstat", "pgpgin") / 4;
	c->pages_written = os_linux_field("/proc/vmstat", "pgpgout") / 4;
	c->pageouts = os_linux_field("/proc/vmstat", "pswpout");
}

void os_console(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

void os_console_machine(const char *s, size_t len)
{
	os_console(s, len);
}

long os_fb_write(const char *s, size_t len)
{
	(void)s;
	(void)len;
	return -BENCH_ENOSYS;
}

int os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

static void os_linux_read(const char *file, char *out, size_t size)
{
	FILE *f = fopen(file, "r");

	out[0] = 0;
	if (f != NULL) {
		if (fgets(out, (int)size, f) == NULL)
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n\"\\")] = 0;
}

void os_machine(struct bench_machine *m)
{
	char vendor[40], version[40], path[300];
	struct sysinfo si;
	DIR *d = opendir("/sys/block");
	struct dirent *e;

	memset(m, 0, sizeof(*m));
	snprintf(m->os, sizeof(m->os), "linux");
	bench_machine_cpu(m);
	if (sysinfo(&si) == 0)
		m->mem_total = (uint64_t)si.totalram * si.mem_unit;
	os_linux_read("/sys/class/dmi/id/bios_vendor", vendor, sizeof(vendor));
	os_linux_read("/sys/class/dmi/id/bios_version", version, sizeof(version));
	snprintf(m->firmware, sizeof(m->firmware), "%s %s", vendor, version);
	while (d != NULL && (e = readdir(d)) != NULL && m->disks < BENCH_DISKS_MAX) {
		char sectors[32];
		if (e->d_name[0] == '.' || strncmp(e->d_name, "loop", 4) == 0 ||
		    strncmp(e->d_name, "ram", 3) == 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/size", e->d_name);
		os_linux_read(path, sectors, sizeof(sectors));
		snprintf(m->disk_name[m->disks], sizeof(m->disk_name[0]), "%s", e->d_name);
		m->disk_bytes[m->disks++] = strtoull(sectors, NULL, 10) * 512;
	}
	if (d != NULL)
		closedir(d);
}

uint64_t os_boot_tsc(void)
{
	return 0;
}

uint64_t os_start_tsc(void)
{
	return os_tsc();
}

long os_results_last(char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return 0;
}

long os_results_save(const char *text, size_t len)
{
	(void)text;
	(void)len;
	return -BENCH_ENOSYS;
}
