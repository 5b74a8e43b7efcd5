/*
 * vm_page over a sparse simulated physical layout: low memory with a hole,
 * RAM between 1 MiB and 4 GiB, and RAM above 4 GiB.  One startup per
 * process, so the tests run in order on one page pool and each leaves it
 * as it found it.  Built twice: plain, and with VM_PAGE_TEST_CAP for mem=.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"
#include "test/host/env_host.h"
#include "test/host/phys_arena.h"

#define MIB (1ull << 20)
#define LOW_BASE 0x1000ull
#define LOW_SIZE (0x9f000ull - 0x1000ull)
#define MID_BASE (1 * MIB)
#define MID_SIZE (24 * MIB)
#define HIGH_BASE (4096 * MIB)
#define HIGH_SIZE (16 * MIB)

static struct vm_stats start;

static int setup(void **state)
{
	struct vm_phys_range r[] = {
		{LOW_BASE, LOW_SIZE / PAGE_SIZE},
		{MID_BASE, MID_SIZE / PAGE_SIZE},
		{HIGH_BASE, HIGH_SIZE / PAGE_SIZE},
	};
	phys_arena_add(LOW_BASE, LOW_SIZE);
	phys_arena_add(MID_BASE, MID_SIZE);
	phys_arena_add(HIGH_BASE, HIGH_SIZE);
#ifdef VM_PAGE_TEST_CAP
	int64_t n = vm_page_startup(r, 3, 8 * MIB);
#else
	int64_t n = vm_page_startup(r, 3, 0);
#endif
	if (n <= 0)
		return -1;
	vm_page_check();
	vm_page_stats(&start);
	return 0;
}

static void expect_back_to_start(void)
{
	struct vm_stats now;

	vm_page_check();
	vm_page_stats(&now);
	assert_int_equal(now.free, start.free);
	for (int z = 0; z < VM_NZONES; z++)
		assert_int_equal(now.zone_free[z], start.zone_free[z]);
}

static void test_layout(void **state)
{
	assert_int_equal(sizeof(struct vm_page), 40);
#ifdef VM_PAGE_TEST_CAP
	/* the cap takes the lowest 8 MiB: all of low memory, the rest from MID */
	assert_int_equal(start.total + start.descriptor_pages, 8 * MIB / PAGE_SIZE);
	assert_int_equal(start.zone_total[VM_ZONE_HIGH], 0);
#else
	uint64_t pages = (LOW_SIZE + MID_SIZE + HIGH_SIZE) / PAGE_SIZE;
	assert_int_equal(start.total + start.descriptor_pages, pages);
	assert_true(start.zone_total[VM_ZONE_HIGH] > 0);
	/* 40 bytes per page: about 1 % of memory goes to descriptors */
	assert_true(start.descriptor_pages * 4096 / 40 >= start.total);
	assert_true(start.descriptor_pages <= pages * 40 / 4096 + 3);
#endif
	assert_true(start.zone_total[VM_ZONE_LOW1M] > 0);
	assert_int_equal(start.free, start.total);
	assert_int_equal(vm_page_from_phys(0), NULL);
	assert_int_equal(vm_page_from_phys(0x9f000), NULL);
}

/*
 * Descriptor, frame number and physical address agree for every managed
 * page, in slices where one segment lies (vm_page_at's fast path) and
 * where two meet (low memory and 1 MiB share the first slice).
 */
static void test_frame_numbers(void **state)
{
	static const struct {
		paddr_t base, size;
	} ranges[] = {{LOW_BASE, LOW_SIZE}, {MID_BASE, MID_SIZE}, {HIGH_BASE, HIGH_SIZE}};
	uint64_t fast = 0, slow = 0;

	for (size_t r = 0; r < ARRAY_SIZE(ranges); r++) {
		for (paddr_t pa = ranges[r].base; pa < ranges[r].base + ranges[r].size; pa += PAGE_SIZE) {
			struct vm_page *m = vm_page_from_phys(pa);
			if (m == NULL)
				continue;
			assert_int_equal(vm_page_phys(m), pa);
			assert_int_equal(vm_page_index(m), pa >> PAGE_SHIFT);
			assert_ptr_equal(vm_page_at((uint32_t)(pa >> PAGE_SHIFT)), m);
			if (vm_page_slice_base[pa >> vm_page_slice_shift] != 0)
				fast++;
			else
				slow++;
		}
	}
	assert_int_equal(fast + slow, start.total);
	assert_true(fast > 0);
	assert_true(slow > 0);
	assert_null(vm_page_at(VM_PAGE_NONE));
}

