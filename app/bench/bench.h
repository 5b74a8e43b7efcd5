/*
 * The benchmark app: its portability layer and the workloads' shared kit.
 *
 * Each workload (app/bench/<name>.c) is written once against this header
 * and nothing else.  Two backends implement the os_* calls:
 *   os_phobos.c  Phobos's system calls (the app in ring 3, app=bench);
 *   os_linux.c   POSIX: the init of a Linux guest in the same QEMU, or a
 *                plain host program (make test runs every workload tiny).
 * The kit (bench.c) keeps the results, prints them as RESULT lines (SPEC 7),
 * draws the progress bar and owns the random numbers, so both systems see
 * the same reference strings.
 *
 * Figures are integer counts of thousandths ("milli"): exact, printed the
 * same by every backend's formatter, and no floating point in the kernel's
 * printf, which the app shares.  Errors are 0 or a
 * negative BENCH_E* code; a workload that cannot run here calls bench_skip
 * with the reason.
 */
#ifndef PHOBOS_APP_BENCH_H
#define PHOBOS_APP_BENCH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_PAGE 4096ull
#define BENCH_MIB (1ull << 20)

enum { BENCH_ENOENT = 2, BENCH_EIO = 5, BENCH_ENOMEM = 12, BENCH_EINVAL = 22,
       BENCH_ENOSPC = 28, BENCH_ENODEV = 19, BENCH_ENOSYS = 38 };

/* What a workload caused, read before and after it. */
struct os_counters {
	uint64_t faults_major, faults_minor; /* traps that read / did not read */
	uint64_t pages_read, pages_written;  /* from and to any disk, 4 KiB pages */
	uint64_t pageouts;                   /* pages written by replacement */
};

#define BENCH_DISKS_MAX 8
struct bench_machine {
	char os[16];         /* "phobos" or "linux" */
	char cpu[49];        /* CPUID brand string */
	uint32_t cpu_family, cpu_model, cpu_stepping;
	uint64_t mem_total;  /* bytes the system manages */
	char firmware[80];   /* vendor and version, or "" */
	uint32_t disks;
	char disk_name[BENCH_DISKS_MAX][16];
	uint64_t disk_bytes[BENCH_DISKS_MAX];
};

/* ---- the portability layer (os_phobos.c, os_linux.c) ---- */
uint64_t os_tsc(void);
uint64_t os_tsc_hz(void);
/* The cheapest system call there is: about the cost of a trap alone. */
void os_null_trap(void);
/* Bytes of memory an allocation could have now without paging. */
uint64_t os_mem_free(void);
bool os_have_swap(void);
/* Bytes of swap not in use now (0 without swap). */
uint64_t os_swap_free(void);
bool os_have_files(void);
/* Fresh anonymous read-write memory, every page untouched (zero-fill on
 * first touch); NULL when the system refuses. */
void *os_block(uint64_t size);
void os_block_free(void *p, uint64_t size);
/* The workloads' small allocations: the system's malloc (the bucket
 * allocator on Phobos).  os_heap_peak: bytes the allocator held at most
 * since os_heap_peak_reset (its peak memory above what it held then). */
void *os_malloc(size_t size);
void os_free(void *p);
void os_heap_peak_reset(void);
uint64_t os_heap_peak(void);
/* Files on the files partition, paths like "/phobos/bench.bin". */
long os_open(const char *path, bool create);
long os_size(long fd);
long os_pwrite(long fd, const void *buf, size_t len, uint64_t off);
void os_close(long fd);
int os_mkdir(const char *path); /* 0 also when it exists */
/* A shared mapping of the whole file's first size bytes. */
void *os_map(long fd, uint64_t size, bool writable);
int os_sync(void *p, uint64_t size);
/* posix_madvise's advice on a mapping, as a program that knows its order
 * gives it: 0 or a negative error (the workload goes on without it). */
