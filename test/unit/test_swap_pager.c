/*
 * The swap pager over a swap area in memory (made by the real mkswap, bad
 * pages poked into its header), with real vm_page pages whose contents
 * pmap_phys_to_virt reaches: header checks, clustering (one io call per
 * page-out and per read-around), and a model-based random test of several
 * objects with swap-full, failing devices and failing allocations,
 * swap_pager_check after every step.  Then the blk glue (swap_dev.c) on a
 * partition of a memory disk, with 512- and 4096-byte sectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/dev/swap_dev.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_page.h"
#include "test/host/blk_file.h"
#include "test/host/phys_arena.h"

#define MIB (1ull << 20)
#define AREA_PAGES 320 /* the swap area of most tests, header included */

/* mm_malloc on libc, told to fail the n-th call from now (0 = next). */
static long malloc_fail_at = -1;

void *mm_malloc(size_t size)
{
	if (malloc_fail_at == 0)
		return NULL;
	if (malloc_fail_at > 0)
		malloc_fail_at--;
	return malloc(size);
}

void mm_mfree(void *p)
{
	free(p);
}

/* The memory swap device: every io checked against the header's rules. */
static struct {
	uint8_t *area;
	uint64_t pages;
	uint32_t last_page;
	bool bad[AREA_PAGES + 64];
	unsigned calls, last_n;
	uint64_t last_first;
	bool fail_next;
} md;

static int md_io(void *ctx, bool write, uint64_t first, unsigned n, void *const *bufs)
{
	assert_true(n >= 1 && n <= VM_PAGER_MAX_PAGES);
	assert_true(first >= 1 && first + n - 1 <= md.last_page);
	md.calls++;
	md.last_first = first;
	md.last_n = n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = md.area + (first + i) * PAGE_SIZE;
		assert_false(md.bad[first + i]);
		if (md.fail_next && write)
			memset(p, 0xee, PAGE_SIZE); /* a failing device may leave anything behind */
		else if (write)
			memcpy(p, bufs[i], PAGE_SIZE);
		else if (!md.fail_next)
			memcpy(bufs[i], p, PAGE_SIZE);
	}
	if (md.fail_next) {
		md.fail_next = false;
		return -EIO;
	}
	return 0;
}

static struct swap_dev md_dev(void)
{
	return (struct swap_dev){"memswap", md.pages, md_io, NULL};
}

/* mkswap's own header for an area of `pages` pages. */
static void mkswap_header(uint8_t *page, uint64_t pages)
{
	char path[] = "/tmp/phobos-swap-XXXXXX", cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(pages * PAGE_SIZE)), 0);
	snprintf(cmd, sizeof(cmd), "mkswap -p 4096 %s >/dev/null 2>&1", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pread(fd, page, PAGE_SIZE, 0), (ssize_t)PAGE_SIZE);
	close(fd);
	unlink(path);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* A fresh area of `pages` pages with mkswap's header and the given bad pages. */
static void md_open(uint64_t pages, const uint32_t *bad, unsigned nbad)
{
	free(md.area);
	memset(&md, 0, sizeof(md));
	md.pages = pages;
	md.area = calloc(pages, PAGE_SIZE);
	mkswap_header(md.area, pages);
	memcpy(&md.last_page, md.area + SWAP_HEADER_INFO_OFF + 4, 4);
	assert_int_equal(md.last_page, pages - 1);
	put32(md.area + SWAP_HEADER_INFO_OFF + 8, nbad);
	for (unsigned i = 0; i < nbad; i++) {
		put32(md.area + SWAP_HEADER_BAD_OFF + 4 * i, bad[i]);
		md.bad[bad[i]] = true;
	}
	md.bad[0] = true; /* the header is never written */
}

static uint64_t pattern(uint32_t tag, unsigned word)
{
	return (tag * 0x9e3779b97f4a7c15ull) ^ (word * 0xff51afd7ed558ccdull) ^ tag;
}

static void page_fill(struct vm_page *m, uint32_t tag)
{
	uint64_t *w = pmap_phys_to_virt(vm_page_phys(m));

	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = tag == 0 ? 0 : pattern(tag, i);
}

/* tag 0: zeros. */
static void page_expect(struct vm_page *m, uint32_t tag)
{
	const uint64_t *w = pmap_phys_to_virt(vm_page_phys(m));

	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i] != (tag == 0 ? 0 : pattern(tag, i)))
			fail_msg("page of tag %u differs at word %u", tag, i);
}