static void test_zones_honoured(void **state)
{
	struct vm_page *any = vm_page_alloc(0);
	struct vm_page *dma = vm_page_alloc(VM_ALLOC_DMA32);
	struct vm_page *low = vm_page_alloc(VM_ALLOC_LOW1M | VM_ALLOC_ZERO);

	assert_non_null(any);
	assert_non_null(dma);
	assert_non_null(low);
#ifndef VM_PAGE_TEST_CAP
	assert_true(vm_page_phys(any) >= HIGH_BASE); /* the highest zone first */
#endif
	assert_true(vm_page_phys(dma) < HIGH_BASE);
	assert_true(vm_page_phys(low) < MIB);
	assert_ptr_equal(vm_page_from_phys(vm_page_phys(dma)), dma);
	assert_ptr_equal(vm_page_at(vm_page_index(low)), low);
	const uint8_t *p = pmap_phys_to_virt(vm_page_phys(low));
	for (size_t i = 0; i < PAGE_SIZE; i++)
		assert_int_equal(p[i], 0);
	vm_page_free(any);
	vm_page_free(dma);
	vm_page_free(low);
	expect_back_to_start();
}

static void test_contig_aligned(void **state)
{
	for (unsigned order = 0; order <= VM_PAGE_MAX_ORDER; order++) {
		struct vm_page *m = vm_page_alloc_contig(order, VM_ALLOC_DMA32);
		assert_non_null(m);
		paddr_t pa = vm_page_phys(m);
		assert_true(IS_ALIGNED(pa, PAGE_SIZE << order));
		assert_true(pa + (PAGE_SIZE << order) <= 4096 * MIB);
		for (uint64_t i = 0; i < (1ull << order); i++)
			assert_int_equal(vm_page_phys(&m[i]), pa + i * PAGE_SIZE);
		vm_page_check();
		vm_page_free_contig(m, order);
	}
	expect_back_to_start();
}

static void test_exhaust_low_zone(void **state)
{
	struct vm_page **held = calloc(start.zone_total[VM_ZONE_LOW1M] + 1, sizeof(*held));
	uint64_t n = 0;

	while ((held[n] = vm_page_alloc(VM_ALLOC_LOW1M)) != NULL)
		n++;
	assert_int_equal(n, start.zone_total[VM_ZONE_LOW1M]);
	assert_null(vm_page_alloc_contig(0, VM_ALLOC_LOW1M));
	assert_non_null(held[0] = held[0]); /* other zones are untouched */
	struct vm_page *other = vm_page_alloc(VM_ALLOC_DMA32);
	assert_non_null(other);
	vm_page_free(other);
	vm_page_check();
	while (n > 0)
		vm_page_free(held[--n]);
	free(held);
	expect_back_to_start();
}

static jmp_buf panic_jmp;

static void on_panic(const char *why)
{
	longjmp(panic_jmp, 1);
}

static void test_double_free_panics(void **state)
{
	struct vm_page *m = vm_page_alloc(0);

	vm_page_free(m);
	env_host_panic_hook = on_panic;
	if (setjmp(panic_jmp) == 0) {
		vm_page_free(m);
		fail_msg("double free did not panic");
	}
	env_host_panic_hook = NULL;
	expect_back_to_start();
}

static void test_queues(void **state)
{
	struct vm_page *a = vm_page_alloc(0), *b = vm_page_alloc(0);
	struct vm_stats s;

	vm_page_activate(a);
	vm_page_activate(b);
	vm_page_deactivate(a);
	vm_page_stats(&s);
	assert_int_equal(s.queued[VM_Q_ACTIVE], 1);
	assert_int_equal(s.queued[VM_Q_INACTIVE], 1);
	assert_ptr_equal(vm_page_queue_first(VM_Q_INACTIVE), a);
	vm_page_wire(b);
	vm_page_wire(b);
	vm_page_stats(&s);
	assert_int_equal(s.wired, 1);
	vm_page_unwire(b);
	vm_page_unwire(b);
	vm_page_cache(a);
	vm_page_check();
	vm_page_dequeue(a);
	vm_page_dequeue(b);
	vm_page_free(a);
	vm_page_free(b);
	expect_back_to_start();
}