enum os_advice { OS_ADVICE_SEQUENTIAL, OS_ADVICE_RANDOM };
int os_advise(void *p, uint64_t size, enum os_advice advice);
void os_unmap(void *p, uint64_t size);
/* Forget every cached page of the file, so its next mapping reads the disk. */
int os_drop_cache(const char *path);
void os_counters(struct os_counters *c);
void os_console(const char *s, size_t len);
/* Lines for programs (RESULT, TRACE): where a person does not read them. */
void os_console_machine(const char *s, size_t len);
/* To a graphical console alone, where bytes 1-6 draw solid cells (green,
 * grey, red, blue, amber, white); negative where there is none. */
long os_fb_write(const char *s, size_t len);
int os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void os_machine(struct bench_machine *m);
/* The TSC when the loader (Phobos) or the kernel (Linux) started; 0 unknown. */
uint64_t os_boot_tsc(void);
/* The TSC at the program's first instruction. */
uint64_t os_start_tsc(void);
/* Results files: the newest one's text into buf (0 none, or its number),
 * and a new one written under the next free number (its number). */
long os_results_last(char *buf, size_t size);
long os_results_save(const char *text, size_t len);

/* ---- the kit (bench.c) ---- */
struct bench_opts {
	uint64_t mem;       /* the memory the paging workloads are sized from */
	uint64_t file_size; /* file_map_*: the file; first_touch: the block */
	bool trace;         /* print the reference strings as TRACE lines */
};
extern struct bench_opts bench_opts;

int bench_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bench_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_result(const char *bench, const char *metric, uint64_t milli, const char *unit);
/* A workload that cannot run here: why, then return it. */
int bench_skip(const char *bench, const char *why);
void bench_counters_report(const char *bench, const struct os_counters *before);

/* CPUID's brand string, family, model and stepping into m. */
void bench_machine_cpu(struct bench_machine *m);

/* units per second, in milli, from a count and TSC ticks */
uint64_t bench_rate(uint64_t count, uint64_t ticks);
uint64_t bench_ns(uint64_t ticks);
/* a * b / c without 128-bit arithmetic (b * c must fit 64 bits) */
uint64_t bench_muldiv(uint64_t a, uint64_t b, uint64_t c);

/* The progress bar: shown only once a stage has run a second, redrawn in
 * place at most four times a second, cleared by bench_progress_end. */
void bench_progress_begin(const char *stage);
void bench_progress(uint64_t done, uint64_t total);
void bench_progress_end(void);

/* xorshift64*: the same sequence on every system for the same seed. */
struct bench_rng { uint64_t s; };
void bench_rng_seed(struct bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(struct bench_rng *r);
uint64_t bench_rng_below(struct bench_rng *r, uint64_t n);
/* A uniformly random permutation of 0..n-1. */
void bench_permutation(struct bench_rng *r, uint32_t *p, uint32_t n);
void bench_sort(uint32_t *a, size_t n);

/* Whole-page contents that name their page and version, and their check. */
void bench_page_fill(void *page, uint64_t index, uint64_t version);
bool bench_page_check(const void *page, uint64_t index, uint64_t version);
uint64_t bench_page_word(uint64_t index, uint64_t version, uint64_t word);

/* A reference string for trace_replay (with trace=1). */
void bench_trace_begin(const char *name, uint64_t pages, uint64_t frames);
void bench_trace_ref(uint64_t page);
void bench_trace_end(void);

/* The workloads: 0 ran, 1 skipped, negative failed. */
int bench_first_touch(void);
int bench_file_map_read(void);
int bench_file_map_write(void);
int bench_swap_ws(void);
int bench_alloc_mix(void);
int bench_replacement(void);
int bench_boot(void);
int bench_tick(void);

/* The runner: args are words "bench=<list>", "bench_mem=<size>",
 * "bench_file=<size>", "trace=1".  Returns the exit code. */
int bench_main(const char *args);

#endif