static struct vm_page *pages[VM_PAGER_MAX_PAGES];

static int setup(void **state)
{
	struct vm_phys_range r = {1 * MIB, 4 * MIB / PAGE_SIZE};

	phys_arena_add(r.base, r.pages * PAGE_SIZE);
	assert_true(vm_page_startup(&r, 1, 0) > 0);
	for (unsigned i = 0; i < VM_PAGER_MAX_PAGES; i++)
		pages[i] = vm_page_alloc(0);
	return 0;
}

static int teardown(void **state)
{
	free(md.area);
	md.area = NULL;
	return 0;
}

static void test_header_checks(void **state)
{
	uint8_t h[PAGE_SIZE];
	struct swap_dev dev;
	uint32_t bad[SWAP_HEADER_MAX_BAD + 1];
	struct swap_stats st;

	md_open(AREA_PAGES, NULL, 0);
	dev = md_dev();
	/* each a fresh copy of mkswap's header with one field broken */
#define BROKEN(stmt)                                                                               \
	do {                                                                                       \
		memcpy(h, md.area, PAGE_SIZE);                                                     \
		stmt;                                                                              \
		assert_int_equal(swap_init(&dev, h), -EINVAL);                                     \
		assert_false(swap_enabled());                                                      \
		assert_null(swap_pager_alloc());                                                   \
	} while (0)
	BROKEN(h[SWAP_HEADER_MAGIC_OFF + 9] = '1');		 /* SWAPSPACE1 */
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF, 2));		 /* version */
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF, 0x01000000));	 /* other byte order */
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF + 4, AREA_PAGES)); /* past the device */
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF + 4, 0));		 /* no page */
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF + 8, SWAP_HEADER_MAX_BAD + 1));
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF + 8, 1); put32(h + SWAP_HEADER_BAD_OFF, 0));
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF + 8, 1); put32(h + SWAP_HEADER_BAD_OFF, AREA_PAGES));
	/* every page bad */
	BROKEN(put32(h + SWAP_HEADER_INFO_OFF + 4, 3); put32(h + SWAP_HEADER_INFO_OFF + 8, 3);
	       put32(h + SWAP_HEADER_BAD_OFF, 1); put32(h + SWAP_HEADER_BAD_OFF + 4, 2);
	       put32(h + SWAP_HEADER_BAD_OFF + 8, 3));
	/* a device smaller than the header says */
	dev.pages = AREA_PAGES - 1;
	memcpy(h, md.area, PAGE_SIZE);
	assert_int_equal(swap_init(&dev, h), -EINVAL);
	dev.pages = AREA_PAGES;

	/* the largest bad-page list fits, duplicates count once */
	for (unsigned i = 0; i < SWAP_HEADER_MAX_BAD; i++)
		bad[i] = 1 + i % 100;
	md_open(AREA_PAGES, bad, SWAP_HEADER_MAX_BAD);
	assert_int_equal(swap_init(&dev, md.area), 0);
	swap_pager_stats(&st);
	assert_int_equal(st.slots_total, AREA_PAGES - 1 - 100);
	assert_int_equal(st.slots_used, 0);
	swap_pager_check();
	swap_shutdown();
	/* a mkswap header as it is */
	md_open(AREA_PAGES, NULL, 0);
	assert_int_equal(swap_init(&dev, md.area), 0);
	swap_pager_stats(&st);
	assert_int_equal(st.slots_total, AREA_PAGES - 1);
	swap_shutdown();
	/* out of memory while setting up */
	malloc_fail_at = 3;
	assert_int_equal(swap_init(&dev, md.area), -ENOMEM);
	malloc_fail_at = -1;
	assert_false(swap_enabled());
}

static void put_tags(struct vm_pager *p, uint64_t pindex, unsigned n, uint32_t tag0)
{
	for (unsigned i = 0; i < n; i++)
		page_fill(pages[i], tag0 + i);
	assert_int_equal(p->ops->put_pages(p, pages, n, pindex), 0);
}

