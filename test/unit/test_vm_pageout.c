/*
 * Page-out on the software MMU: anonymous memory four times the size of
 * RAM, touched at random through simulated accesses, paged out to a swap
 * area in memory and back, every byte checked against a model; the same
 * with a swap device that fails one request in turn; and memory running
 * out without swap (-ENOMEM, no hang, every checker still holds).
 * PHOBOS_SWAP_SECONDS=n (make stress sets it) makes the working-set run
 * go on for n seconds instead of 12000 touches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "core/mm/slab.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_pageout.h"
#include "test/bench/replay.h"
#include "test/sim/pmap_sim.h"

#define BASE 0x40000000ull
#define SPAN (1ull << 30)
#define RAM (4u << 20)
#define WS_PAGES (4 * (RAM / PAGE_SIZE)) /* the working set: 4 times RAM */
#define AREA_PAGES (WS_PAGES + WS_PAGES / 4)
#define WS_HOT (WS_PAGES / 8)

/* The swap area in memory; `fail_at` makes that io call (1 = the next)
 * fail; `keep_next_read` / `keep_next_write` make the next read or write
 * end as a device that stopped with the buffers in its hands (-EBUSY),
 * noting how many it kept. */
static struct {
	uint8_t *area;
	unsigned calls, fail_at, failed;
	bool keep_next_read, keep_next_write;
	unsigned kept;
	void (*during_write)(void); /* runs once, inside the next write */
} sw;

static int sw_io(void *ctx, bool write, uint64_t first, unsigned n, void *const *bufs)
{
	assert_true(first >= 1 && first + n <= AREA_PAGES);
	if (write && sw.during_write != NULL) {
		void (*fn)(void) = sw.during_write;
		sw.during_write = NULL;
		fn();
	}
	if (write ? sw.keep_next_write : sw.keep_next_read) {
		sw.keep_next_read = sw.keep_next_write = false;
		sw.kept = n;
		return -EBUSY;
	}
	if (sw.fail_at != 0 && ++sw.calls == sw.fail_at) {
		sw.failed++;
		return -EIO;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = sw.area + (first + i) * PAGE_SIZE;
		if (write)
			memcpy(p, bufs[i], PAGE_SIZE);
		else
			memcpy(bufs[i], p, PAGE_SIZE);
	}
	return 0;
}

static uint64_t free_at_start;

static int setup(void **state)
{
	pmap_sim_init(RAM);
	vm_pageout_init(swap_pager_alloc);
	vm_page_set_hooks(vm_pageout_reclaim, NULL);
	sw.area = calloc(AREA_PAGES, PAGE_SIZE);
	free_at_start = vm_page_free_count();
	return 0;
}

/* A Linux swap header for the first `pages` pages of the area, as mkswap
 * writes it. */
static void swap_open_pages(uint32_t pages)
{
	uint8_t header[PAGE_SIZE] = {0};
	uint32_t info[3] = {1, pages - 1, 0}; /* version, last_page, no bad pages */
	const struct swap_dev dev = {"memswap", pages, sw_io, NULL};

	assert_true(pages <= AREA_PAGES);

	memcpy(header + SWAP_HEADER_INFO_OFF, info, sizeof(info));
	memcpy(header + SWAP_HEADER_MAGIC_OFF, SWAP_HEADER_MAGIC, 10);
	assert_int_equal(swap_init(&dev, header), 0);
}

static void swap_open(void)
{
	swap_open_pages(AREA_PAGES);
}

/* The pattern of page p at version v (0: never written, zeros). */
static void page_pattern(uint64_t *w, uint64_t p, uint32_t v)
{
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = v == 0 ? 0 : (p << 32 | v) * 0x9e3779b97f4a7c15ull + i;
}

struct ws {
	struct vm_map map;
	struct pmap *pmap;
	struct vm_object *obj; /* the entry's object, held by the map */
	vaddr_t va;
	uint32_t *ver;
};

static void ws_open(struct ws *w, uint64_t pages)
{
	assert_int_equal(pmap_create(&w->pmap), 0);
	assert_int_equal(vm_map_init(&w->map, w->pmap, BASE, SPAN), 0);
	struct vm_object *obj = vm_object_allocate(pages * PAGE_SIZE);
	assert_non_null(obj);
	assert_int_equal(vm_map_insert_object(&w->map, obj, 0, pages * PAGE_SIZE, VM_PROT_RW, 0,
					      &w->va),
			 0);
	vm_object_deallocate(obj);
	w->obj = obj;
	w->ver = calloc(pages, sizeof(*w->ver));
}

static int ws_fault(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user);
static struct ws *ws_current;

/* ws_open, with the simulated MMU's faults going to w's map. */
static void ws_start(struct ws *w, uint64_t pages)
{
	ws_open(w, pages);
	ws_current = w;
	pmap_sim_set_fault_handler(ws_fault);
}

static void ws_close(struct ws *w)
{
	assert_int_equal(vm_map_free(&w->map, w->va), 0);
	vm_map_check(&w->map);
	buddy_destroy(&w->map.space);
	pmap_destroy(w->pmap);
	free(w->ver);
}

/* With swap shut down and every map gone, every page is free again. */
static void expect_pages_back(void)
{
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start);
}

static void check_all(struct ws *w)
{
	vm_page_check();
	vm_map_check(&w->map);
	pmap_sim_check();
	if (swap_enabled())
		swap_pager_check();
}

