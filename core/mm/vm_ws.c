/*
 * Working sets larger than memory, in the kernel map: the swap_ws
 * self-test (selftest=swap_ws, on request: it wants a mem= cap and a swap
 * partition), the swap_ws benchmark, and the replacement benchmark (a
 * loop and a Zipf reference string, traced for test/bench/trace_replay).
 *
 * An anonymous, pageable object several times the managed memory is
 * written whole, then touched at random (half writes of a new version of
 * the whole page, half reads checked word by word), then read whole once
 * more.  Pages are faulted in by explicit vm_fault calls before they are
 * touched, so that running out of memory is an error this code reports
 * (-ENOMEM, exit code 1), not a kernel fault that would have to panic.
 */
#include "core/kbench.h"
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

/* Twice the managed memory, random touches at three times its size. */
KBENCH_DEFINE(swap_ws, KBENCH_ON_REQUEST)
{
	struct vm_stats st;
	struct vm_ws w;

	vm_page_stats(&st);
	int err = vm_ws_open(&w, 2 * st.total);
	if (err < 0)
		return err;
	for (uint64_t p = 0; p < w.pages && err == 0; p++)
		err = vm_ws_touch(&w, p, true);
	struct vm_counters before = vm_cnt;
	uint64_t touches = 3 * w.pages, start = clock_us();
	for (uint64_t t = 0; t < touches && err == 0; t++) {
		uint64_t r = vm_ws_rand(&w);
		err = vm_ws_touch(&w, r % w.pages, (r >> 24) & 1);
	}
	uint64_t us = clock_us() - start;
	vm_ws_close(&w);
	if (err < 0)
		return err;
	kbench_result("swap_ws", "touches_per_s", us ? touches * 1000000ull * 1000 / us : 0, "1/s");
	kbench_result("swap_ws", "pageins", (vm_cnt.pageins - before.pageins) * 1000, "pages");
	kbench_result("swap_ws", "pageouts", (vm_cnt.pageouts - before.pageouts) * 1000, "pages");
	kbench_result("swap_ws", "bad_pages", w.bad * 1000, "pages");
	return 0;
}

/* 2^40 / (rank + 1), summed: Zipf with exponent 1, in integers. */
static uint64_t *vm_ws_zipf_table(uint64_t n)
{
	uint64_t *cum = mm_malloc(n * sizeof(*cum)), sum = 0;

	for (uint64_t i = 0; cum != NULL && i < n; i++)
		cum[i] = sum += (1ull << 40) / (i + 1);
	return cum;
}

/* A page drawn from the Zipf table: the first rank whose sum passes r. */
static uint64_t vm_ws_zipf_draw(struct vm_ws *w, const uint64_t *cum)
{
	uint64_t r = (vm_ws_rand(w) << 31 ^ vm_ws_rand(w)) % cum[w->pages - 1], lo = 0,
		 hi = w->pages - 1;

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if (cum[mid] > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * One traced workload over `pages` pages: `loop` walks them in order
 * `refs` times over, else draws Zipf ranks.  The trace gets the references
 * and, at the end, the most pages the object ever held: the frames the
 * replay gives LRU and OPT.
 */
static int vm_ws_replacement(const char *name, uint64_t pages, uint64_t refs, bool loop)
{
	struct vm_ws w;
	uint64_t frames = 0, major = vm_cnt.faults_major, pageins = vm_cnt.pageins, *cum = NULL;
	int err = vm_ws_open(&w, pages);

	if (err < 0)
		return err;
	if (!loop && (cum = vm_ws_zipf_table(pages)) == NULL)
		err = -ENOMEM;
	vm_trace_record(VM_TRACE_BEGIN, w.obj->id, pages);
	for (uint64_t t = 0; t < refs && err == 0; t++) {
		err = vm_ws_touch(&w, loop ? t % pages : vm_ws_zipf_draw(&w, cum), true);
		frames = MAX(frames, w.obj->resident);
	}
	vm_trace_record(VM_TRACE_FRAMES, w.obj->id, frames);
	mm_mfree(cum);
	vm_ws_close(&w);
	if (err < 0)
		return err;
	kprintf("# replacement %s: %llu pages, %llu references, %llu frames\n", name,
		(unsigned long long)pages, (unsigned long long)refs, (unsigned long long)frames);
	kbench_result(name, "major_faults", (vm_cnt.faults_major - major) * 1000, "faults");
	/* read-ahead brings several pages per fault: the pages read are what
	 * compares with a replay's misses */
	kbench_result(name, "pages_read", (vm_cnt.pageins - pageins) * 1000, "pages");
	return 0;
}

/* Needs trace=1 (the replay works on the trace) and a mem= cap that makes
 * the working sets larger than memory. */
KBENCH_DEFINE(replacement, KBENCH_ON_REQUEST)
{
	uint64_t avail = vm_page_available_count();

	if (!vm_trace_on)
		return -EINVAL;
	int err = vm_ws_replacement("replacement_loop", avail * 5 / 4, avail * 5 / 4 * 4, true);
	if (err == 0)
		err = vm_ws_replacement("replacement_zipf", avail * 2, avail * 24, false);
	return err;
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
