/*
 * Working sets larger than memory, in the kernel map: the swap_ws
 * self-test (selftest=swap_ws, on request: it wants a mem= cap and a swap
 * partition) and oom_panic.  The benchmarks of the same shapes run in
 * ring 3 (app/bench/swap_ws.c, replacement.c).
 *
 * An anonymous, pageable object several times the managed memory is
 * written whole, then touched at random (half writes of a new version of
 * the whole page, half reads checked word by word), then read whole once
 * more.  Pages are faulted in by explicit vm_fault calls before they are
 * touched, so that running out of memory is an error this code reports
 * (-ENOMEM, exit code 1), not a kernel fault that would have to panic.
 */
#include "core/ktest.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_pageout.h"
#include "core/mm/vm_trace.h"

struct vm_ws {
	struct vm_map *map;
	struct vm_object *obj; /* the map entry's; for its id and resident count */
	vaddr_t va;
	uint64_t pages;
	uint8_t *ver;      /* the version each page holds; 0: never written */
	uint64_t seed;
	uint64_t bad;      /* pages that did not hold what they should */
	int err;           /* the first fault error */
	vaddr_t err_va;
};

static uint64_t vm_ws_word(uint64_t p, uint8_t v, unsigned i)
{
	return v == 0 ? 0 : ((p << 8 | v) * 0x9e3779b97f4a7c15ull) ^ i;
}

/* Faults page p in for access unless it is mapped already. */
static int vm_ws_fault(struct vm_ws *w, uint64_t p, vm_prot_t access)
{
	vaddr_t a = w->va + p * PAGE_SIZE;
	paddr_t pa;

	if (pmap_extract(w->map->pmap, a, &pa))
		return 0;
	int err = vm_fault(w->map, a, access, false);
	if (err < 0 && w->err == 0) {
		w->err = err;
		w->err_va = a;
	}
	return err;
}

/* One touch of page p: a write of its next version or a checked read. */
static int vm_ws_touch(struct vm_ws *w, uint64_t p, bool write)
{
	int err = vm_ws_fault(w, p, write ? VM_PROT_RW : VM_PROT_READ);
	volatile uint64_t *words = (volatile uint64_t *)(w->va + p * PAGE_SIZE);

	if (err < 0)
		return err;
	vm_trace_record(VM_TRACE_REF, w->obj->id, p);
	if (write) {
		uint8_t v = (uint8_t)(w->ver[p] % 255 + 1);
		for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
			words[i] = vm_ws_word(p, v, i);
		w->ver[p] = v;
		return 0;
	}
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (words[i] != vm_ws_word(p, w->ver[p], i)) {
			w->bad++;
			break;
		}
	return 0;
}

static uint64_t vm_ws_rand(struct vm_ws *w)
{
	w->seed = w->seed * 6364136223846793005ull + 1442695040888963407ull;
	return w->seed >> 33;
}

static int vm_ws_open(struct vm_ws *w, uint64_t pages)
{
	memset(w, 0, sizeof(*w));
	w->map = vm_map_kernel();
	w->pages = pages;
	w->seed = 42;
	w->ver = mm_malloc(pages);
	struct vm_object *obj = vm_object_allocate(pages * PAGE_SIZE);
	int err = w->ver == NULL || obj == NULL ? -ENOMEM : 0;
	if (err == 0)
		err = vm_map_insert_object(w->map, obj, 0, pages * PAGE_SIZE, VM_PROT_RW, 0, &w->va);
	if (obj != NULL)
		vm_object_deallocate(obj); /* the entry holds it from here */
	w->obj = obj;
	if (err < 0)
		mm_mfree(w->ver);
	else
		memset(w->ver, 0, pages);
	return err;
}

static void vm_ws_close(struct vm_ws *w)
{
	vm_map_free(w->map, w->va);
	mm_mfree(w->ver);
}

/* Whole, then `touches` random touches, then whole again: the first error. */
static int vm_ws_run(struct vm_ws *w, uint64_t touches)
{
	int err = 0;

	for (uint64_t p = 0; p < w->pages && err == 0; p++)
		err = vm_ws_touch(w, p, true);
	for (uint64_t t = 0; t < touches && err == 0; t++) {
		uint64_t r = vm_ws_rand(w);
		err = vm_ws_touch(w, r % w->pages, (r >> 24) & 1);
	}
	for (uint64_t p = 0; p < w->pages && err == 0; p++)
		err = vm_ws_touch(w, p, false);
	return err;
}

/* Four times the managed memory: 256 MiB with mem=64M. */
KTEST_DEFINE(swap_ws, KTEST_ON_REQUEST)
{
	struct vm_stats st;
	struct vm_ws w;

	vm_page_stats(&st);
	struct vm_counters before = vm_cnt;
	int err = vm_ws_open(&w, 4 * st.total);
	KTEST_EQ(err, 0);
	if (err < 0)
		return;
	err = vm_ws_run(&w, w.pages);
	if (err < 0)
		ktest_fail(__FILE__, __LINE__, "swap_ws: fault at %llx: %s",
			   (unsigned long long)w.err_va, err_name(err));
	kprintf("# swap_ws: %llu pages, %llu bad, %llu paged out, %llu paged in\n",
		(unsigned long long)w.pages, (unsigned long long)w.bad,
		(unsigned long long)(vm_cnt.pageouts - before.pageouts),
		(unsigned long long)(vm_cnt.pageins - before.pageins));
	KTEST_EQ(w.bad, 0);
	KTEST_ASSERT(vm_cnt.pageouts > before.pageouts && vm_cnt.pageins > before.pageins);
	vm_ws_close(&w);
}

/* With swap=off: a kernel store that finds no page can only panic, and
 * its PANIC line must say why.  Never returns when it works. */
KTEST_DEFINE(oom_panic, KTEST_ON_REQUEST)
{
	struct vm_stats st;
	struct vm_ws w;

	vm_page_stats(&st);
	KTEST_EQ(vm_ws_open(&w, 2 * st.total), 0);
	for (uint64_t p = 0; p < w.pages; p++)
		*(volatile uint64_t *)(w.va + p * PAGE_SIZE) = p;
	ktest_fail(__FILE__, __LINE__, "%llu pages written in %llu pages of memory",
		   (unsigned long long)w.pages, (unsigned long long)st.total);
	vm_ws_close(&w);
}
