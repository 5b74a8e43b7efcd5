/*
 * The embedded app.  The kernel passes one word: which part to run.
 *   demo               what the benchmark app will look like: the gate,
 *                      the heap, a file, the VM counters
 *   basic              ring-3 checks: CPL 3, the gate page and its clock,
 *                      heap blocks, malloc and free with contents checked,
 *                      a file written and read back
 *   bench <words>      the benchmark app (app/bench/runner.c)
 *   syscall_errors     a kernel pointer (-EFAULT), an unknown call
 *                      (-ENOSYS), bad arguments (-EINVAL): the app goes on
 *   fault_null, fault_text_store, fault_exec_stack, fault_kernel_read,
 *   fault_stack_overflow, heap_exhaust
 *                      each ends in a fault the kernel must stop the app for
 *   hostile, alloc_loop, table_exhaust
 *                      the app as a buggy program would behave (app/hostile.c)
 *   umip, entry_flags, sysenter, spin, sse, sse_again, nmi_wait
 *                      the CPU as the app finds it (app/cpu_state.c)
 * Every part prints "app: <part> ok" when it got through; the kernel's
 * tests read those lines and the exit code.
 */
#include "app/bench/bench.h"
#include "app/hostile.h"

#define APP_FILE "/app_test.bin"

static int failures;

#define CHECK(cond) APP_CHECK(failures, "", cond)

static unsigned cpl(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

static void check_gate(void)
{
	const struct phobos_gate *g = gate();

	CHECK(g->magic == PHOBOS_GATE_MAGIC && g->version == 2 && g->page_size == 4096);
	CHECK(g->heap_base > PHOBOS_APP_BASE && g->heap_end == PHOBOS_GATE_ADDRESS);
	CHECK(g->tsc_hz > 0 && g->mem_total > 0 && g->disks > 0);
	/* the gate's clock and the kernel's agree to a millisecond */
	uint64_t a = clock_us_fast();
	long k = sys_clock_us();
	uint64_t b = clock_us_fast();
	CHECK(k > 0 && (uint64_t)k + 1000 >= a && (uint64_t)k <= b + 1000);
}

static void check_heap(void)
{
	long a = sys_allocate_heap(3 * 4096 + 5, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, 0, 1);

	CHECK(a > 0 && (uint64_t)a >= gate()->heap_base && a % 4096 == 0);
	if (a <= 0)
		return;
	uint64_t *w = (uint64_t *)a;
	for (int i = 0; i < 4 * 512; i++)
		CHECK(w[i] == 0);
	for (int i = 0; i < 4 * 512; i++)
		w[i] = (uint64_t)i * 2654435761u;
	for (int i = 0; i < 4 * 512; i++)
		if (w[i] != (uint64_t)i * 2654435761u)
			failures++;
	CHECK(sys_free_heap((uint64_t)a) == 0);
	CHECK(sys_free_heap((uint64_t)a) == -PHOBOS_EINVAL);
	/* the same place again: fresh zero pages, nothing of the old block */
	long b = sys_allocate_heap(4096, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, (uint64_t)a, 1);
	CHECK(b == a);
	if (b == a)
		CHECK(*(volatile uint64_t *)b == 0 && sys_free_heap((uint64_t)b) == 0);
	long r = sys_reserve_space(1 << 20);
	CHECK(r > 0 && sys_unreserve_space((uint64_t)r) == 0);
}

static void check_file(void)
{
	static uint8_t buf[100000], back[100000];
	struct phobos_stat st;
	struct phobos_dirent d[16];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	long fd = sys_open(APP_FILE, PHOBOS_O_CREATE | PHOBOS_O_TRUNC);
	CHECK(fd >= 0);
	CHECK(sys_write(fd, buf, sizeof(buf)) == (long)sizeof(buf));
	CHECK(sys_close(fd) == 0);
	CHECK(sys_stat(APP_FILE, &st) == 0 && st.size == sizeof(buf) && !st.is_dir);
	fd = sys_open(APP_FILE, 0);
	CHECK(fd >= 0);
	CHECK(sys_seek(fd, 5000, PHOBOS_SEEK_SET) == 5000);
	CHECK(sys_read(fd, back, 100) == 100 && memcmp(back, buf + 5000, 100) == 0);
	CHECK(sys_seek(fd, 0, PHOBOS_SEEK_SET) == 0);
	CHECK(sys_read(fd, back, sizeof(back)) == (long)sizeof(back));
	CHECK(memcmp(back, buf, sizeof(buf)) == 0);
	CHECK(sys_read(fd, back, 10) == 0);
	CHECK(sys_close(fd) == 0 && sys_close(fd) == -PHOBOS_EBADF);
	long n = sys_list("/", d, 16);
	int found = 0;
	for (long i = 0; i < n; i++)
		found += strcmp(d[i].name, "app_test.bin") == 0 && d[i].size == sizeof(buf);
	CHECK(n > 0 && found == 1);
}

/* The file of check_file mapped: a private store stays private, a shared
 * one reaches the file after sys_sync, as sys_read then shows. */
static void check_file_map(void)
{
	const unsigned rw = PHOBOS_PROT_READ | PHOBOS_PROT_WRITE;
	uint8_t back[16];
	long fd = sys_open(APP_FILE, 0);

	CHECK(fd >= 0);
	long priv = sys_map_file(fd, 0, 100000, rw, PHOBOS_MAP_PRIVATE);
	long shared = sys_map_file(fd, 4096, 8192, rw, PHOBOS_MAP_SHARED);
	CHECK(priv > 0 && shared > 0);
	CHECK(sys_map_file(fd, 1, 4096, rw, PHOBOS_MAP_SHARED) == -PHOBOS_EINVAL);
	CHECK(sys_map_file(fd, 0, 4096, rw | PHOBOS_PROT_EXEC, PHOBOS_MAP_SHARED) ==
	      -PHOBOS_EINVAL);
	if (priv <= 0 || shared <= 0)
		return;
	volatile uint8_t *p = (volatile uint8_t *)priv, *s = (volatile uint8_t *)shared;
	CHECK(p[5000] == (uint8_t)(5000 * 7 + (5000 >> 9)) && s[904] == p[5000]);
	p[0] = 0xaa;                  /* copied into the private mapping's shadow */
	s[0] = 0x55;                  /* file offset 4096 */
	CHECK(p[4096] == 0x55);       /* still shared with the file where not copied */
	CHECK(sys_sync((uint64_t)shared, 8192) == 0);
	CHECK(sys_seek(fd, 0, PHOBOS_SEEK_SET) == 0 && sys_read(fd, back, 1) == 1 &&
	      back[0] == 0);          /* the private store never reached the file */
	CHECK(sys_seek(fd, 4096, PHOBOS_SEEK_SET) == 4096 && sys_read(fd, back, 1) == 1 &&
	      back[0] == 0x55);
	CHECK(sys_unmap((uint64_t)priv) == 0 && sys_unmap((uint64_t)shared) == 0);
	/* put the byte back, so the host sees exactly what check_file wrote */
	back[0] = (uint8_t)(4096 * 7 + (4096 >> 9));
	CHECK(sys_seek(fd, 4096, PHOBOS_SEEK_SET) == 4096 && sys_write(fd, back, 1) == 1);
	CHECK(sys_close(fd) == 0);
}

static uint64_t rng_state = 42;

static uint64_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return rng_state >> 33;
}