/*
 * One random touch of page p: a write of a new version of the whole page,
 * or a read compared with the model.  Returns the access's code; on an
 * error the model keeps the old version, which must still be there.
 */
static int ws_touch(struct ws *w, uint64_t p, bool write)
{
	static uint64_t buf[PAGE_SIZE / 8], want[PAGE_SIZE / 8];
	vaddr_t at = w->va + p * PAGE_SIZE;

	if (write) {
		page_pattern(buf, p, w->ver[p] + 1);
		int err = pmap_sim_write(w->pmap, at, buf, PAGE_SIZE, false);
		if (err == 0)
			w->ver[p]++;
		return err;
	}
	int err = pmap_sim_read(w->pmap, at, buf, PAGE_SIZE, false);
	if (err == 0) {
		page_pattern(want, p, w->ver[p]);
		if (memcmp(buf, want, PAGE_SIZE) != 0)
			fail_msg("page %llu does not hold version %u", (unsigned long long)p, w->ver[p]);
	}
	return err;
}

static int ws_fault(struct pmap *pmap, vaddr_t va, vm_prot_t access, bool user)
{
	return vm_fault(&ws_current->map, va, access, user);
}

static void test_swap_working_set(void **state)
{
	struct ws w;
	struct swap_stats ss;
	uint64_t seed = 1;

	swap_open();
	ws_start(&w, WS_PAGES);
	struct vm_counters before = vm_cnt;
	const char *secs = getenv("PHOBOS_SWAP_SECONDS");
	time_t until = secs != NULL ? time(NULL) + atol(secs) : 0;
	uint64_t steps = 0, touches[2] = {0, 0}, misses[2] = {0, 0};
	for (int step = 0; secs != NULL ? time(NULL) < until : step < 12000; step++, steps++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* a hot eighth (half of RAM) gets half the touches: replacement
		 * has something to find */
		uint64_t p = (seed >> 33) % (seed & 1 ? WS_HOT : WS_PAGES);
		uint64_t major = vm_cnt.faults_major;
		bool hot = p < WS_HOT, seen = w.ver[p] != 0;
		assert_int_equal(ws_touch(&w, p, (seed >> 20) & 1), 0);
		/* a page never written has nothing to miss */
		touches[hot] += seen;
		misses[hot] += seen && vm_cnt.faults_major != major;
		if (step % 97 == 0)
			check_all(&w);
	}
	for (uint64_t p = 0; p < WS_PAGES; p++) /* every page, once more */
		assert_int_equal(ws_touch(&w, p, false), 0);
	check_all(&w);
	printf("# swap working set: %llu touches, %llu pages out, %llu in; misses: hot %llu of "
	       "%llu, cold %llu of %llu\n",
	       (unsigned long long)steps, (unsigned long long)(vm_cnt.pageouts - before.pageouts),
	       (unsigned long long)(vm_cnt.pageins - before.pageins), (unsigned long long)misses[1],
	       (unsigned long long)touches[1], (unsigned long long)misses[0],
	       (unsigned long long)touches[0]);
	/* replacement at work: a page of the hot eighth, touched nine times as
	 * often, misses at under 2/5 of a cold page's rate (0.36 with
	 * CLOCK-Pro, 0.35 with the second chance before it, 0.47 with that
	 * scanner blind to referenced bits) */
	assert_true(misses[1] * touches[0] * 5 < misses[0] * touches[1] * 2);
	assert_true(vm_cnt.pageouts > before.pageouts + WS_PAGES / 2);
	assert_true(vm_cnt.pageins > before.pageins + WS_PAGES / 2);
	assert_true(vm_cnt.faults_major > before.faults_major);
	swap_pager_stats(&ss);
	assert_true(ss.slots_used > 0);
	ws_close(&w);
	swap_pager_stats(&ss);
	assert_int_equal(ss.slots_used, 0); /* the object died: its slots came back */
	swap_shutdown();
	expect_pages_back();
}

/*
 * The swap device fails its k-th request, for k in turn.  The access that
 * needed it may fail (-EIO for a read from swap, -ENOMEM when the failed
 * write left nothing to free), never with wrong data, and every later
 * access works.
 */
static void test_swap_device_failures(void **state)
{
	for (unsigned k = 1; k <= 40; k += 3) {
		struct ws w;
		uint64_t seed = k;
		int failures = 0;

		swap_open();
		sw.calls = 0;
		sw.failed = 0;
		sw.fail_at = 1 + k * 7;
		ws_start(&w, WS_PAGES / 2);
		for (int step = 0; step < 5000; step++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t p = (seed >> 33) % (WS_PAGES / 2);
			int err = ws_touch(&w, p, (seed >> 20) & 1);
			if (err != 0) {
				assert_true(err == -EIO || err == -ENOMEM);
				failures++;
				assert_int_equal(ws_touch(&w, p, false), 0); /* the data is still there */
			}
		}
		check_all(&w);
		assert_int_equal(sw.failed, 1);
		assert_true(failures <= 1);
		sw.fail_at = 0;
		ws_close(&w);
		swap_shutdown();
		expect_pages_back();
	}
}

/* A swap-in whose device stopped with the pages: the fault fails with
 * -EIO, those pages are never handed out again (the free count ends short
 * by exactly them), and the data is read again intact afterwards. */
