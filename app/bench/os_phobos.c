/*
 * The benchmark app's portability layer on Phobos: the system calls of
 * app/include/phobos/abi.h, the gate page's clock and facts, the bucket
 * allocator.  Results files go to \phobos\results\NNNN.json on the files
 * partition.
 */
#include "app/bench/bench.h"
#include "app/include/phobos/app.h"

#define OS_RESULTS_DIR "/phobos/results"
#define OS_RESULTS_MAX 1024

extern uint64_t app_start_tsc;
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

uint64_t os_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

uint64_t os_tsc_hz(void)
{
	return gate()->tsc_hz;
}

/* Reading the clock is the least any of the system calls does. */
void os_null_trap(void)
{
	sys_clock_us();
}

uint64_t os_mem_free(void)
{
	struct phobos_vm_stats st;

	return sys_vm_stats(&st) == 0 ? st.pages_free * PHOBOS_PAGE_SIZE : 0;
}

bool os_have_swap(void)
{
	return gate()->swap_on != 0;
}

uint64_t os_swap_free(void)
{
	struct phobos_vm_stats st;

	if (sys_vm_stats(&st) != 0 || st.swap_slots_total < st.swap_slots_used)
		return 0;
	return (st.swap_slots_total - st.swap_slots_used) * PHOBOS_PAGE_SIZE;
}

bool os_have_files(void)
{
	return gate()->files_on != 0;
}

void *os_block(uint64_t size)
{
	long a = sys_allocate_heap((size + PHOBOS_PAGE_SIZE - 1) & ~(PHOBOS_PAGE_SIZE - 1),
				   PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, PHOBOS_HEAP_ANYWHERE, 1);
	return a > 0 ? (void *)a : NULL;
}

void os_block_free(void *p, uint64_t size)
{
	(void)size;
	sys_free_heap((uint64_t)p);
}

void *os_malloc(size_t size)
{
	return malloc(size);
}

void os_free(void *p)
{
	free(p);
}

/* The bucket allocator's peak cannot be reset: what it held at the reset
 * is subtracted, and the workloads keep their big arrays out of malloc so
 * that the peak before the reset stays below the mix's. */
static uint64_t os_heap_base;

void os_heap_peak_reset(void)
{
	struct bucket_stats st;

	bucket_stats(&st);
	os_heap_base = st.heap_bytes;
}

uint64_t os_heap_peak(void)
{
	struct bucket_stats st;

	bucket_stats(&st);
	return st.heap_peak - os_heap_base;
}

long os_open(const char *path, bool create)
{
	return sys_open(path, create ? PHOBOS_O_CREATE | PHOBOS_O_TRUNC : 0);
}

long os_size(long fd)
{
	long size = sys_seek(fd, 0, PHOBOS_SEEK_END);

	sys_seek(fd, 0, PHOBOS_SEEK_SET);
	return size;
}

long os_pwrite(long fd, const void *buf, size_t len, uint64_t off)
{
	long pos = sys_seek(fd, (int64_t)off, PHOBOS_SEEK_SET);

	return pos < 0 ? pos : sys_write(fd, buf, len);
}

void os_close(long fd)
{
	sys_close(fd);
}

int os_mkdir(const char *path)
{
	long err = sys_mkdir(path);

	return err == -PHOBOS_EEXIST ? 0 : (int)err;
}

void *os_map(long fd, uint64_t size, bool writable)
{
	long a = sys_map_file(fd, 0, size, PHOBOS_PROT_READ | (writable ? PHOBOS_PROT_WRITE : 0),
			      PHOBOS_MAP_SHARED);
	return a > 0 ? (void *)a : NULL;
}

int os_sync(void *p, uint64_t size)
{
	return (int)sys_sync((uint64_t)p, size);
}

int os_advise(void *p, uint64_t size, enum os_advice advice)
{
	return (int)sys_advise((uint64_t)p, size,
			       advice == OS_ADVICE_RANDOM ? PHOBOS_ADVICE_RANDOM
							  : PHOBOS_ADVICE_SEQUENTIAL);
}

void os_unmap(void *p, uint64_t size)
{
	(void)size;
	sys_unmap((uint64_t)p);
}

/* A file's object, and its pages with it, goes with its last mapping and
 * descriptor, which every workload has let go by now. */
int os_drop_cache(const char *path)
{
	(void)path;
	return 0;
}

