/*
 * Maps, objects and faults on the software MMU (test/sim/pmap_sim.c):
 * the API and its errors, demand zero and partial windows through
 * simulated accesses, and a randomised model of map operations with
 * vm_map_check after every step and every page returned at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/mm/slab.h"
#include "core/mm/vm_map.h"
#include "test/host/env_host.h"
#include "test/sim/pmap_sim.h"

#define BASE 0x40000000ull
#define SPAN (1ull << 30)

static uint64_t free_at_start;

static int setup(void **state)
{
	pmap_sim_init(64u << 20);
	free_at_start = vm_page_free_count();
	return 0;
}

static void expect_pages_back(void)
{
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start);
}

/* A fresh map over [BASE, BASE + SPAN) on its own pmap. */
static struct pmap *map_open(struct vm_map *map)
{
	struct pmap *pmap;

	assert_int_equal(pmap_create(&pmap), 0);
	assert_int_equal(vm_map_init(map, pmap, BASE, SPAN), 0);
	return pmap;
}

/* Checks the map is empty and whole, tears it down, and expects every page back. */
static void map_close(struct vm_map *map, struct pmap *pmap)
{
	vm_map_check(map);
	assert_int_equal(map->entries.count, 0);
	assert_int_equal(pmap_sim_count(pmap), 0);
	buddy_destroy(&map->space);
	pmap_destroy(pmap);
	expect_pages_back();
}

static void test_api_and_errors(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	struct vm_map_entry e;
	vaddr_t a, b;

	pmap = map_open(&map);
	assert_int_equal(vm_map_allocate_space(&map, 0, &a), -EINVAL);
	assert_int_equal(vm_map_allocate_space(&map, 3 * PAGE_SIZE, &a), 0);
	assert_int_equal(vm_map_lookup(&map, a + 2 * PAGE_SIZE, &e), 0);
	assert_int_equal(e.kind, VM_ENTRY_SPACE);
	assert_int_equal(vm_map_lookup(&map, a + 3 * PAGE_SIZE, &e), -ENOENT);
	assert_int_equal(vm_map_lookup(&map, BASE - 1, &e), -ERANGE);
	assert_int_equal(vm_fault(&map, a, VM_PROT_READ, false), -EFAULT);
	assert_int_equal(vm_map_reserve_space(&map, a, PAGE_SIZE), -EBUSY);
	assert_int_equal(vm_map_reserve_space(&map, a + 1, PAGE_SIZE), -EINVAL);
	assert_int_equal(vm_map_free(&map, a + PAGE_SIZE), -ENOENT);
	assert_int_equal(vm_map_unreserve_space(&map, a, 3 * PAGE_SIZE), -ENOENT);
	/* out of space */
	assert_int_equal(vm_map_allocate_space(&map, 2 * SPAN, &b), -ENOMEM);

	struct vm_object *obj = vm_object_allocate(8 * PAGE_SIZE);
	assert_int_equal(vm_map_insert_object(&map, obj, 4 * PAGE_SIZE, 5 * PAGE_SIZE, VM_PROT_RW, 0, &b),
			 -EINVAL);
	assert_int_equal(vm_map_insert_object(&map, obj, PAGE_SIZE + 1, PAGE_SIZE, VM_PROT_RW, 0, &b),
			 -EINVAL);
	assert_int_equal(vm_map_insert_object(&map, obj, 4 * PAGE_SIZE, 4 * PAGE_SIZE, VM_PROT_READ,
					      MAP_ENTRY_USER, &b),
			 0);
	/* the window starts at object page 4: b + 1 page is object page 5 */
	uint64_t v = 0;
	assert_int_equal(pmap_sim_read(&map, b + PAGE_SIZE + 8, &v, 8), 0);
	assert_int_equal(v, 0);
	assert_non_null(vm_object_page_lookup(obj, 5));
	assert_int_equal(pmap_sim_write(&map, b, &v, 8), -EACCES);
	assert_int_equal(pmap_sim_access(&map, b, VM_PROT_READ, true), 0);
	assert_int_equal(pmap_sim_access(&map, a, VM_PROT_READ, true), -EFAULT);
	/* the same object writable elsewhere: both windows see one page */
	vaddr_t c = BASE + SPAN / 2;
	assert_int_equal(vm_map_insert_object_at(&map, c, obj, 0, 8 * PAGE_SIZE, VM_PROT_RW, 0), 0);
	uint64_t pat = 0x1122334455667788ull;
	assert_int_equal(pmap_sim_write(&map, c + 5 * PAGE_SIZE + 8, &pat, 8), 0);
	assert_int_equal(pmap_sim_read(&map, b + PAGE_SIZE + 8, &v, 8), 0);
	assert_int_equal(v, pat);
	vm_object_deallocate(obj);
	vm_map_check(&map);
	assert_int_equal(vm_map_free(&map, b), 0);
	assert_int_equal(vm_map_free(&map, c), 0);
	assert_int_equal(vm_map_free(&map, a), 0);
	assert_int_equal(vm_map_allocate(&map, 4 * PAGE_SIZE, VM_PROT_RW, &a), 0);
	assert_int_equal(pmap_sim_count(pmap), 4);
	assert_int_equal(vm_map_free(&map, a), 0);
	assert_int_equal(pmap_sim_count(pmap), 0);
	map_close(&map, pmap);
}