static void test_clustering(void **state)
{
	uint32_t bad[] = {40, 41};
	struct vm_pager *p, *q;
	unsigned after = 99;
	struct swap_stats st;
	struct swap_dev dev;

	md_open(AREA_PAGES, bad, 2);
	dev = md_dev();
	assert_int_equal(swap_init(&dev, md.area), 0);
	p = swap_pager_alloc();
	q = swap_pager_alloc();
	assert_non_null(p);
	/* 64 neighbours across block boundaries: one run of slots, one write */
	md.calls = 0;
	put_tags(p, 30, 64, 1000);
	assert_int_equal(md.calls, 1);
	assert_int_equal(md.last_n, 64);
	assert_true(md.last_first + 63 < 40 || md.last_first > 41);
	assert_int_equal(p->ops->has_page(p, 30, &after), 1);
	assert_int_equal(after, 63);
	assert_int_equal(p->ops->has_page(p, 60, &after), 1);
	assert_int_equal(after, 33);
	assert_int_equal(p->ops->has_page(p, 93, &after), 1);
	assert_int_equal(after, 0);
	assert_int_equal(p->ops->has_page(p, 94, &after), 0);
	assert_int_equal(p->ops->has_page(p, 29, NULL), 0);
	/* read-around: the whole run in one read */
	md.calls = 0;
	assert_int_equal(p->ops->get_pages(p, pages, 64, 30), 0);
	assert_int_equal(md.calls, 1);
	for (unsigned i = 0; i < 64; i++)
		page_expect(pages[i], 1000 + i);
	/* a page rewritten on its own breaks the run */
	put_tags(p, 50, 1, 5000);
	assert_int_equal(p->ops->has_page(p, 30, &after), 1);
	assert_int_equal(after, 19);
	assert_int_equal(p->ops->has_page(p, 50, &after), 1);
	assert_int_equal(after, 0);
	md.calls = 0;
	assert_int_equal(p->ops->get_pages(p, pages, 22, 30), 0);
	assert_int_equal(md.calls, 3);
	page_expect(pages[19], 1019);
	page_expect(pages[20], 5000);
	page_expect(pages[21], 1021);
	/* holes read as zeros; no data at the first page is -ENOENT */
	p->ops->free_range(p, 32, 3);
	assert_int_equal(p->ops->get_pages(p, pages, 6, 30), 0);
	page_expect(pages[1], 1001);
	for (unsigned i = 2; i < 5; i++)
		page_expect(pages[i], 0);
	page_expect(pages[5], 1005);
	assert_int_equal(p->ops->get_pages(p, pages, 2, 33), -ENOENT);
	assert_int_equal(q->ops->get_pages(q, pages, 1, 30), -ENOENT);
	swap_pager_check();
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, 64 - 3);
	assert_int_equal(st.pages_written, 65);
	/* the far end of the heap object, and a range as large as it */
	uint64_t top = 0x7fffc0000000ull / PAGE_SIZE;
	put_tags(q, top - 3, 3, 7000);
	assert_int_equal(q->ops->has_page(q, top - 3, &after), 1);
	assert_int_equal(after, 2);
	q->ops->free_range(q, 0, top);
	assert_int_equal(q->ops->has_page(q, top - 1, NULL), 0);
	swap_pager_check();
	p->ops->dealloc(p);
	q->ops->dealloc(q);
	swap_pager_check();
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, 0);
	swap_shutdown();
}

#define NOBJ 4
#define NIDX 200 /* indices per object in the model */

static const uint64_t obj_base[NOBJ] = {0, 31, 100000, 0x7fffc0000000ull / PAGE_SIZE - NIDX};
static struct vm_pager *objs[NOBJ];
static uint32_t model[NOBJ][NIDX]; /* tag of the data the pager holds, 0 none */
static unsigned refused_space, refused_memory;

static unsigned model_count(void)
{
	unsigned n = 0;

	for (unsigned o = 0; o < NOBJ; o++)
		for (unsigned i = 0; i < NIDX; i++)
			n += model[o][i] != 0;
	return n;
}

/*
 * A put_pages of a random run, now and then on a failing device or with
 * memory refused from some allocation on; a failure must leave the
 * model's data in place.
 */
/* Slots the pager retired after writes to them failed. */
static uint64_t retired;

