/*
 * The hostile app: a buggy program as a new user would write it, calling
 * the system calls directly with every argument the kernel must refuse,
 * each checked against the exact error code, then proving the kernel is
 * still whole (a file written and read, memory allocated, the VM counters
 * read).  The QEMU scenarios in test/qemu/scen_app.py run these parts.
 *   hostile        everything below, ending with "app: hostile ok"
 *   alloc_loop     allocate_heap(4096, read, anywhere, not zeroed) until it
 *                  fails, then the kernel must still open a file
 *   umip           sidt in ring 3
 *   spin           for (;;): only the timer can stop it
 *   sse            vector registers across system calls and timer ticks
 */
#include "app/hostile.h"

#define HOSTILE_FILE "/hostile.bin"
#define RW (PHOBOS_PROT_READ | PHOBOS_PROT_WRITE)
#define RX (PHOBOS_PROT_READ | PHOBOS_PROT_EXEC)
#define KERNEL_PTR 0xffff800000001000ull
#define STACK_SIZE (1ull << 20)
#define STACK_GUARD (PHOBOS_GATE_ADDRESS - STACK_SIZE - PHOBOS_PAGE_SIZE)
#define GiB (1ull << 30)

static int hostile_failures;

/* Checks that a call gave exactly want; prints both when not. */
#define EXPECT(call, want)                                                                         \
	do {                                                                                       \
		long got_ = (call), want_ = (want);                                                \
		if (got_ != want_) {                                                               \
			printf("app: hostile: line %d: %s gave %ld, expected %ld\n", __LINE__,     \
			       #call, got_, want_);                                                \
			hostile_failures++;                                                        \
		}                                                                                  \
	} while (0)

#define EXPECT_TRUE(cond) APP_CHECK(hostile_failures, "hostile: ", cond)

/* Issue 16 item 1: reservations end where they end. */
static void hostile_reservations(void)
{
	long r = sys_reserve_space(GiB);

	EXPECT_TRUE(r > 0);
	/* above every reservation: the stack's guard page is the kernel's */
	EXPECT(sys_allocate_heap(4096, RW, STACK_GUARD, 1), -PHOBOS_EBUSY);
	EXPECT(sys_allocate_heap(4096, RW, (uint64_t)r + GiB, 1) > 0, 1);
	EXPECT(sys_free_heap((uint64_t)r + GiB), 0);
	/* a block straddling the reservation's end is not inside it */
	EXPECT(sys_allocate_heap(8192, RW, (uint64_t)r + GiB - 4096, 1), -PHOBOS_EBUSY);
	/* a block freed above a reservation is free again, not reserved */
	long b = sys_allocate_heap(2 * GiB, RW, 0, 1);
	EXPECT_TRUE(b > r);
	EXPECT(sys_free_heap((uint64_t)b), 0);
	EXPECT(sys_unreserve_space((uint64_t)r), 0);
	EXPECT(sys_allocate_heap(2 * GiB, RW, (uint64_t)b, 1), b);
	EXPECT(sys_free_heap((uint64_t)b), 0);
	/* inside a reservation: exactly there, and reserved again once freed */
	r = sys_reserve_space(16 * 4096);
	long in = sys_allocate_heap(4096, RW, (uint64_t)r + 4096, 1);
	EXPECT(in, r + 4096);
	EXPECT(sys_unreserve_space((uint64_t)r), -PHOBOS_EBUSY);
	EXPECT(sys_free_heap((uint64_t)in), 0);
	EXPECT(sys_allocate_heap(4096, RW, (uint64_t)r + 15 * 4096, 1), r + 15 * 4096);
	EXPECT(sys_free_heap((uint64_t)r + 15 * 4096), 0);
	EXPECT(sys_unreserve_space((uint64_t)r), 0);
	EXPECT(sys_unreserve_space((uint64_t)r), -PHOBOS_EINVAL);
	/* sixteen reservations at most */
	long many[17];
	int n = 0;
	while (n < 17 && (many[n] = sys_reserve_space(4096)) > 0)
		n++;
	EXPECT(n, 16);
	EXPECT(many[16], -PHOBOS_ENOMEM);
	for (int i = 0; i < n; i++)
		EXPECT(sys_unreserve_space((uint64_t)many[i]), 0);
}

/* Item 4: what the kernel made is not the app's to free. */
static void hostile_kernel_mappings(void)
{
	EXPECT(sys_free_heap(PHOBOS_GATE_ADDRESS), -PHOBOS_EINVAL);
	EXPECT(sys_unmap(PHOBOS_GATE_ADDRESS), -PHOBOS_EINVAL);
	EXPECT(sys_free_heap(PHOBOS_GATE_ADDRESS - STACK_SIZE), -PHOBOS_EINVAL);
	EXPECT(sys_unmap(PHOBOS_GATE_ADDRESS - STACK_SIZE), -PHOBOS_EINVAL);
	EXPECT(sys_free_heap(PHOBOS_APP_BASE), -PHOBOS_EINVAL);
	EXPECT(sys_unmap(PHOBOS_APP_BASE), -PHOBOS_EINVAL);
	EXPECT(sys_unmap(STACK_GUARD), -PHOBOS_EINVAL);
	EXPECT(sys_allocate_heap(4096, PHOBOS_PROT_READ, PHOBOS_GATE_ADDRESS, 1), -PHOBOS_EBUSY);
	EXPECT(gate()->magic, (long)PHOBOS_GATE_MAGIC);
	long b = sys_allocate_heap(8192, RW, 0, 1);
	EXPECT(sys_free_heap((uint64_t)b + 4096), -PHOBOS_EINVAL);
	EXPECT(sys_unmap((uint64_t)b + 1), -PHOBOS_EINVAL);
	EXPECT(sys_free_heap((uint64_t)b), 0);
	EXPECT(sys_unmap((uint64_t)b), -PHOBOS_EINVAL);
}

static long hostile_file(void)
{
	static uint8_t buf[3 * 4096];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13);
	long fd = sys_open(HOSTILE_FILE, PHOBOS_O_CREATE | PHOBOS_O_TRUNC);
	EXPECT_TRUE(fd >= 0);
	EXPECT(sys_write(fd, buf, sizeof(buf)), (long)sizeof(buf));
	return fd;
}