static void test_out_of_pages(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	vaddr_t a;

	pmap = map_open(&map);
	/* more than all of simulated RAM, wired: fails and leaves nothing behind */
	assert_int_equal(vm_map_allocate(&map, 128u << 20, VM_PROT_RW, &a), -ENOMEM);
	assert_int_equal(pmap_sim_count(pmap), 0);
	map_close(&map, pmap);
}

/*
 * A treap as deep as it can be: pages inserted in index order from the
 * highest priority down hang in one path, far deeper than a lookup's spot
 * holds.  Lookups, inserts at stale or unkept spots, removals and the
 * last deallocate all work on it without recursion (a kernel stack would
 * not hold one frame per level).
 */
static void test_treap_degenerate(void **state)
{
	enum { PAGES = 2000 };
	struct vm_object *obj = vm_object_allocate((PAGES + 1) * PAGE_SIZE);
	struct vm_page *pg[PAGES];
	struct vm_object_spot spot;

	assert_non_null(obj);
	for (unsigned i = 0; i < PAGES; i++)
		assert_non_null(pg[i] = vm_page_alloc(0));
	/* highest priority first: each page is a child of the one before */
	for (unsigned i = 1; i < PAGES; i++)
		for (unsigned j = i; j > 0 && vm_object_priority(vm_page_index(pg[j])) >
					      vm_object_priority(vm_page_index(pg[j - 1])); j--) {
			struct vm_page *t = pg[j];
			pg[j] = pg[j - 1];
			pg[j - 1] = t;
		}
	for (unsigned i = 0; i < PAGES; i++) {
		assert_null(vm_object_page_find(obj, i, &spot));
		vm_object_page_insert_spot(obj, pg[i], i, &spot);
	}
	vm_object_check(obj);
	assert_ptr_equal(vm_object_page_lookup(obj, PAGES - 1), pg[PAGES - 1]);
	assert_null(vm_object_page_find(obj, PAGES, &spot));
	assert_null(spot.obj); /* too deep to keep */
	struct vm_page *m = vm_page_alloc(0);
	vm_object_page_insert_spot(obj, m, PAGES, &spot);
	vm_object_check(obj);
	for (unsigned i = 0; i < PAGES; i += 2) {
		vm_object_page_remove(obj, pg[i]);
		vm_page_free(pg[i]);
	}
	vm_object_check(obj);
	for (unsigned i = 1; i < PAGES; i += 2)
		assert_ptr_equal(vm_object_page_lookup(obj, i), pg[i]);
	vm_object_deallocate(obj);
	expect_pages_back();
}

/*
 * The object's treap under random inserts and removals, each insert at
 * the spot of a lookup made earlier: sometimes still good, sometimes
 * made stale by changes in between (a fault whose page allocation ran
 * the scanner), always checked against a model.
 */