static void step_put(unsigned o, unsigned i, unsigned n, uint32_t *tags)
{
	struct swap_stats st;
	bool io_fails = rand() % 16 == 0;

	for (unsigned j = 0; j < n; j++)
		page_fill(pages[j], *tags + j);
	swap_pager_stats(&st);
	unsigned old = 0;
	for (unsigned j = 0; j < n; j++)
		old += model[o][i + j] != 0;
	/* short of room, the pager lets the indices' old slots go first */
	bool short_of_room = st.slots_total - st.slots_used < n;
	md.fail_next = io_fails;
	if (!io_fails && rand() % 16 == 0)
		malloc_fail_at = rand() % 4;
	int r = objs[o]->ops->put_pages(objs[o], pages, n, obj_base[o] + i);
	bool refused = malloc_fail_at == 0;
	malloc_fail_at = -1;
	md.fail_next = false;
	refused_space += r == -ENOSPC;
	refused_memory += r == -ENOMEM;
	if (r != 0 && short_of_room)
		for (unsigned j = 0; j < n; j++)
			if (objs[o]->ops->has_page(objs[o], obj_base[o] + i + j, NULL) == 0)
				model[o][i + j] = 0;
	if (r == -ENOSPC)
		assert_true(st.slots_total - st.slots_used + old < n);
	else if (io_fails) {
		assert_int_equal(r, -EIO);
		retired += md.last_n; /* the run that failed is never handed out again */
	}
	else if (r != 0)
		assert_true(refused && r == -ENOMEM);
	if (r == 0) {
		for (unsigned j = 0; j < n; j++)
			model[o][i + j] = *tags + j;
		*tags += n;
	}
}

static void step_get(unsigned o, unsigned i, unsigned n)
{
	unsigned after = 0, calls = md.calls;
	int has = objs[o]->ops->has_page(objs[o], obj_base[o] + i, &after);

	assert_int_equal(has, model[o][i] != 0);
	if (has && rand() % 2 == 0) {
		/* read-around as the fault path does it: one io call */
		n = MIN(after + 1, NIDX - i);
		for (unsigned j = 0; j < n; j++)
			assert_true(model[o][i + j] != 0);
	}
	bool fail = rand() % 16 == 0;
	md.fail_next = fail;
	int r = objs[o]->ops->get_pages(objs[o], pages, n, obj_base[o] + i);
	md.fail_next = false;
	if (!has) {
		assert_int_equal(r, -ENOENT);
		return;
	}
	assert_int_equal(r, fail ? -EIO : 0);
	if (fail)
		return;
	if (n <= after + 1)
		assert_int_equal(md.calls, calls + 1);
	for (unsigned j = 0; j < n; j++)
		page_expect(pages[j], model[o][i + j]);
}

static void test_random_model(void **state)
{
	uint32_t bad[] = {7, 8, 9, 130, 200};
	unsigned seed = 7, steps = getenv("PHOBOS_STRESS") ? 200000 : 12000;
	uint32_t tags = 1;
	struct swap_stats st;
	struct swap_dev dev;

	srand(seed);
	printf("# swap random model: seed %u, %u steps\n", seed, steps);
	md_open(AREA_PAGES, bad, 5);
	dev = md_dev();
	assert_int_equal(swap_init(&dev, md.area), 0);
	memset(model, 0, sizeof(model));
	for (unsigned o = 0; o < NOBJ; o++)
		objs[o] = swap_pager_alloc();
	for (unsigned step = 0; step < steps; step++) {
		unsigned o = (unsigned)rand() % NOBJ, op = (unsigned)rand() % 100;
		unsigned n = 1 + (unsigned)rand() % (rand() % 4 == 0 ? VM_PAGER_MAX_PAGES : 8);
		unsigned i = (unsigned)rand() % NIDX;
		n = MIN(n, NIDX - i);
		if (op < 40) {
			step_put(o, i, n, &tags);
		} else if (op < 75) {
			step_get(o, i, n);
		} else if (op < 97) {
			objs[o]->ops->free_range(objs[o], obj_base[o] + i, n);
			memset(&model[o][i], 0, n * sizeof(model[o][0]));
		} else {
			objs[o]->ops->dealloc(objs[o]);
			memset(model[o], 0, sizeof(model[o]));
			objs[o] = swap_pager_alloc();
			assert_non_null(objs[o]);
		}
		swap_pager_check();
		swap_pager_stats(&st);
		assert_int_equal(st.slots_used, model_count() + retired);
		assert_int_equal(st.slots_lost, retired);
	}
	swap_pager_stats(&st);
	printf("# %llu pages written, %llu read, %llu io errors; page-outs refused: %u full, "
	       "%u no memory\n",
	       (unsigned long long)st.pages_written, (unsigned long long)st.pages_read,
	       (unsigned long long)st.io_errors, refused_space, refused_memory);
	assert_true(st.io_errors > 0 && refused_space > 0 && refused_memory > 0);
	for (unsigned o = 0; o < NOBJ; o++)
		objs[o]->ops->dealloc(objs[o]);
	swap_pager_check();
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, retired);
	assert_true(retired > 0);
	swap_shutdown();
}