/* Item 5: seek's arithmetic, at the ends of int64. */
static void hostile_seek(long fd)
{
	const int64_t min = -0x7fffffffffffffffll - 1, max = 0x7fffffffffffffffll;

	EXPECT(sys_seek(fd, min, PHOBOS_SEEK_SET), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, -1, PHOBOS_SEEK_SET), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, min, PHOBOS_SEEK_CUR), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, min, PHOBOS_SEEK_END), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, 0, 3), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, max, PHOBOS_SEEK_SET), max);
	EXPECT(sys_seek(fd, 1, PHOBOS_SEEK_CUR), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, max, PHOBOS_SEEK_END), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, -max, PHOBOS_SEEK_CUR), 0);
	EXPECT(sys_seek(fd, -4096, PHOBOS_SEEK_END), 2 * 4096);
	EXPECT(sys_seek(fd, -3 * 4096 - 1, PHOBOS_SEEK_END), -PHOBOS_EINVAL);
	EXPECT(sys_seek(fd, 0, PHOBOS_SEEK_SET), 0);
}

/* Item 2: no file is writable through one mapping and executable through
 * another. */
static void hostile_wx_views(long fd)
{
	long w = sys_map_file(fd, 0, 4096, RW, PHOBOS_MAP_SHARED);

	EXPECT_TRUE(w > 0);
	EXPECT(sys_map_file(fd, 0, 4096, RX, PHOBOS_MAP_SHARED), -PHOBOS_EACCES);
	EXPECT(sys_map_file(fd, 0, 4096, RX, PHOBOS_MAP_PRIVATE), -PHOBOS_EACCES);
	long fd2 = sys_open(HOSTILE_FILE, 0); /* another descriptor: the same file */
	EXPECT(sys_map_file(fd2, 4096, 4096, RX, PHOBOS_MAP_PRIVATE), -PHOBOS_EACCES);
	long priv = sys_map_file(fd2, 0, 4096, RW, PHOBOS_MAP_PRIVATE);
	EXPECT_TRUE(priv > 0);
	EXPECT(sys_unmap((uint64_t)w), 0);
	long x = sys_map_file(fd, 0, 4096, RX, PHOBOS_MAP_SHARED);
	EXPECT_TRUE(x > 0);
	EXPECT(sys_map_file(fd2, 0, 8192, RW, PHOBOS_MAP_SHARED), -PHOBOS_EACCES);
	long x2 = sys_map_file(fd2, 0, 4096, RX, PHOBOS_MAP_PRIVATE);
	EXPECT_TRUE(x2 > 0);
	EXPECT(sys_unmap((uint64_t)x), 0);
	EXPECT(sys_unmap((uint64_t)x2), 0);
	w = sys_map_file(fd2, 0, 4096, RW, PHOBOS_MAP_SHARED);
	EXPECT_TRUE(w > 0);
	EXPECT(sys_unmap((uint64_t)w), 0);
	EXPECT(sys_unmap((uint64_t)priv), 0);
	EXPECT(sys_close(fd2), 0);
}