static void test_treap_spots(void **state)
{
	enum { PAGES = 512, SPOTS = 4 };
	struct vm_object *obj = vm_object_allocate(PAGES * PAGE_SIZE);
	struct vm_page *model[PAGES] = {0};
	struct vm_object_spot spot[SPOTS];
	uint64_t spot_at[SPOTS], seed = 7;

	assert_non_null(obj);
	for (unsigned i = 0; i < SPOTS; i++) {
		spot_at[i] = i;
		assert_null(vm_object_page_find(obj, i, &spot[i]));
	}
	for (unsigned step = 0; step < 20000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned k = (unsigned)(seed >> 60) % SPOTS;
		uint64_t p = (seed >> 33) % PAGES;
		if (model[p] != NULL) {
			vm_object_page_remove(obj, model[p]);
			vm_page_free(model[p]);
			model[p] = NULL;
		} else if (model[spot_at[k]] == NULL) {
			struct vm_page *m = vm_page_alloc(0);
			assert_non_null(m);
			vm_object_page_insert_spot(obj, m, spot_at[k], &spot[k]);
			model[spot_at[k]] = m;
		}
		spot_at[k] = p;
		assert_ptr_equal(vm_object_page_find(obj, p, &spot[k]), model[p]);
		if (step % 64 == 0) {
			vm_object_check(obj);
			for (uint64_t i = 0; i < PAGES; i++)
				assert_ptr_equal(vm_object_page_lookup(obj, i), model[i]);
		}
	}
	vm_object_check(obj);
	vm_object_deallocate(obj);
	expect_pages_back();
}

/* The model: entries as intervals; object entries remember a tag per page written. */
struct model_entry {
	vaddr_t start, end;
	enum vm_entry_kind kind;
	struct vm_object *obj;
	vm_offset_t offset;
};

static struct model_entry model[512];
static unsigned nmodel;

static int model_find(vaddr_t va)
{
	for (unsigned i = 0; i < nmodel; i++)
		if (va >= model[i].start && va < model[i].end)
			return (int)i;
	return -1;
}

static bool model_free(vaddr_t start, vaddr_t end)
{
	for (unsigned i = 0; i < nmodel; i++)
		if (start < model[i].end && model[i].start < end)
			return false;
	return start >= BASE && end <= BASE + SPAN;
}