/* Swap full: a page-out that does not fit fails whole and loses nothing. */
static void test_swap_full(void **state)
{
	struct swap_dev dev;
	struct swap_stats st;

	md_open(40, NULL, 0); /* 39 slots */
	dev = md_dev();
	assert_int_equal(swap_init(&dev, md.area), 0);
	struct vm_pager *p = swap_pager_alloc();
	put_tags(p, 0, 32, 1);
	put_tags(p, 32, 6, 100);
	for (unsigned i = 0; i < 8; i++)
		page_fill(pages[i], 999);
	assert_int_equal(p->ops->put_pages(p, pages, 2, 100), -ENOSPC);
	/* one slot left: a rewrite of 2 pages takes the 2 slots it replaces */
	put_tags(p, 0, 2, 50);
	put_tags(p, 38, 1, 200);
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, 39);
	/* full: a rewrite of 1 page still fits in its own slot */
	put_tags(p, 0, 1, 60);
	assert_int_equal(p->ops->put_pages(p, pages, 1, 100), -ENOSPC);
	swap_pager_check();
	assert_int_equal(p->ops->get_pages(p, pages, 32, 0), 0);
	for (unsigned i = 0; i < 32; i++)
		page_expect(pages[i], i == 0 ? 60 : i == 1 ? 51 : 1 + i);
	/* freed slots scattered over the area still take a page-out, in pieces */
	p->ops->free_range(p, 3, 1);
	p->ops->free_range(p, 20, 2);
	put_tags(p, 100, 3, 300);
	assert_int_equal(p->ops->get_pages(p, pages, 3, 100), 0);
	for (unsigned i = 0; i < 3; i++)
		page_expect(pages[i], 300 + i);
	swap_pager_check();
	p->ops->dealloc(p);
	swap_shutdown();
}

static uint64_t hidden_index;

static bool hides_one(void *ctx, uint64_t pindex)
{
	return pindex == hidden_index;
}

/* Collapse: a backing object's slots move to its shadow's pager, except
 * where the shadow has a slot or a page of its own (those are freed); with
 * no source the pager only drops what is hidden; out of memory part way,
 * both pagers stay consistent. */
static void test_absorb(void **state)
{
	struct swap_dev dev;
	struct swap_stats st;
	unsigned after;

	md_open(AREA_PAGES, NULL, 0);
	dev = md_dev();
	assert_int_equal(swap_init(&dev, md.area), 0);
	struct vm_pager *p = swap_pager_alloc(), *q = swap_pager_alloc();
	put_tags(q, 0, 8, 100);
	put_tags(q, 40, 1, 140); /* another block */
	put_tags(p, 2, 2, 200);
	hidden_index = 5;
	assert_int_equal(p->ops->absorb(p, q, hides_one, NULL), 0);
	swap_pager_check();
	for (uint64_t i = 0; i < 8; i++) {
		assert_int_equal(q->ops->has_page(q, i, &after), 0);
		assert_int_equal(p->ops->has_page(p, i, &after), i != 5);
	}
	assert_int_equal(p->ops->get_pages(p, pages, 8, 0), 0); /* index 5 reads as zeros */
	for (uint64_t i = 0; i < 8; i++)
		if (i != 5)
			page_expect(pages[i], i == 2 || i == 3 ? 198 + (uint32_t)i : 100 + (uint32_t)i);
	assert_int_equal(p->ops->get_pages(p, pages, 1, 40), 0);
	page_expect(pages[0], 140);
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, 8); /* 0-4, 6, 7, 40 */
	hidden_index = 6;
	assert_int_equal(p->ops->absorb(p, NULL, hides_one, NULL), 0);
	assert_int_equal(p->ops->has_page(p, 6, &after), 0);
	swap_pager_check();
	put_tags(q, 64, 4, 300);
	malloc_fail_at = 0;
	assert_int_equal(p->ops->absorb(p, q, hides_one, NULL), -ENOMEM);
	malloc_fail_at = -1;
	swap_pager_check();
	assert_int_equal(q->ops->has_page(q, 64, &after), 1); /* nothing lost */
	assert_int_equal(p->ops->absorb(p, q, hides_one, NULL), 0);
	assert_int_equal(p->ops->get_pages(p, pages, 4, 64), 0);
	for (uint32_t i = 0; i < 4; i++)
		page_expect(pages[i], 300 + i);
	p->ops->dealloc(p);
	q->ops->dealloc(q);
	swap_pager_check();
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, 0);
	swap_shutdown();
}