void os_counters(struct os_counters *c)
{
	struct phobos_vm_stats st = {0};

	sys_vm_stats(&st);
	c->faults_major = st.faults_major;
	c->faults_minor = st.faults_minor;
	c->pages_read = st.pageins;
	c->pages_written = st.pageouts;
	c->pageouts = st.pageouts;
}

void os_console(const char *s, size_t len)
{
	sys_console_write(s, len);
}

long os_fb_write(const char *s, size_t len)
{
	return sys_console_to(PHOBOS_CONSOLE_FB, s, len);
}

/* RESULT lines go to the serial line alone: the screen shows the progress
 * and the summary, the results file keeps every figure. */
void os_console_machine(const char *s, size_t len)
{
	sys_console_to(PHOBOS_CONSOLE_SERIAL, s, len);
}

int os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return kvsnprintf(buf, size, fmt, ap);
}

void os_machine(struct bench_machine *m)
{
	const struct phobos_gate *g = gate();

	memset(m, 0, sizeof(*m));
	memcpy(m->os, "phobos", 7);
	bench_machine_cpu(m);
	m->mem_total = g->mem_total;
	bench_snprintf(m->firmware, sizeof(m->firmware), "%s rev %u.%u",
		   g->fw_vendor[0] ? g->fw_vendor : "?", g->fw_revision >> 16,
		   g->fw_revision & 0xffff);
	m->disks = g->disks < BENCH_DISKS_MAX ? g->disks : BENCH_DISKS_MAX;
	for (uint32_t i = 0; i < m->disks; i++) {
		memcpy(m->disk_name[i], g->disk_names[i], sizeof(m->disk_name[i]) - 1);
		m->disk_bytes[i] = g->disk_bytes[i];
	}
}

uint64_t os_boot_tsc(void)
{
	return gate()->tsc_loader;
}

uint64_t os_start_tsc(void)
{
	return app_start_tsc;
}

/* The highest NNNN of NNNN.json in the results directory; 0 for none. */
static long os_results_newest(void)
{
	struct phobos_dirent *d = malloc(OS_RESULTS_MAX * sizeof(*d));
	long best = 0;

	if (d == NULL)
		return -PHOBOS_ENOMEM;
	long n = sys_list(OS_RESULTS_DIR, d, OS_RESULTS_MAX);
	for (long i = 0; i < n; i++) {
		const char *s = d[i].name;
		long v = 0;
		int k = 0;
		for (; k < 4 && s[k] >= '0' && s[k] <= '9'; k++)
			v = v * 10 + (s[k] - '0');
		if (k == 4 && strcmp(s + 4, ".json") == 0 && v > best)
			best = v;
	}
	free(d);
	return n == -PHOBOS_ENOENT ? 0 : n < 0 ? n : best;
}

static void os_results_name(char *buf, size_t size, long number)
{
	bench_snprintf(buf, size, OS_RESULTS_DIR "/%04ld.json", number);
}

long os_results_last(char *buf, size_t size)
{
	char path[64];
	long n = os_results_newest();

	if (n <= 0 || !os_have_files())
		return n < 0 ? n : 0;
	os_results_name(path, sizeof(path), n);
	long fd = sys_open(path, 0);
	if (fd < 0)
		return fd;
	long got = sys_read(fd, buf, size - 1);
	sys_close(fd);
	if (got < 0)
		return got;
	buf[got] = 0;
	return n;
}

long os_results_save(const char *text, size_t len)
{
	char path[64];

	if (!os_have_files())
		return -PHOBOS_ENOENT;
	int err = os_mkdir("/phobos");
	if (err == 0)
		err = os_mkdir(OS_RESULTS_DIR);
	long n = err < 0 ? err : os_results_newest();
	if (n < 0)
		return n;
	/* never over an existing file: exclusive create, the next number on a clash */
	for (long tries = 0; tries < 16; tries++) {
		os_results_name(path, sizeof(path), ++n);
		long fd = sys_open(path, PHOBOS_O_CREATE | PHOBOS_O_EXCL);
		if (fd == -PHOBOS_EEXIST)
			continue;
		if (fd < 0)
			return fd;
		long w = sys_write(fd, text, len);
		long c = sys_close(fd);
		return w < 0 ? w : w != (long)len ? -PHOBOS_ENOSPC : c < 0 ? c : n;
	}
	return -PHOBOS_EEXIST;
}