static void test_random_model(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	unsigned seed = 5, steps = getenv("PHOBOS_STRESS") ? 1000000 : 20000;

	srand(seed);
	printf("# vm_map random model: seed %u, %u steps\n", seed, steps);
	pmap = map_open(&map);
	nmodel = 0;
	for (unsigned step = 0; step < steps; step++) {
		int op = rand() % 10;
		vm_size_t size = (vm_size_t)(1 + rand() % 32) * PAGE_SIZE;
		vaddr_t at = BASE + (vaddr_t)(rand() % (SPAN / PAGE_SIZE)) * PAGE_SIZE;
		vaddr_t got;
		if (op < 2 && nmodel < 512) {
			assert_int_equal(vm_map_allocate_space(&map, size, &got), 0);
			assert_true(model_free(got, got + size));
			model[nmodel++] = (struct model_entry){got, got + size, VM_ENTRY_SPACE, NULL, 0};
		} else if (op < 4 && nmodel < 512) {
			vm_size_t osize = size + (vm_size_t)(rand() % 4) * PAGE_SIZE;
			vm_offset_t off = osize - size;
			struct vm_object *obj = vm_object_allocate(osize);
			bool fixed = rand() & 1;
			int r = fixed ? vm_map_insert_object_at(&map, at, obj, off, size, VM_PROT_RW, 0)
				      : vm_map_insert_object(&map, obj, off, size, VM_PROT_RW, 0, &got);
			if (fixed) {
				assert_int_equal(r, model_free(at, at + size) ? 0
						 : at + size > BASE + SPAN ? -ERANGE : -EBUSY);
				got = at;
			} else {
				assert_int_equal(r, 0);
				assert_true(model_free(got, got + size));
			}
			if (r == 0)
				model[nmodel++] = (struct model_entry){got, got + size, VM_ENTRY_OBJECT, obj, off};
			vm_object_deallocate(obj);
		} else if (op < 5 && nmodel < 512) {
			int r = vm_map_reserve_space(&map, at, size);
			bool ok = model_free(at, at + size);
			assert_int_equal(r, ok ? 0 : at + size > BASE + SPAN ? -ERANGE : -EBUSY);
			if (ok)
				model[nmodel++] = (struct model_entry){at, at + size, VM_ENTRY_RESERVED, NULL, 0};
		} else if (op < 7 && nmodel > 0) {
			unsigned i = (unsigned)rand() % nmodel;
			if (model[i].kind == VM_ENTRY_RESERVED) {
				assert_int_equal(vm_map_free(&map, model[i].start), -ENOENT);
				assert_int_equal(vm_map_unreserve_space(&map, model[i].start,
									model[i].end - model[i].start), 0);
			} else {
				assert_int_equal(vm_map_free(&map, model[i].start), 0);
			}
			model[i] = model[--nmodel];
		} else if (op < 9) {
			/* touch a random page: object entries give data, others fail */
			int i = model_find(at);
			uint64_t tag = at * 3, v = 0;
			int r = pmap_sim_write(&map, at, &tag, 8);
			if (i >= 0 && model[i].kind == VM_ENTRY_OBJECT) {
				assert_int_equal(r, 0);
				assert_int_equal(pmap_sim_read(&map, at, &v, 8), 0);
				assert_int_equal(v, tag);
			} else {
				assert_int_equal(r, -EFAULT);
			}
		} else {
			struct vm_map_entry e;
			int i = model_find(at);
			int r = vm_map_lookup(&map, at, &e);
			if (i < 0) {
				assert_int_equal(r, -ENOENT);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(e.start, model[i].start);
				assert_int_equal(e.end, model[i].end);
				assert_int_equal(e.kind, model[i].kind);
				assert_int_equal(e.offset, model[i].offset);
			}
		}
		vm_map_check(&map);
	}
	while (nmodel > 0) {
		nmodel--;
		if (model[nmodel].kind == VM_ENTRY_RESERVED)
			assert_int_equal(vm_map_unreserve_space(&map, model[nmodel].start,
								model[nmodel].end - model[nmodel].start), 0);
		else
			assert_int_equal(vm_map_free(&map, model[nmodel].start), 0);
	}
	map_close(&map, pmap);
}