/* malloc and friends over the kernel's heap: contents kept, blocks of
 * every size class and large ones, everything given back. */
static void check_malloc(void)
{
	static uint8_t *blocks[512];
	static size_t sizes[512];
	struct bucket_stats st;

	/* every byte is written and checked: under an emulated CPU a few MiB
	 * per round is what a self-test can afford */
	for (int round = 0; round < 4; round++)
		for (int i = 0; i < 512; i++) {
			if (blocks[i] != NULL) {
				for (size_t k = 0; k < sizes[i]; k++)
					if (blocks[i][k] != (uint8_t)(i + sizes[i] + k)) {
						failures++;
						break;
					}
				free(blocks[i]);
			}
			sizes[i] = rng() % 64 == 0 ? rng() % (3 << 20) : rng() % 2048;
			blocks[i] = malloc(sizes[i]);
			CHECK(blocks[i] != NULL && malloc_usable_size(blocks[i]) >= sizes[i]);
			for (size_t k = 0; blocks[i] != NULL && k < sizes[i]; k++)
				blocks[i][k] = (uint8_t)(i + sizes[i] + k);
		}
	for (int i = 0; i < 512; i++)
		free(blocks[i]);
	uint64_t *z = calloc(1000, 8), *big = aligned_alloc(1 << 20, 4096);
	CHECK(z != NULL && z[999] == 0 && big != NULL && ((uintptr_t)big & ((1 << 20) - 1)) == 0);
	CHECK(calloc(1ull << 62, 16) == NULL);
	z = realloc(z, 16000);
	CHECK(z != NULL && z[999] == 0);
	free(z);
	free(big);
	bucket_trim();
	bucket_check();
	bucket_stats(&st);
	printf("app: malloc: %lu bytes of heap held after freeing everything\n",
	       (unsigned long)st.heap_bytes);
}

static int part_basic(void)
{
	CHECK(cpl() == 3);
	check_gate();
	check_heap();
	check_file();
	check_file_map();
	check_malloc();
	return failures;
}