/*
 * Frees that split runs need descriptors; with memory refused they use the
 * reserve, and past it the slots are counted lost, never corrupted.
 */
static void test_free_without_memory(void **state)
{
	struct swap_dev dev;
	struct swap_stats st;

	md_open(AREA_PAGES, NULL, 0);
	dev = md_dev();
	assert_int_equal(swap_init(&dev, md.area), 0);
	struct vm_pager *p = swap_pager_alloc();
	for (unsigned r = 0; r < 4; r++)
		put_tags(p, 64 * r, 64, 1 + 64 * r);
	malloc_fail_at = 0;
	for (unsigned i = 1; i < 256; i += 2) {
		p->ops->free_range(p, i, 1);
		swap_pager_check();
	}
	malloc_fail_at = -1;
	swap_pager_stats(&st);
	printf("# %llu of 128 freed slots lost\n", (unsigned long long)st.slots_lost);
	assert_true(st.slots_lost > 0 && st.slots_lost < 128);
	assert_int_equal(st.slots_used, 128 + st.slots_lost);
	assert_int_equal(p->ops->get_pages(p, pages, 1, 254), 0);
	page_expect(pages[0], 255);
	p->ops->dealloc(p);
	swap_pager_check();
	swap_pager_stats(&st);
	assert_int_equal(st.slots_used, st.slots_lost);
	swap_shutdown();
}

/* The blk glue: a partition of a memory disk, mkswap's header in it. */
static void swap_dev_case(uint32_t sector_size)
{
	const uint64_t first = 2 * MIB, swap_pages = 64;
	size_t disk_bytes = 4 * MIB;
	uint8_t *disk = calloc(1, disk_bytes), *copy = malloc(disk_bytes);
	struct blk_host h;
	struct swap_stats st;

	blk_mem_create(&h, disk, disk_bytes, sector_size, "memdisk");
	struct blk_dev *part = blk_partition_create(&h.dev, 1, first / sector_size,
						    swap_pages * PAGE_SIZE / sector_size);
	assert_non_null(part);
	assert_int_equal(swap_dev_attach(part), -EINVAL); /* zeros: no signature */
	mkswap_header(disk + first, swap_pages);
	memcpy(copy, disk, disk_bytes);
	assert_int_equal(swap_dev_attach(part), 0);
	struct vm_pager *p = swap_pager_alloc();
	put_tags(p, 0, 16, 40);
	swap_pager_stats(&st);
	assert_int_equal(st.slots_total, swap_pages - 1);
	/* the pages landed in the partition, page s at its byte s * 4096 */
	unsigned after;
	assert_int_equal(p->ops->has_page(p, 0, &after), 1);
	assert_int_equal(after, 15);
	for (size_t b = 0; b < disk_bytes; b += PAGE_SIZE) {
		if (b >= first + PAGE_SIZE && b < first + swap_pages * PAGE_SIZE)
			continue;
		assert_memory_equal(disk + b, copy + b, PAGE_SIZE);
	}
	for (unsigned i = 0; i < 16; i++)
		page_fill(pages[i], 0);
	assert_int_equal(p->ops->get_pages(p, pages, 16, 0), 0);
	for (unsigned i = 0; i < 16; i++)
		page_expect(pages[i], 40 + i);
	/* a failing disk: -EIO, old data kept */
	h.fail_after = 0;
	for (unsigned i = 0; i < 2; i++)
		page_fill(pages[i], 77);
	assert_int_equal(p->ops->put_pages(p, pages, 2, 0), -EIO);
	assert_int_equal(p->ops->get_pages(p, pages, 1, 0), -EIO);
	h.fail_after = -1;
	assert_int_equal(p->ops->get_pages(p, pages, 2, 0), 0);
	page_expect(pages[0], 40);
	page_expect(pages[1], 41);
	swap_pager_check();
	p->ops->dealloc(p);
	swap_shutdown();
	blk_reset_registry();
	free(disk);
	free(copy);
}

static void test_swap_dev(void **state)
{
	assert_int_equal(swap_dev_attach(NULL), -ENODEV);
	swap_dev_case(512);
	swap_dev_case(4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_clustering),
		cmocka_unit_test(test_swap_full),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_free_without_memory),
		cmocka_unit_test(test_absorb),
		cmocka_unit_test(test_swap_dev),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