/* An anonymous mapping of n pages whose page i holds 100 + i. */
static vaddr_t map_tagged(struct vm_map *map, uint64_t n)
{
	struct vm_object *obj = vm_object_allocate(n * PAGE_SIZE);
	vaddr_t a;

	assert_int_equal(vm_map_insert_object(map, obj, 0, n * PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	vm_object_deallocate(obj);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t tag = 100 + i;
		assert_int_equal(pmap_sim_write(map, a + i * PAGE_SIZE, &tag, 8), 0);
	}
	return a;
}

static void test_cow_chains(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	vaddr_t a, b, c;
	uint64_t v, tag;

	pmap = map_open(&map);
	a = map_tagged(&map, 8);
	assert_int_equal(vm_map_copy_entry(&map, a, &map, &b), 0);
	assert_int_equal(vm_map_copy_entry(&map, a + PAGE_SIZE, &map, &c), -ENOENT);
	uint64_t free_before = vm_page_free_count();
	assert_int_equal(pmap_sim_read(&map, b + 2 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 102);
	assert_int_equal(vm_page_free_count(), free_before); /* a read shares */
	tag = 7;
	assert_int_equal(pmap_sim_write(&map, b + 2 * PAGE_SIZE, &tag, 8), 0);
	assert_int_equal(vm_page_free_count(), free_before - 1); /* a write copies */
	assert_int_equal(pmap_sim_read(&map, a + 2 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 102);
	/* forks of a whose copies die keep a's chain short */
	for (int round = 0; round < 20; round++) {
		assert_int_equal(vm_map_copy_entry(&map, a, &map, &c), 0);
		assert_int_equal(vm_map_free(&map, c), 0);
		tag = 500 + (uint64_t)round;
		assert_int_equal(pmap_sim_write(&map, a + 4 * PAGE_SIZE, &tag, 8), 0);
		struct vm_map_entry e;
		assert_int_equal(vm_map_lookup(&map, a, &e), 0);
		assert_true(vm_object_chain_length(e.object) <= 3);
		vm_map_check(&map);
	}
	assert_int_equal(vm_map_free(&map, b), 0);
	tag = 1;
	assert_int_equal(pmap_sim_write(&map, a + 6 * PAGE_SIZE, &tag, 8), 0);
	struct vm_map_entry e;
	assert_int_equal(vm_map_lookup(&map, a, &e), 0);
	assert_int_equal(vm_object_chain_length(e.object), 1);
	for (uint64_t i = 0; i < 8; i++) {
		assert_int_equal(pmap_sim_read(&map, a + i * PAGE_SIZE, &v, 8), 0);
		assert_int_equal(v, i == 4 ? 519 : i == 6 ? 1 : 100 + i);
	}
	assert_int_equal(vm_map_free(&map, a), 0);
	map_close(&map, pmap);
}

/* A pager over a memory store: page i holds i * 1000 in its first word
 * when present; counts calls and fails on demand. */
struct test_pager {
	struct vm_pager pager;
	uint64_t present_mask; /* bit i: the store has page i */
	int has_calls, get_calls;
	bool fail;
	bool vanished;   /* get_pages finds no data after all: -ENOENT */
	unsigned after;  /* read-around has_page offers, holes or not */
};

static int tp_has(struct vm_pager *p, uint64_t pindex, unsigned *after)
{
	struct test_pager *t = (struct test_pager *)p;
	t->has_calls++;
	*after = t->after;
	return (t->present_mask >> pindex) & 1;
}

/* Pages the store does not hold read as zeros, as a pager must give them. */
static int tp_get(struct vm_pager *p, struct vm_page **pages, unsigned n, uint64_t pindex)
{
	struct test_pager *t = (struct test_pager *)p;
	t->get_calls++;
	if (t->fail)
		return -EIO;
	if (t->vanished)
		return -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		uint64_t *w = pmap_phys_to_virt(vm_page_phys(pages[i]));
		memset(w, 0, PAGE_SIZE);
		if ((t->present_mask >> (pindex + i)) & 1)
			w[0] = (pindex + i) * 1000;
	}
	return 0;
}

static const struct vm_pager_ops tp_ops = {.name = "test", .has_page = tp_has, .get_pages = tp_get};

static void test_pager_paths(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	struct test_pager tp = {{&tp_ops, NULL}, 0x5 << 2, 0, 0, false, false, 0}; /* store pages 2 and 4 */
	vaddr_t a, b;
	uint64_t v;

	pmap = map_open(&map);
	struct vm_object *obj = vm_object_allocate(8 * PAGE_SIZE);
	obj->pager = &tp.pager;
	obj->pager_offset = 1; /* object page i is store page i + 1 */
	assert_int_equal(vm_map_insert_object(&map, obj, 0, 8 * PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	assert_int_equal(pmap_sim_read(&map, a + 1 * PAGE_SIZE, &v, 8), 0); /* store page 2 */
	assert_int_equal(v, 2000);
	assert_int_equal(tp.get_calls, 1);
	assert_int_equal(pmap_sim_read(&map, a + 1 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(tp.get_calls, 1); /* resident now */
	assert_int_equal(pmap_sim_read(&map, a + 2 * PAGE_SIZE, &v, 8), 0); /* store page 3: none */
	assert_int_equal(v, 0);
	assert_int_equal(tp.get_calls, 1);
	tp.fail = true;
	assert_int_equal(pmap_sim_read(&map, a + 3 * PAGE_SIZE, &v, 8), -EIO); /* store page 4 */
	assert_null(vm_object_page_lookup(obj, 3));
	tp.fail = false;
	/* a private copy reads through to the pager and copies on write */
	assert_int_equal(vm_map_copy_entry(&map, a, &map, &b), 0);
	assert_int_equal(pmap_sim_read(&map, b + 3 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 4000);
	uint64_t tag = 9;
	assert_int_equal(pmap_sim_write(&map, b + 3 * PAGE_SIZE, &tag, 8), 0);
	assert_int_equal(pmap_sim_read(&map, a + 3 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 4000);
	vm_object_deallocate(obj);
	assert_int_equal(vm_map_free(&map, a), 0);
	assert_int_equal(vm_map_free(&map, b), 0);
	map_close(&map, pmap);
}

/*
 * A pager of a shadow object that has no data for an index after all
 * (-ENOENT), or zero-fills holes in the read-around it offered: the
 * backing object's data shows through, never zeros.
 */
static void test_shadow_pager_holes(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	struct test_pager tp = {{&tp_ops, NULL}, 0x2, 0, 0, false, false, 3}; /* page 1 */
	struct vm_map_entry e;
	vaddr_t a, b;
	uint64_t v;

	pmap = map_open(&map);
	a = map_tagged(&map, 8);
	assert_int_equal(vm_map_copy_entry(&map, a, &map, &b), 0);
	assert_int_equal(vm_map_lookup(&map, b, &e), 0);
	e.object->pager = &tp.pager; /* the copy's own store holds page 1 */
	assert_int_equal(pmap_sim_read(&map, b + 1 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 1000);
	for (uint64_t i = 2; i < 5; i++) { /* offered as read-around, not held */
		assert_int_equal(pmap_sim_read(&map, b + i * PAGE_SIZE, &v, 8), 0);
		assert_int_equal(v, 100 + i);
	}
	tp.present_mask = 0x20; /* page 5, which vanishes before it is read */
	tp.vanished = true;
	assert_int_equal(pmap_sim_read(&map, b + 5 * PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 105);
	vm_map_check(&map);
	assert_int_equal(vm_map_free(&map, b), 0);
	assert_int_equal(vm_map_free(&map, a), 0);
	map_close(&map, pmap);
}

static jmp_buf panic_jmp;

static void on_panic(const char *why)
{
	longjmp(panic_jmp, 1);
}

/*
 * Page I/O completes before the call that started it returns, so a fault
 * that meets a busy page re-entered that I/O: a bug to stop at, not a
 * state to retry (with one CPU no retry can see it end).
 */
static void test_busy_page_fault_panics(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	struct vm_map_entry e;
	vaddr_t a;
	uint64_t v = 1;

	pmap = map_open(&map);
	struct vm_object *obj = vm_object_allocate(2 * PAGE_SIZE);
	assert_int_equal(vm_map_insert_object(&map, obj, 0, 2 * PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	vm_object_deallocate(obj);
	assert_int_equal(pmap_sim_write(&map, a, &v, 8), 0);
	assert_int_equal(vm_map_lookup(&map, a, &e), 0);
	struct vm_page *m = vm_object_page_lookup(e.object, 0);
	pmap_page_remove_all(m);
	m->flags |= VM_PAGE_BUSY;
	volatile bool panicked = false;
	env_host_panic_hook = on_panic;
	if (setjmp(panic_jmp) == 0)
		pmap_sim_read(&map, a, &v, 8);
	else
		panicked = true;
	env_host_panic_hook = NULL;
	pmap_sim_after_panic();
	assert_true(panicked);
	m->flags &= (uint16_t)~VM_PAGE_BUSY;
	/* the stopped fault asked no pager, so it held no reference */
	assert_int_equal(vm_map_free(&map, a), 0);
	map_close(&map, pmap);
}

static void test_submaps(void **state)
{
	struct vm_map map, *sub, *sub2;
	struct pmap *pmap;
	struct vm_map_entry e;
	vaddr_t at = BASE + 64 * PAGE_SIZE, any = 0, a;
	uint64_t v = 0x77;

	pmap = map_open(&map);
	assert_int_equal(vm_map_create_submap(&map, &at, 32 * PAGE_SIZE, true, &sub), 0);
	assert_int_equal(at, BASE + 64 * PAGE_SIZE);
	assert_int_equal(vm_map_create_submap(&map, &any, 1u << 20, false, &sub2), 0);
	assert_int_equal(vm_map_create_submap(&map, &at, PAGE_SIZE, true, &sub2), -EBUSY);
	/* allocations in a submap stay inside it */
	assert_int_equal(vm_map_allocate_space(sub, 8 * PAGE_SIZE, &a), 0);
	assert_true(a >= sub->start && a + 8 * PAGE_SIZE <= sub->end);
	assert_int_equal(vm_map_allocate_space(sub, 64 * PAGE_SIZE, &a), -ENOMEM);
	struct vm_object *obj = vm_object_allocate(4 * PAGE_SIZE);
	assert_int_equal(vm_map_insert_object(sub, obj, 0, 4 * PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	vm_object_deallocate(obj);
	/* the parent's lookup and faults reach into the submap */
	assert_int_equal(vm_map_lookup(&map, a + PAGE_SIZE, &e), 0);
	assert_int_equal(e.kind, VM_ENTRY_OBJECT);
	assert_int_equal(e.start, a);
	assert_int_equal(pmap_sim_write(&map, a + PAGE_SIZE, &v, 8), 0);
	v = 0;
	assert_int_equal(pmap_sim_read(sub, a + PAGE_SIZE, &v, 8), 0);
	assert_int_equal(v, 0x77);
	vm_map_check(&map);
	assert_int_equal(vm_map_free(&map, sub->start), -EBUSY);
	assert_int_equal(vm_map_remove_submap(&map, sub), -EBUSY);
	assert_int_equal(vm_map_free(sub, a), 0);
	struct vm_map_entry inner;
	assert_int_equal(vm_map_lookup(&map, sub->start, &inner), 0); /* the space entry */
	assert_int_equal(vm_map_free(sub, inner.start), 0);
	assert_int_equal(vm_map_remove_submap(&map, sub), 0);
	assert_int_equal(vm_map_remove_submap(&map, sub2), 0);
	map_close(&map, pmap);
}

static void test_reverse_map(void **state)
{
	struct vm_map map;
	struct pmap *pmap;
	vaddr_t a, b;
	uint64_t v = 5;

	pmap = map_open(&map);
	struct vm_object *obj = vm_object_allocate(PAGE_SIZE);
	assert_int_equal(vm_map_insert_object(&map, obj, 0, PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	assert_int_equal(pmap_sim_write(&map, a, &v, 8), 0);
	struct vm_page *m = vm_object_page_lookup(obj, 0);
	assert_non_null(m);
	assert_int_equal(pmap_page_mapcount(m), 1);
	assert_true(pmap_is_referenced(m) && pmap_is_modified(m));
	pmap_clear_reference(m);
	pmap_clear_modify(m);
	assert_false(pmap_is_referenced(m) || pmap_is_modified(m));
	assert_int_equal(pmap_sim_read(&map, a, &v, 8), 0);
	assert_true(pmap_is_referenced(m) && !pmap_is_modified(m));
	assert_int_equal(vm_map_insert_object(&map, obj, 0, PAGE_SIZE, VM_PROT_RW, 0, &b), 0);
	assert_int_equal(pmap_sim_read(&map, b, &v, 8), 0);
	assert_int_equal(pmap_page_mapcount(m), 2);
	pmap_page_protect_ro(m);
	assert_int_equal(pmap_sim_access(&map, a, VM_PROT_READ, false), 0);
	pmap_page_remove_all(m);
	assert_int_equal(pmap_page_mapcount(m), 0);
	assert_int_equal(pmap_sim_read(&map, b, &v, 8), 0); /* faults back in */
	assert_int_equal(v, 5);
	vm_object_deallocate(obj);
	assert_int_equal(vm_map_free(&map, a), 0);
	assert_int_equal(vm_map_free(&map, b), 0);
	map_close(&map, pmap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_and_errors),
		cmocka_unit_test(test_out_of_pages),
		cmocka_unit_test(test_cow_chains),
		cmocka_unit_test(test_pager_paths),
		cmocka_unit_test(test_shadow_pager_holes),
		cmocka_unit_test(test_busy_page_fault_panics),
		cmocka_unit_test(test_submaps),
		cmocka_unit_test(test_reverse_map),
		cmocka_unit_test(test_treap_spots),
		cmocka_unit_test(test_treap_degenerate),
		cmocka_unit_test(test_random_model),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