static void test_swap_device_keeps_pages(void **state)
{
	struct ws w;

	swap_open();
	ws_start(&w, WS_PAGES);
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	sw.keep_next_read = true;
	assert_int_equal(ws_touch(&w, 0, false), -EIO); /* page 0 went out long ago */
	assert_true(sw.kept >= 1);
	check_all(&w);
	for (uint64_t p = 0; p < WS_PAGES; p += 7)
		assert_int_equal(ws_touch(&w, p, false), 0);
	ws_close(&w);
	swap_shutdown();
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start - sw.kept);
	free_at_start -= sw.kept; /* those pages are the device's for good */
}

/* A page read back from swap and then rewritten has no copy in swap any
 * more: the copy is stale from the first store on. */
static void test_rewrite_frees_swap_copy(void **state)
{
	struct ws w;

	swap_open();
	ws_start(&w, WS_PAGES);
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	assert_null(vm_object_page_lookup(w.obj, 0)); /* page 0 went out long ago */
	assert_int_equal(ws_touch(&w, 0, false), 0);
	assert_int_equal(vm_pager_has_page(w.obj, 0, NULL), 1); /* a good copy: kept */
	assert_int_equal(ws_touch(&w, 0, true), 0);
	assert_int_equal(vm_pager_has_page(w.obj, 0, NULL), 0);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * Swap sized to the working set minus half of RAM: pages read back and
 * rewritten must not keep stale copies, and a page-out must be able to
 * reuse the slots of the pages it rewrites, or swap fills with dead copies
 * and the touches end in -ENOMEM.
 */
static void test_tight_swap(void **state)
{
	struct ws w;
	uint64_t seed = 3;

	swap_open_pages((uint32_t)(WS_PAGES - free_at_start / 2));
	ws_start(&w, WS_PAGES);
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	for (int step = 0; step < 12000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t p = (seed >> 33) % WS_PAGES;
		/* read first, then maybe rewrite: the read brings the page in clean */
		assert_int_equal(ws_touch(&w, p, false), 0);
		if ((seed >> 20) & 1)
			assert_int_equal(ws_touch(&w, p, true), 0);
		if (step % 97 == 0)
			check_all(&w);
	}
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * The kernel writes into a pageable page through the direct map (the app
 * loader does): a page read back from swap clean must come back dirty, or
 * its next page-out drops the kernel's store.
 */
static void test_kernel_store_survives_pageout(void **state)
{
	static uint64_t buf[PAGE_SIZE / 8];
	struct ws w;
	struct vm_page *m;

	swap_open();
	ws_start(&w, WS_PAGES);
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	assert_null(vm_object_page_lookup(w.obj, 0));
	assert_int_equal(vm_fault_object_hold(w.obj, 0, &m), 0);
	assert_int_equal(vm_pager_has_page(w.obj, 0, NULL), 0); /* its copy is stale */
	page_pattern(buf, 0, ++w.ver[0]);
	memcpy(pmap_phys_to_virt(vm_page_phys(m)), buf, PAGE_SIZE);
	vm_fault_object_release(m);
	for (uint64_t p = 1; p < WS_PAGES; p++) /* page 0 goes out again */
		assert_int_equal(ws_touch(&w, p, false), 0);
	assert_null(vm_object_page_lookup(w.obj, 0));
	assert_int_equal(ws_touch(&w, 0, false), 0);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * Fork-like copy-on-write under page-out: up to COW_VIEWS copies of one
 * anonymous region in one map (vm_map_copy_entry, as a fork does), pages
 * written on every side, copies made and dropped, memory one and a half
 * times RAM per view, so shadows and their backing objects both page out
 * to swap.  Every read is checked against a model of which write each
 * view must see; each chain's objects are checked after every step.  When
 * the copies are gone the survivor's chain collapses to one object and
 * swap holds no more slots than it has pages.
 */
#define COW_VIEWS 4
#define COW_PAGES (3 * RAM / PAGE_SIZE / 2)

struct cow_view {
	vaddr_t va;
	uint32_t tag[COW_PAGES]; /* the write this view sees at each page, 0: none */
};

static void cow_check_chain(struct vm_map *map, vaddr_t va)
{
	struct vm_map_entry e;

	assert_int_equal(vm_map_lookup(map, va, &e), 0);
	for (struct vm_object *o = e.object; o != NULL; o = o->backing)
		vm_object_check(o);
}

static int cow_touch(struct ws *w, struct cow_view *v, uint64_t p, uint32_t new_tag)
{
	static uint64_t buf[PAGE_SIZE / 8], want[PAGE_SIZE / 8];
	vaddr_t at = v->va + p * PAGE_SIZE;

	if (new_tag != 0) {
		page_pattern(buf, p, new_tag);
		int err = pmap_sim_write(w->pmap, at, buf, PAGE_SIZE, false);
		if (err == 0)
			v->tag[p] = new_tag;
		return err;
	}
	int err = pmap_sim_read(w->pmap, at, buf, PAGE_SIZE, false);
	page_pattern(want, p, v->tag[p]);
	if (err == 0 && memcmp(buf, want, PAGE_SIZE) != 0)
		fail_msg("page %llu of a view does not hold write %u", (unsigned long long)p,
			 v->tag[p]);
	return err;
}

static void test_cow_chains_under_pageout(void **state)
{
	static struct cow_view views[COW_VIEWS];
	struct ws w;
	struct swap_stats ss;
	uint64_t seed = 11, pageouts = vm_cnt.pageouts, pageins = vm_cnt.pageins;
	uint32_t tags = 0;
	unsigned nviews = 1;

	swap_open();
	ws_start(&w, COW_PAGES);
	memset(views, 0, sizeof(views));
	views[0].va = w.va;
	for (int step = 0; step < 8000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned v = (unsigned)(seed >> 40) % nviews, op = (unsigned)(seed >> 24) % 1000;
		uint64_t p = (seed >> 33) % COW_PAGES;
		if (op < 4 && nviews < COW_VIEWS) {
			struct cow_view *n = &views[nviews];
			assert_int_equal(vm_map_copy_entry(&w.map, views[v].va, &w.map, &n->va), 0);
			memcpy(n->tag, views[v].tag, sizeof(n->tag));
			nviews++;
		} else if (op < 8 && nviews > 1) {
			assert_int_equal(vm_map_free(&w.map, views[v].va), 0);
			views[v] = views[--nviews];
		} else {
			assert_int_equal(cow_touch(&w, &views[v], p, op < 500 ? ++tags : 0), 0);
		}
		for (unsigned i = 0; i < nviews; i++)
			cow_check_chain(&w.map, views[i].va);
		if (step % 101 == 0)
			check_all(&w);
	}
	for (unsigned i = 0; i < nviews; i++)
		for (uint64_t q = 0; q < COW_PAGES; q++)
			assert_int_equal(cow_touch(&w, &views[i], q, 0), 0);
	check_all(&w);
	assert_true(vm_cnt.pageouts - pageouts > COW_PAGES && vm_cnt.pageins - pageins > COW_PAGES);
	while (nviews > 1)
		assert_int_equal(vm_map_free(&w.map, views[--nviews].va), 0);
	for (uint64_t q = 0; q < COW_PAGES; q++) /* faults collapse what the copies left */
		assert_int_equal(cow_touch(&w, &views[0], q, 0), 0);
	struct vm_map_entry e;
	assert_int_equal(vm_map_lookup(&w.map, views[0].va, &e), 0);
	assert_int_equal(vm_object_chain_length(e.object), 1);
	swap_pager_stats(&ss);
	assert_true(ss.slots_used <= COW_PAGES);
	check_all(&w);
	w.va = views[0].va;
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * A page modified while it is being written (another CPU's store, which
 * one CPU can only simulate: the page is mapped writable again and
 * written inside the device's write) stays dirty, and its new contents
 * reach swap at the next page-out instead of being dropped with the
 * older copy.
 */
static struct ws *scribble_ws;
static const uint64_t scribble_page = 3;

static void scribble(void)
{
	static uint64_t buf[PAGE_SIZE / 8];
	struct ws *w = scribble_ws;
	vaddr_t at = w->va + scribble_page * PAGE_SIZE;
	struct vm_page *m = vm_object_page_lookup(w->obj, scribble_page);

	assert_true(m->flags & VM_PAGE_BUSY);
	assert_int_equal(pmap_enter(w->pmap, at, vm_page_phys(m), VM_PROT_RW, 0), 0);
	page_pattern(buf, scribble_page, ++w->ver[scribble_page]);
	assert_int_equal(pmap_sim_write(w->pmap, at, buf, PAGE_SIZE, false), 0);
}

static void test_modified_while_written(void **state)
{
	struct ws w;

	swap_open();
	ws_start(&w, WS_PAGES);
	scribble_ws = &w;
	for (uint64_t p = 0; p < WS_PAGES; p++) /* the object gets its swap pager */
		assert_int_equal(ws_touch(&w, p, true), 0);
	assert_int_equal(ws_touch(&w, scribble_page, true), 0);
	struct vm_page *m = vm_object_page_lookup(w.obj, scribble_page);
	sw.during_write = scribble;
	assert_int_equal(vm_pageout_clean_object(w.obj, scribble_page, 1), 0);
	assert_null(sw.during_write);
	assert_true(m->flags & VM_PAGE_DIRTY);
	for (uint64_t p = 0; p < WS_PAGES; p++) /* the page goes out */
		if (p != scribble_page)
			assert_int_equal(ws_touch(&w, p, true), 0);
	assert_null(vm_object_page_lookup(w.obj, scribble_page));
	assert_int_equal(ws_touch(&w, scribble_page, false), 0);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * Replacement against its model on the same reference string: a loop over
 * 1.25 times the pages memory holds, read after one writing pass; the
 * pages the kernel reads (read-ahead included) against the misses of LRU,
 * OPT and the CLOCK-Pro
 * model with as many frames as pages stayed resident.
 */
static void test_replacement_loop(void **state)
{
	struct ws w;
	const unsigned rounds = 12;

	swap_open();
	uint64_t frames = vm_page_free_count() - vm_wm.target;
	uint64_t pages = frames * 5 / 4;
	ws_start(&w, pages);
	uint64_t *refs = malloc(rounds * pages * sizeof(*refs));
	size_t n = 0;
	for (uint64_t p = 0; p < pages; p++) {
		assert_int_equal(ws_touch(&w, p, true), 0);
		refs[n++] = p;
	}
	uint64_t pageins = vm_cnt.pageins, major = vm_cnt.faults_major;
	for (unsigned r = 1; r < rounds; r++)
		for (uint64_t p = 0; p < pages; p++) {
			assert_int_equal(ws_touch(&w, p, false), 0);
			refs[n++] = p;
		}
	long kernel = (long)(vm_cnt.pageins - pageins);
	printf("# (%llu major faults)\n", (unsigned long long)(vm_cnt.faults_major - major));
	long lru = replay_lru(refs, n, pages, frames), opt = replay_opt(refs, n, pages, frames);
	long cp = replay_clockpro(refs, n, pages, frames);
	printf("# loop over %llu pages, %llu frames: kernel %ld, LRU %ld, OPT %ld, CLOCK-Pro %ld\n",
	       (unsigned long long)pages, (unsigned long long)frames, kernel, lru, opt, cp);
	/* the goal is 1.2 times OPT, the model's 1.0; the kernel is at 1.07
	 * (4.4, near LRU's 5, before CLOCK-Pro; 1.28 while every ghost's
	 * refault grew the cold pages) */
	assert_true(kernel * 5 <= opt * 6);
	check_all(&w);
	free(refs);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * Zipf(1) draws over twice the pages memory holds (rank r drawn with
 * weight 1/r, ranks scattered over the pages), after one writing pass:
 * the pages the kernel reads, read-around included, against its model on
 * the same string, LRU, and A0 (the most frequent pages kept), the best an
 * online policy can do on independent references.  The goal is 1.2 times
 * A0: the kernel is at 1.19 (1.25 before hot pages kept a use count), its
 * model at 1.18 here and 1.13 on test_replay's string; the kernel must
 * also stay within 5 % of its model, read about one page per fault
 * (read-around closed), and beat LRU.
 */
static void test_replacement_zipf(void **state)
{
	struct ws w;
	uint64_t seed = 23;

	swap_open();
	uint64_t frames = vm_page_free_count() - vm_wm.target;
	uint64_t pages = 2 * frames, draws = 100 * pages, n = 0;
	double *cdf = malloc(pages * sizeof(*cdf));
	uint64_t *rank_page = malloc(pages * sizeof(*rank_page));
	uint64_t *refs = malloc((pages + draws) * sizeof(*refs));
	replay_zipf_cdf(cdf, pages);
	for (uint64_t r = 0; r < pages; r++)
		rank_page[r] = r;
	for (uint64_t i = pages - 1; i > 0; i--) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t j = (seed >> 33) % (i + 1), t = rank_page[i];
		rank_page[i] = rank_page[j];
		rank_page[j] = t;
	}
	ws_start(&w, pages);
	for (uint64_t p = 0; p < pages; p++) {
		assert_int_equal(ws_touch(&w, p, true), 0);
		refs[n++] = p;
	}
	uint64_t pageins = vm_cnt.pageins, major = vm_cnt.faults_major;
	for (uint64_t d = 0; d < draws; d++) {
		uint64_t p = rank_page[replay_zipf_draw(cdf, pages, &seed)];
		assert_int_equal(ws_touch(&w, p, false), 0);
		refs[n++] = p;
	}
	long kernel = (long)(vm_cnt.pageins - pageins);
	long lru = replay_lru(refs, n, pages, frames), a0 = replay_a0(refs, n, pages, frames);
	long cp = replay_clockpro(refs, n, pages, frames);
	printf("# Zipf over %llu pages, %llu frames: kernel %ld (%llu major faults), LRU %ld, "
	       "A0 %ld, CLOCK-Pro %ld\n",
	       (unsigned long long)pages, (unsigned long long)frames, kernel,
	       (unsigned long long)(vm_cnt.faults_major - major), lru, a0, cp);
	assert_true(kernel * 5 <= a0 * 6);
	assert_true(kernel * 20 <= cp * 21);
	assert_true(kernel * 50 <= (long)(vm_cnt.faults_major - major) * 51);
	assert_true(kernel < lru);
	check_all(&w);
	free(refs);
	free(rank_page);
	free(cdf);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * A hot set of half the frames, touched between the pages of one scan of
 * four times the frames (new anonymous pages, written once): the hot set
 * survives the scan, as OPT keeps it whole.
 */
static void test_replacement_hot_set_and_scan(void **state)
{
	struct ws hot, scan;
	uint64_t seed = 13, misses = 0, touches = 0;

	swap_open();
	uint64_t frames = vm_page_free_count() - vm_wm.target;
	uint64_t nhot = frames / 2, nscan = 4 * frames;
	ws_open(&scan, nscan);
	ws_start(&hot, nhot);
	for (uint64_t p = 0; p < nhot; p++)
		assert_int_equal(ws_touch(&hot, p, true), 0);
	for (uint64_t i = 0; i < nscan; i++) {
		ws_current = &scan;
		assert_int_equal(ws_touch(&scan, i, true), 0);
		for (int k = 0; k < 2; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t major = vm_cnt.faults_major;
			ws_current = &hot;
			assert_int_equal(ws_touch(&hot, (seed >> 33) % nhot, false), 0);
			misses += vm_cnt.faults_major != major;
			touches++;
		}
	}
	printf("# hot set of %llu pages and a scan of %llu: %llu of %llu hot touches missed\n",
	       (unsigned long long)nhot, (unsigned long long)nscan, (unsigned long long)misses,
	       (unsigned long long)touches);
	assert_true(misses * 50 <= touches); /* OPT misses none */
	check_all(&hot);
	ws_close(&scan);
	ws_close(&hot);
	swap_shutdown();
	expect_pages_back();
}

/*
 * Read-around that adapts: pages written out in order (so their slots
 * follow each other), then read back in a random permutation, where a
 * neighbour read along is seldom used before it is evicted: the pages read
 * may exceed the faults by 10 % at most.  Then in order again, where
 * read-ahead pays: a fault for four pages at most.
 */
static void test_read_around_adapts(void **state)
{
	struct ws w;
	uint64_t *perm = malloc(WS_PAGES * sizeof(*perm)), seed = 17;

	swap_open();
	ws_start(&w, WS_PAGES);
	for (uint64_t p = 0; p < WS_PAGES; p++) {
		assert_int_equal(ws_touch(&w, p, true), 0);
		perm[p] = p;
	}
	for (uint64_t i = WS_PAGES - 1; i > 0; i--) { /* Fisher-Yates */
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t j = (seed >> 33) % (i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	uint64_t pageins = vm_cnt.pageins, touched = 0;
	for (uint64_t i = 0; i < WS_PAGES; i++) {
		uint64_t major = vm_cnt.faults_major;
		assert_int_equal(ws_touch(&w, perm[i], false), 0);
		touched += vm_cnt.faults_major != major;
	}
	uint64_t read = vm_cnt.pageins - pageins;
	printf("# random permutation: %llu pages read for %llu faults\n", (unsigned long long)read,
	       (unsigned long long)touched);
	assert_true(read * 10 <= touched * 11);
	uint64_t faults = vm_cnt.faults_major;
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	printf("# in order: %llu faults for %u pages\n",
	       (unsigned long long)(vm_cnt.faults_major - faults), (unsigned)WS_PAGES);
	assert_true((vm_cnt.faults_major - faults) * 4 <= WS_PAGES);
	check_all(&w);
	free(perm);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/* Resident pages of w's object in [first, end). */
static uint64_t ws_resident(struct ws *w, uint64_t first, uint64_t end)
{
	uint64_t n = 0;

	for (struct vm_page *m = vm_object_page_next(w->obj, first); m != NULL && m->pindex < end;
	     m = vm_object_page_next(w->obj, m->pindex + 1))
		n++;
	return n;
}

#define ADV_PAGES (WS_PAGES / 2)

/* Out of memory, to swap: DONTNEED over all of w. */
static void ws_drop(struct ws *w)
{
	assert_int_equal(vm_map_advise(&w->map, w->va, ADV_PAGES * PAGE_SIZE, VM_ADVICE_DONTNEED),
			 0);
	assert_int_equal(ws_resident(w, 0, ADV_PAGES), 0);
	check_all(w);
}

/*
 * Advice, as an app gives it with sys_advise: DONTNEED takes pages out of
 * memory into swap with their data; RANDOM reads one page a fault even in
 * order; NORMAL forgets it; SEQUENTIAL reads the most ahead and sends the
 * pages behind to the cache queue; WILLNEED reads a range with no fault.
 */
static void test_advice(void **state)
{
	struct ws w;
	const uint64_t n = 256;

	swap_open();
	ws_start(&w, ADV_PAGES);
	for (uint64_t p = 0; p < ADV_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	assert_int_equal(vm_map_advise(&w.map, w.va, PAGE_SIZE, 5), -EINVAL);
	assert_int_equal(vm_map_advise(&w.map, w.va + 1, PAGE_SIZE, VM_ADVICE_RANDOM), -EINVAL);
	assert_int_equal(vm_map_advise(&w.map, w.va, 0, VM_ADVICE_RANDOM), -EINVAL);

	/* DONTNEED: what was written leaves memory for swap, data intact */
	ws_drop(&w);
	uint64_t major = vm_cnt.faults_major, pageins = vm_cnt.pageins;
	for (uint64_t p = 0; p < n; p++) /* each holds its last version */
		assert_int_equal(ws_touch(&w, p, false), 0);
	assert_true(vm_cnt.faults_major > major);

	/* RANDOM: in order, yet a fault per page, a page per fault */
	ws_drop(&w);
	assert_int_equal(vm_map_advise(&w.map, w.va, n * PAGE_SIZE, VM_ADVICE_RANDOM), 0);
	major = vm_cnt.faults_major;
	pageins = vm_cnt.pageins;
	for (uint64_t p = 0; p < n; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	assert_int_equal(vm_cnt.faults_major - major, n);
	assert_int_equal(vm_cnt.pageins - pageins, n);

	/* NORMAL forgets it: in order again, read-ahead is back */
	assert_int_equal(vm_map_advise(&w.map, w.va, n * PAGE_SIZE, VM_ADVICE_NORMAL), 0);
	assert_int_equal(vm_object_advice(w.obj, 0), VM_ADVICE_NORMAL);
	ws_drop(&w);
	major = vm_cnt.faults_major;
	for (uint64_t p = 0; p < n; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	assert_true((vm_cnt.faults_major - major) * 4 <= n);

	/* SEQUENTIAL: the pages far behind the reader go to the cache queue */
	ws_drop(&w);
	assert_int_equal(vm_map_advise(&w.map, w.va, ADV_PAGES * PAGE_SIZE, VM_ADVICE_SEQUENTIAL),
			 0);
	major = vm_cnt.faults_major;
	for (uint64_t p = 0; p < ADV_PAGES / 2; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	assert_true((vm_cnt.faults_major - major) * 8 <= ADV_PAGES / 2);
	for (uint64_t p = 0; p < ADV_PAGES / 4; p++) {
		struct vm_page *behind = vm_object_page_lookup(w.obj, p);
		assert_true(behind == NULL || behind->queue == VM_Q_CACHE);
	}
	assert_int_equal(vm_map_advise(&w.map, w.va, ADV_PAGES * PAGE_SIZE, VM_ADVICE_NORMAL), 0);

	/* WILLNEED: read now, and the touches that follow fault in memory */
	ws_drop(&w);
	pageins = vm_cnt.pageins;
	major = vm_cnt.faults_major;
	assert_int_equal(vm_map_advise(&w.map, w.va, n * PAGE_SIZE, VM_ADVICE_WILLNEED), 0);
	assert_int_equal(vm_cnt.pageins - pageins, n);
	assert_int_equal(ws_resident(&w, 0, n + 1), n);
	for (uint64_t p = 0; p < n; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	assert_int_equal(vm_cnt.faults_major, major);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/*
 * The file_map bench's walk (p -> 5p + 15, every page once) over pages in
 * swap while most of memory is free: pages read around a fault are all
 * used sooner or later, so the window opens wide, half of it behind the
 * fault, and no page is read twice (38 faults for 512 pages; 72 with the
 * window after the fault alone, 115 when it grew by one page a time).
 */
static void test_read_around_walk(void **state)
{
	struct ws w;
	const uint64_t n = ADV_PAGES / 4;

	swap_open();
	ws_start(&w, n);
	for (uint64_t p = 0; p < n; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	assert_int_equal(vm_map_advise(&w.map, w.va, n * PAGE_SIZE, VM_ADVICE_DONTNEED), 0);
	uint64_t major = vm_cnt.faults_major, pageins = vm_cnt.pageins;
	for (uint64_t i = 0, p = 0; i < n; i++, p = (5 * p + 15) % n)
		assert_int_equal(ws_touch(&w, p, false), 0);
	printf("# walk over %llu pages with memory free: %llu faults, %llu pages read\n",
	       (unsigned long long)n, (unsigned long long)(vm_cnt.faults_major - major),
	       (unsigned long long)(vm_cnt.pageins - pageins));
	assert_int_equal(vm_cnt.pageins - pageins, n);
	assert_true((vm_cnt.faults_major - major) * 10 <= n);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	expect_pages_back();
}

/* Without swap, DONTNEED keeps what it cannot write: no byte is lost. */
static void test_dontneed_without_swap(void **state)
{
	struct ws w;
	const uint64_t n = 64;

	ws_start(&w, n);
	for (uint64_t p = 0; p < n; p++)
		assert_int_equal(ws_touch(&w, p, true), 0);
	assert_int_equal(vm_map_advise(&w.map, w.va, n * PAGE_SIZE, VM_ADVICE_DONTNEED), 0);
	assert_int_equal(ws_resident(&w, 0, n), n);
	for (uint64_t p = 0; p < n; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	check_all(&w);
	ws_close(&w);
	expect_pages_back();
}

/*
 * The ranges an object remembers: set, overlapped, split by NORMAL, looked
 * up through a shadow, capped, and forgotten when the pages are given back.
 */
static void test_advice_ranges(void **state)
{
	struct vm_object *obj = vm_object_allocate(1024 * PAGE_SIZE);

	assert_int_equal(vm_object_set_advice(obj, 10, 20, VM_ADVICE_RANDOM), 0);
	assert_int_equal(vm_object_set_advice(obj, 15, 30, VM_ADVICE_SEQUENTIAL), 0);
	assert_int_equal(vm_object_set_advice(obj, 12, 13, VM_ADVICE_NORMAL), 0);
	const enum vm_advice want[32] = {[10] = VM_ADVICE_RANDOM, [11] = VM_ADVICE_RANDOM,
					 [13] = VM_ADVICE_RANDOM, [14] = VM_ADVICE_RANDOM,
					 [15 ... 29] = VM_ADVICE_SEQUENTIAL};
	for (uint64_t p = 0; p < 32; p++)
		assert_int_equal(vm_object_advice(obj, p), want[p]);
	assert_int_equal(obj->nadvice, 3);
	vm_object_reference(obj);
	struct vm_object *shadow = vm_object_shadow(obj);
	assert_non_null(shadow);
	assert_int_equal(vm_object_advice(shadow, 20), VM_ADVICE_SEQUENTIAL);
	assert_int_equal(vm_object_set_advice(shadow, 0, 1024, VM_ADVICE_RANDOM), 0);
	assert_int_equal(vm_object_advice(shadow, 20), VM_ADVICE_RANDOM);
	vm_object_deallocate(shadow);
	/* one range in every other page until the cap */
	int err = 0;
	for (uint64_t p = 100; err == 0; p += 2)
		err = vm_object_set_advice(obj, p, p + 1, VM_ADVICE_RANDOM);
	assert_int_equal(err, -ENOMEM);
	assert_int_equal(obj->nadvice, VM_ADVICE_RANGES);
	vm_object_page_remove_range(obj, 0, 1024);
	assert_int_equal(obj->nadvice, 0);
	assert_null(obj->advice);
	vm_object_deallocate(obj);
}

/* The kernel's low-memory hook (core/main.c): empty slabs go back. */
static void low_memory_slab_reclaim(void)
{
	slab_reclaim();
}

/*
 * Issue 16, item 0: a kernel allocation (slab_alloc -> kmem_alloc_pages ->
 * vm_page_alloc_contig) that finds memory and the cache queue empty, runs
 * the low-memory hook, and then gets a page the hook freed.  That page is
 * free, not a cache page: it must not go to the reclaim hook, which only
 * detaches cache pages from their objects.
 */
static void test_kernel_alloc_after_low_memory(void **state)
{
	static struct slab_cache kept, wanted;
	struct vm_page **held = calloc(RAM / PAGE_SIZE, sizeof(*held));
	/* enough objects that, with the magazine's share of them still held,
	 * at least two slabs go empty */
	void *obj[(3 + SLAB_MAGAZINE) * (PAGE_SIZE / 1024)];
	unsigned nobj = 0;
	uint64_t n = 0;

	slab_cache_init(&kept, "kept", 1024, 0);
	slab_cache_init(&wanted, "wanted", 1024, 0);
	/* slabs that go empty stay with their cache until a reclaim */
	while (nobj < ARRAY_SIZE(obj) && kept.slabs < 3 + SLAB_MAGAZINE / (PAGE_SIZE / 1024)) {
		obj[nobj] = slab_alloc(&kept);
		assert_non_null(obj[nobj]);
		nobj++;
	}
	nobj--;
	slab_free(&kept, obj[nobj], 0);
	while (nobj > 0) {
		nobj--;
		slab_free(&kept, obj[nobj], 0);
	}
	/* at least one empty slab whose page the hook can give back */
	assert_true(kept.nempty >= 1);
	assert_int_equal(vm_page_available_count() - vm_page_free_count(), 0);
	while ((held[n] = vm_page_alloc(0)) != NULL)
		n++;
	vm_page_set_hooks(vm_pageout_reclaim, low_memory_slab_reclaim);
	void *o = slab_alloc(&wanted);
	vm_page_set_hooks(vm_pageout_reclaim, NULL);
	assert_non_null(o);
	assert_int_equal(kept.nempty, 0);
	vm_page_check();
	slab_free(&wanted, o, 0);
	slab_cache_destroy(&wanted);
	slab_cache_destroy(&kept);
	while (n > 0)
		vm_page_free(held[--n]);
	free(held);
	expect_pages_back();
}

/* A page-out whose device stopped with the pages (-EBUSY): a late
 * completion may still read them, so they are never used again (the free
 * count ends short by exactly them), while copies keep their data. */
static void test_swap_device_keeps_written_pages(void **state)
{
	struct ws w;

	swap_open();
	ws_start(&w, WS_PAGES);
	sw.keep_next_write = true;
	sw.kept = 0;
	for (uint64_t p = 0; p < WS_PAGES; p++) {
		int err = ws_touch(&w, p, true);
		if (err != 0) { /* the failed page-out freed nothing this time */
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(ws_touch(&w, p, true), 0);
		}
	}
	assert_true(sw.kept >= 1);
	for (uint64_t p = 0; p < WS_PAGES; p++)
		assert_int_equal(ws_touch(&w, p, false), 0);
	check_all(&w);
	ws_close(&w);
	swap_shutdown();
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start - sw.kept);
	free_at_start -= sw.kept; /* those pages are the device's for good */
}

/* No swap: anonymous memory beyond RAM ends in -ENOMEM, promptly, and the
 * memory comes back when the map goes. */
static void test_out_of_memory_without_swap(void **state)
{
	struct ws w;
	uint64_t p;
	int err = 0;

	ws_start(&w, WS_PAGES);
	uint64_t oom = vm_cnt.oom;
	for (p = 0; p < WS_PAGES && err == 0; p++)
		err = ws_touch(&w, p, true);
	assert_int_equal(err, -ENOMEM);
	assert_true(p < RAM / PAGE_SIZE);
	assert_true(vm_cnt.oom > oom);
	check_all(&w);
	/* the app ran out, the kernel did not: its reserve is still there */
	struct vm_page *kernel[64];
	unsigned nk = (unsigned)MIN(vm_wm.min, ARRAY_SIZE(kernel));
	for (unsigned i = 0; i < nk; i++)
		assert_non_null(kernel[i] = vm_page_alloc(0));
	while (nk > 0)
		vm_page_free(kernel[--nk]);
	for (uint64_t q = 0; q + 1 < p; q++) /* what was written is intact */
		assert_int_equal(ws_touch(&w, q, false), 0);
	ws_close(&w);
	expect_pages_back();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_working_set),
		cmocka_unit_test(test_swap_device_failures),
		cmocka_unit_test(test_swap_device_keeps_pages),
		cmocka_unit_test(test_swap_device_keeps_written_pages),
		cmocka_unit_test(test_out_of_memory_without_swap),
		cmocka_unit_test(test_kernel_alloc_after_low_memory),
		cmocka_unit_test(test_rewrite_frees_swap_copy),
		cmocka_unit_test(test_tight_swap),
		cmocka_unit_test(test_kernel_store_survives_pageout),
		cmocka_unit_test(test_cow_chains_under_pageout),
		cmocka_unit_test(test_modified_while_written),
		cmocka_unit_test(test_replacement_loop),
		cmocka_unit_test(test_replacement_hot_set_and_scan),
		cmocka_unit_test(test_read_around_adapts),
		cmocka_unit_test(test_replacement_zipf),
		cmocka_unit_test(test_advice),
		cmocka_unit_test(test_dontneed_without_swap),
		cmocka_unit_test(test_read_around_walk),
		cmocka_unit_test(test_advice_ranges),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