/* Item 8: the loader and the configuration are read-only to the app. */
static void hostile_protected_paths(void)
{
	static const char *const paths[] = {
		"\\EFI\\BOOT\\BOOTX64.EFI", "/efi/boot/bootx64.efi", "//EFI/./BOOT/BOOTX64.EFI",
		"/EFI/BOOT/../BOOT/BOOTX64.EFI", "\\phobos.cfg", "/PHOBOS.CFG",
		"/EFI/../phobos.cfg"};
	uint8_t junk[16] = {0};

	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		EXPECT(sys_open(paths[i], PHOBOS_O_TRUNC), -PHOBOS_EACCES);
		EXPECT(sys_open(paths[i], PHOBOS_O_CREATE), -PHOBOS_EACCES);
		long fd = sys_open(paths[i], 0);
		EXPECT_TRUE(fd >= 0);
		EXPECT(sys_read(fd, junk, 2), 2);
		EXPECT(sys_seek(fd, 0, PHOBOS_SEEK_SET), 0);
		EXPECT(sys_write(fd, junk, sizeof(junk)), -PHOBOS_EACCES);
		EXPECT(sys_map_file(fd, 0, 4096, RW, PHOBOS_MAP_SHARED), -PHOBOS_EACCES);
		long p = sys_map_file(fd, 0, 4096, RW, PHOBOS_MAP_PRIVATE);
		EXPECT_TRUE(p > 0);
		if (p > 0) {
			*(volatile uint8_t *)p = 0xcc; /* the app's own copy */
			EXPECT(sys_sync((uint64_t)p, 4096), 0);
			EXPECT(sys_unmap((uint64_t)p), 0);
		}
		EXPECT(sys_close(fd), 0);
	}
	EXPECT(sys_open("/EFI/BOOT/NEW.EFI", PHOBOS_O_CREATE), -PHOBOS_EACCES);
	EXPECT(sys_open("/x/../Efi/new.cfg", PHOBOS_O_CREATE), -PHOBOS_EACCES);
	EXPECT(sys_open("/EFI", PHOBOS_O_TRUNC), -PHOBOS_EACCES);
	/* elsewhere the app writes as before */
	long fd = sys_open("/phobos.cfg.app", PHOBOS_O_CREATE | PHOBOS_O_TRUNC);
	EXPECT_TRUE(fd >= 0);
	EXPECT(sys_write(fd, junk, sizeof(junk)), (long)sizeof(junk));
	EXPECT(sys_close(fd), 0);
}