static int part_syscall_errors(void)
{
	const uint64_t kernel = 0xffff800000001000ull;
	struct phobos_stat st;

	CHECK(sys_console_write((const void *)kernel, 16) == -PHOBOS_EFAULT);
	CHECK(sys_console_write((const void *)8, 16) == -PHOBOS_EFAULT);
	CHECK(sys_stat((const char *)kernel, &st) == -PHOBOS_EFAULT);
	CHECK(sys_stat("/", (struct phobos_stat *)kernel) == -PHOBOS_EFAULT);
	CHECK(sys_open((const char *)(PHOBOS_GATE_ADDRESS - 4096 * 1024 - 1), 0) == -PHOBOS_EFAULT);
	CHECK(phobos_syscall(999, 0, 0, 0, 0, 0) == -38);
	CHECK(phobos_syscall(-1, 0, 0, 0, 0, 0) == -38);
	CHECK(sys_allocate_heap(0, PHOBOS_PROT_READ, 0, 1) == -PHOBOS_EINVAL);
	CHECK(sys_allocate_heap(4096, PHOBOS_PROT_WRITE | PHOBOS_PROT_EXEC | PHOBOS_PROT_READ, 0,
				1) == -PHOBOS_EINVAL);
	CHECK(sys_allocate_heap(4096, PHOBOS_PROT_READ, 123, 1) == -PHOBOS_EINVAL);
	CHECK(sys_allocate_heap(4096, PHOBOS_PROT_READ, PHOBOS_GATE_ADDRESS, 1) < 0);
	CHECK(sys_free_heap(PHOBOS_APP_BASE + 1) == -PHOBOS_EINVAL);
	CHECK(sys_unreserve_space(PHOBOS_GATE_ADDRESS + 4096) == -PHOBOS_EINVAL);
	CHECK(sys_read(7, NULL, 1) == -PHOBOS_EBADF);
	CHECK(sys_seek(-1, 0, 0) == -PHOBOS_EBADF);
	return failures;
}

/* Deeper than the stack goes: the limit is only there to keep the
 * compiler from calling the recursion endless. */
static int stack_overflow(int depth)
{
	volatile char frame[4096];

	frame[0] = (char)depth;
	if (depth > 1000000)
		return frame[0];
	return stack_overflow(depth + 1) + frame[0];
}

/* Address space until the kernel says no, then memory until a fault
 * cannot be served. */
static int heap_exhaust(void)
{
	long blocks = 0, r;

	while ((r = sys_allocate_heap(1ull << 40, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, 0, 1)) > 0)
		blocks++;
	printf("app: sys_allocate_heap refused block %ld: %ld\n", blocks, r);
	CHECK(blocks > 0 && r == -PHOBOS_ENOMEM);
	r = sys_allocate_heap(1ull << 32, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, 0, 1);
	if (r < 0)
		r = sys_allocate_heap(1ull << 24, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, 0, 1);
	CHECK(r > 0);
	for (uint64_t p = 0; r > 0 && p < (1ull << 32); p += 4096)
		*(volatile uint64_t *)(r + p) = p;
	return 1;
}

static int part_fault(const char *what)
{
	if (strcmp(what, "fault_null") == 0)
		return *(volatile int *)0;
	if (strcmp(what, "fault_text_store") == 0)
		*(volatile uint8_t *)(uintptr_t)part_fault = 0xc3;
	if (strcmp(what, "fault_exec_stack") == 0) {
		uint8_t code[16];
		code[0] = 0xc3; /* ret */
		__asm__ volatile("call *%0" : : "r"(code) : "memory");
	}
	if (strcmp(what, "fault_kernel_read") == 0)
		return *(volatile int *)0xffff800000000000ull;
	if (strcmp(what, "fault_stack_overflow") == 0)
		return stack_overflow(0);
	if (strcmp(what, "heap_exhaust") == 0)
		return heap_exhaust();
	printf("app: unknown part '%s'\n", what);
	return 1;
}

static int part_demo(void)
{
	struct phobos_vm_stats vs;
	const struct phobos_gate *g = gate();

	printf("app: Phobos app in ring %u; %lu MiB of memory, %u disks, swap %s\n", cpl(),
	       (unsigned long)(g->mem_total >> 20), g->disks, g->swap_on ? "on" : "off");
	check_heap();
	check_file();
	CHECK(sys_vm_stats(&vs) == 0 && vs.pages_total > 0);
	printf("app: VM: %lu major and %lu minor faults so far\n", (unsigned long)vs.faults_major,
	       (unsigned long)vs.faults_minor);
	return failures;
}

int main(const char *args)
{
	int r;

	if (strncmp(args, "bench", 5) == 0 && (args[5] == 0 || args[5] == ' '))
		return bench_main(args + 5);
	if (strcmp(args, "basic") == 0)
		r = part_basic();
	else if (strcmp(args, "syscall_errors") == 0)
		r = part_syscall_errors();
	else if (strcmp(args, "demo") == 0)
		r = part_demo();
	else if (strcmp(args, "hostile") == 0)
		r = hostile_part();
	else if (strcmp(args, "alloc_loop") == 0)
		r = hostile_alloc_loop();
	else if (strcmp(args, "table_exhaust") == 0)
		r = hostile_table_exhaust();
	else if (strcmp(args, "umip") == 0)
		r = cpu_umip();
	else if (strcmp(args, "entry_flags") == 0)
		r = cpu_entry_flags();
	else if (strcmp(args, "sysenter") == 0)
		r = cpu_sysenter();
	else if (strcmp(args, "spin") == 0)
		cpu_spin();
	else if (strcmp(args, "nmi_wait") == 0)
		r = cpu_nmi_wait();
	else if (strcmp(args, "sse") == 0 || strcmp(args, "sse_again") == 0)
		r = cpu_sse();
	else
		r = part_fault(args);
	if (r == 0)
		printf("app: %s ok\n", args);
	return r;
}