static struct vm_page *reclaimed;
static int low_memory_calls;

static void reclaim(struct vm_page *m)
{
	reclaimed = m;
}

static void low_memory(void)
{
	low_memory_calls++;
}

static void test_cache_reuse_and_low_memory(void **state)
{
	uint64_t total = start.free;
	struct vm_page **held = calloc(total, sizeof(*held));
	uint64_t n = 0;

	vm_page_set_hooks(reclaim, low_memory);
	while (n < total && (held[n] = vm_page_alloc(0)) != NULL)
		n++;
	assert_int_equal(n, total);
	/* empty: the low-memory hook runs once, then the allocation fails */
	assert_null(vm_page_alloc(0));
	assert_int_equal(low_memory_calls, 1);
	/* a cache-queue page is reused after its owner lets go of it */
	vm_page_cache(held[7]);
	struct vm_page *m = vm_page_alloc(0);
	assert_ptr_equal(m, held[7]);
	assert_ptr_equal(reclaimed, held[7]);
	vm_page_check();
	while (n > 0)
		vm_page_free(held[--n]);
	free(held);
	vm_page_set_hooks(NULL, NULL);
	expect_back_to_start();
}

/*
 * Random allocations, frees, contiguous blocks and queue moves against a
 * model of what is held; the checker runs after every step.
 */
static void test_random_model(void **state)
{
	struct held {
		struct vm_page *m;
		unsigned order;
		unsigned flags;
	} *h = calloc(4096, sizeof(*h));
	unsigned n = 0, seed = 1234;
	unsigned steps = getenv("PHOBOS_STRESS") ? 500000 : 20000;
	uint64_t held_pages = 0;

	srand(seed);
	printf("# random model: seed %u, %u steps\n", seed, steps);
	for (unsigned step = 0; step < steps; step++) {
		int op = rand() % 10;
		if (op < 5 && n < 4096) {
			unsigned order = rand() % 4 == 0 ? (unsigned)(rand() % 6) : 0;
			unsigned flags = (unsigned[]){0, 0, VM_ALLOC_DMA32, VM_ALLOC_LOW1M}[rand() % 4];
			struct vm_page *m = vm_page_alloc_contig(order, flags);
			if (m != NULL) {
				if (flags & VM_ALLOC_LOW1M)
					assert_true(vm_page_phys(m) < MIB);
				if (flags & VM_ALLOC_DMA32)
					assert_true(vm_page_phys(m) < HIGH_BASE);
				h[n++] = (struct held){m, order, flags};
				held_pages += 1ull << order;
			}
		} else if (op < 9 && n > 0) {
			unsigned i = (unsigned)rand() % n;
			if (h[i].order == 0 && h[i].m->queue != VM_Q_NONE)
				vm_page_dequeue(h[i].m);
			vm_page_free_contig(h[i].m, h[i].order);
			held_pages -= 1ull << h[i].order;
			h[i] = h[--n];
		} else if (n > 0) {
			struct held *x = &h[rand() % n];
			if (x->order == 0)
				(rand() & 1 ? vm_page_activate : vm_page_deactivate)(x->m);
		}
		vm_page_check();
		assert_int_equal(vm_page_free_count() + held_pages, start.free);
	}
	while (n > 0) {
		n--;
		if (h[n].order == 0 && h[n].m->queue != VM_Q_NONE)
			vm_page_dequeue(h[n].m);
		vm_page_free_contig(h[n].m, h[n].order);
	}
	free(h);
	expect_back_to_start();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_frame_numbers),
		cmocka_unit_test(test_zones_honoured),
		cmocka_unit_test(test_contig_aligned),
		cmocka_unit_test(test_exhaust_low_zone),
		cmocka_unit_test(test_double_free_panics),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_cache_reuse_and_low_memory),
		cmocka_unit_test(test_random_model),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