/* Bad pointers, lengths near 2^64, descriptors closed and huge. */
static void hostile_arguments(long fd)
{
	static char longpath[2048];
	static struct phobos_dirent d[2];
	const uint64_t top = ~0ull - 4095, wrap = ~0ull - 7;
	struct phobos_stat st;
	struct phobos_vm_stats vs;
	char buf[64];

	EXPECT(sys_console_write((const void *)KERNEL_PTR, 16), -PHOBOS_EFAULT);
	EXPECT(sys_console_write((const void *)wrap, 16), -PHOBOS_EFAULT);
	EXPECT(sys_console_write((const void *)top, ~0ull), -PHOBOS_EFAULT);
	EXPECT(sys_console_write(buf, 0), 0);
	EXPECT(sys_open((const char *)KERNEL_PTR, 0), -PHOBOS_EFAULT);
	EXPECT(sys_open((const char *)wrap, 0), -PHOBOS_EFAULT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	EXPECT(sys_open(longpath, 0), -PHOBOS_ENAMETOOLONG);
	EXPECT(sys_stat(longpath, &st), -PHOBOS_ENAMETOOLONG);
	EXPECT(sys_open(HOSTILE_FILE, 8), -PHOBOS_EINVAL);
	EXPECT(sys_open("/no such dir/x", PHOBOS_O_CREATE), -PHOBOS_ENOENT);
	EXPECT(sys_open("/", PHOBOS_O_TRUNC), -PHOBOS_EISDIR);
	EXPECT(sys_open(HOSTILE_FILE "/x", 0), -PHOBOS_ENOTDIR);
	EXPECT(sys_stat((const char *)KERNEL_PTR, &st), -PHOBOS_EFAULT);
	EXPECT(sys_stat("/", (struct phobos_stat *)KERNEL_PTR), -PHOBOS_EFAULT);
	EXPECT(sys_stat("/", (struct phobos_stat *)wrap), -PHOBOS_EFAULT);
	EXPECT(sys_list("/", (struct phobos_dirent *)KERNEL_PTR, 2), -PHOBOS_EFAULT);
	EXPECT(sys_list("/", d, ~0ull), -PHOBOS_EINVAL);
	EXPECT(sys_list((const char *)wrap, d, 2), -PHOBOS_EFAULT);
	EXPECT(sys_vm_stats((struct phobos_vm_stats *)KERNEL_PTR), -PHOBOS_EFAULT);
	EXPECT(sys_vm_stats((struct phobos_vm_stats *)wrap), -PHOBOS_EFAULT);
	EXPECT(sys_read(fd, (void *)KERNEL_PTR, 16), -PHOBOS_EFAULT);
	EXPECT(sys_read(fd, (void *)top, ~0ull), -PHOBOS_EFAULT);
	EXPECT(sys_write(fd, (const void *)KERNEL_PTR, 16), -PHOBOS_EFAULT);
	EXPECT(sys_write(fd, (const void *)wrap, 16), -PHOBOS_EFAULT);
	EXPECT(sys_write(fd, buf, ~0ull), -PHOBOS_EFAULT);
	EXPECT(sys_read(1ll << 40, buf, 1), -PHOBOS_EBADF);
	EXPECT(sys_read(-1, buf, 1), -PHOBOS_EBADF);
	EXPECT(sys_write(15, buf, 1), -PHOBOS_EBADF);
	EXPECT(sys_close(1ll << 40), -PHOBOS_EBADF);
	EXPECT(sys_map_file(1ll << 40, 0, 4096, RW, PHOBOS_MAP_PRIVATE), -PHOBOS_EBADF);
	EXPECT(sys_allocate_heap(~0ull, RW, 0, 1), -PHOBOS_EINVAL);
	EXPECT(sys_allocate_heap(~0ull - 4095, RW, 0, 1), -PHOBOS_EINVAL);
	EXPECT(sys_allocate_heap(4096, RW, top, 1), -PHOBOS_ERANGE);
	EXPECT(sys_allocate_heap(4096, RW, 0, 2), -PHOBOS_EINVAL);
	EXPECT(sys_allocate_heap(4096, 0x8 | PHOBOS_PROT_READ, 0, 1), -PHOBOS_EINVAL);
	EXPECT(sys_reserve_space(~0ull), -PHOBOS_EINVAL);
	EXPECT(sys_reserve_space(0), -PHOBOS_EINVAL);
	EXPECT(sys_unreserve_space(KERNEL_PTR), -PHOBOS_EINVAL);
	EXPECT(sys_map_file(fd, 0, ~0ull, RW, PHOBOS_MAP_PRIVATE), -PHOBOS_EINVAL);
	EXPECT(sys_map_file(fd, top, 4096, RW, PHOBOS_MAP_PRIVATE), -PHOBOS_EINVAL);
	EXPECT(sys_map_file(fd, 4096, ~0ull - 4095, RW, PHOBOS_MAP_PRIVATE), -PHOBOS_EINVAL);
	EXPECT(sys_map_file(fd, 0, 4096, RW, 3), -PHOBOS_EINVAL);
	EXPECT(sys_map_file(fd, 0, 4096, PHOBOS_PROT_WRITE, PHOBOS_MAP_PRIVATE), -PHOBOS_EINVAL);
	/* past the end of the file: mapped, and the pages past it read as zero */
	long past = sys_map_file(fd, 1ull << 20, 4096, PHOBOS_PROT_READ, PHOBOS_MAP_PRIVATE);
	EXPECT_TRUE(past > 0);
	if (past > 0)
		EXPECT(sys_unmap((uint64_t)past), 0);
	long b = sys_allocate_heap(8192, RW, 0, 1);
	EXPECT(sys_sync((uint64_t)b + 1, 4096), -PHOBOS_EINVAL);
	EXPECT(sys_sync((uint64_t)b, 0), -PHOBOS_EINVAL);
	EXPECT(sys_sync((uint64_t)b, ~0ull), -PHOBOS_EINVAL);
	EXPECT(sys_sync(PHOBOS_GATE_ADDRESS, 4096), -PHOBOS_EINVAL);
	EXPECT(sys_sync(KERNEL_PTR, 4096), -PHOBOS_EINVAL);
	EXPECT(sys_sync((uint64_t)b, 8192), 0);
	EXPECT(sys_advise((uint64_t)b + 1, 4096, PHOBOS_ADVICE_RANDOM), -PHOBOS_EINVAL);
	EXPECT(sys_advise((uint64_t)b, 0, PHOBOS_ADVICE_RANDOM), -PHOBOS_EINVAL);
	EXPECT(sys_advise((uint64_t)b, ~0ull, PHOBOS_ADVICE_RANDOM), -PHOBOS_EINVAL);
	EXPECT(sys_advise(KERNEL_PTR, 4096, PHOBOS_ADVICE_DONTNEED), -PHOBOS_EINVAL);
	EXPECT(sys_advise((uint64_t)b, 8192, 5), -PHOBOS_EINVAL);
	EXPECT(sys_advise((uint64_t)b, 8192, ~0u), -PHOBOS_EINVAL);
	((volatile char *)b)[4096] = 7;
	EXPECT(sys_advise((uint64_t)b, 8192, PHOBOS_ADVICE_RANDOM), 0);
	EXPECT(sys_advise((uint64_t)b, 8192, PHOBOS_ADVICE_DONTNEED), 0);
	EXPECT_TRUE(((volatile char *)b)[4096] == 7); /* dropped or kept, never lost */
	EXPECT(sys_advise((uint64_t)b, 8192, PHOBOS_ADVICE_WILLNEED), 0);
	EXPECT(sys_advise((uint64_t)b, 8192, PHOBOS_ADVICE_NORMAL), 0);
	EXPECT(sys_free_heap((uint64_t)b), 0);
	EXPECT(phobos_syscall(PHOBOS_SYS_COUNT, 0, 0, 0, 0, 0), -PHOBOS_ENOSYS);
	EXPECT(phobos_syscall(1l << 40, 0, 0, 0, 0, 0), -PHOBOS_ENOSYS);
	EXPECT(sys_vm_stats(&vs), 0);
}

/* Item 12: a NUL in console text neither ends the text nor gets counted
 * twice: the scenario finds "hostile: nul then more" on the console. */
static void hostile_console(void)
{
	static const char text[] = "app: hostile: nul\0 then more\n";

	EXPECT(sys_console_write(text, sizeof(text) - 1), (long)sizeof(text) - 1);
}

/* Items 0 and 3: one-page blocks until the kernel says no.  The kernel
 * must say -ENOMEM (a cap, never a panic), keep enough for itself to open
 * a file, and take every block back.  Returns the blocks it got. */
static long hostile_alloc_until_refused(void)
{
	static uint64_t blocks[1 << 16];
	const long kept = (long)(sizeof(blocks) / sizeof(blocks[0]));
	long n = 0, r;

	while ((r = sys_allocate_heap(4096, PHOBOS_PROT_READ, PHOBOS_HEAP_ANYWHERE, 0)) > 0)
		if (n++ < kept)
			blocks[n - 1] = (uint64_t)r;
	printf("app: hostile: allocate_heap(4096) refused block %ld: %ld\n", n, r);
	EXPECT(r, -PHOBOS_ENOMEM);
	long fd = sys_open(HOSTILE_FILE, 0);
	EXPECT_TRUE(fd >= 0);
	EXPECT(sys_close(fd), 0);
	/* the blocks given back make room for new ones */
	for (long i = 0; i < n && i < kept; i++)
		EXPECT(sys_free_heap(blocks[i]), 0);
	return n;
}

/* The kernel is whole: files, memory, counters. */
static void hostile_still_fine(void)
{
	struct phobos_vm_stats vs;
	uint8_t back[4096];

	long fd = sys_open(HOSTILE_FILE, 0);
	EXPECT_TRUE(fd >= 0);
	EXPECT(sys_read(fd, back, sizeof(back)), (long)sizeof(back));
	EXPECT(back[4095], (uint8_t)(4095 * 13));
	EXPECT(sys_close(fd), 0);
	uint8_t *p = malloc(1 << 20);
	EXPECT_TRUE(p != NULL);
	if (p != NULL)
		memset(p, 1, 1 << 20);
	free(p);
	EXPECT(sys_vm_stats(&vs), 0);
	printf("app: hostile: vm: %lu pages, %lu free\n", (unsigned long)vs.pages_total,
	       (unsigned long)vs.pages_free);
}

int hostile_part(void)
{
	hostile_reservations();
	long fd = hostile_file();
	hostile_seek(fd);
	hostile_wx_views(fd);
	hostile_arguments(fd);
	EXPECT(sys_close(fd), 0);
	EXPECT(sys_close(fd), -PHOBOS_EBADF);
	EXPECT(sys_read(fd, &fd, 1), -PHOBOS_EBADF);
	hostile_protected_paths();
	hostile_console();
	hostile_alloc_until_refused();
	hostile_kernel_mappings(); /* last: before the fix the app lost its gate here */
	hostile_still_fine();
	return hostile_failures;
}

/* Item 3, page tables: one byte written every 2 MiB of a huge block
 * needs a page table per byte.  The kernel stops the app ("out of
 * memory") at its cap on tables, long before memory runs out; the last
 * progress line tells how far it got. */
int hostile_table_exhaust(void)
{
	long b = sys_allocate_heap(1ull << 40, RW, 0, 1);

	EXPECT_TRUE(b > 0);
	for (uint64_t n = 0; b > 0 && n < (1ull << 40) >> 21; n++) {
		if (n % 256 == 0)
			printf("app: table_exhaust: %lu tables\n", (unsigned long)n);
		*(volatile uint8_t *)(b + (n << 21)) = 1;
	}
	return 1;
}

int hostile_alloc_loop(void)
{
	hostile_file();
	hostile_alloc_until_refused();
	hostile_still_fine();
	return hostile_failures;
}
