/*
 * vm_pageout: see vm_pageout.h.  The scanner works on the queues of
 * vm_page and cleans through vm_pager; every loop is bounded by the queue
 * lengths at its start, so a scan ends even when nothing can be freed.
 */
#include "core/mm/pmap.h"
#include "core/mm/vm_pageout.h"
#include "core/mm/vm_trace.h"

struct vm_counters vm_cnt;
struct vm_watermarks vm_wm;

static struct vm_pager *(*vm_pageout_anon_pager)(void);

void vm_pageout_reclaim(struct vm_page *m)
{
	struct vm_object *obj = m->object;

	KASSERT(obj != NULL && !(m->flags & (VM_PAGE_BUSY | VM_PAGE_DIRTY)));
	vm_object_page_remove(obj, m);
	vm_cnt.reclaimed++;
}

void vm_pageout_init(struct vm_pager *(*anon_pager)(void))
{
	struct vm_stats st;

	vm_page_stats(&st);
	/* 1/128, 1/64 and 1/32 of memory: a few hundred KiB on a small
	 * machine, a few MiB on a large one, as FreeBSD scales its targets */
	vm_wm.min = MAX(st.total / 128, 16);
	vm_wm.low = MAX(st.total / 64, 2 * vm_wm.min);
	vm_wm.target = MAX(st.total / 32, 2 * vm_wm.low);
	vm_page_set_reserve(vm_wm.min);
	vm_pageout_anon_pager = anon_pager;
}

/* Folds the modified bits of every mapping into VM_PAGE_DIRTY.  A stale
 * swap copy is replaced by the page-out that follows: freeing it here, in
 * the middle of a scan, would cost the swap pager memory it may not have. */
static void vm_pageout_gather_dirty(struct vm_page *m)
{
	if (pmap_is_modified(m)) {
		m->flags |= VM_PAGE_DIRTY;
		pmap_clear_modify(m);
	}
}

/* A page that may be written out: in an object, neither busy nor wired. */
static bool vm_pageout_cleanable(const struct vm_page *m)
{
	return m != NULL && m->object != NULL && !(m->flags & VM_PAGE_BUSY) && m->wire_count == 0;
}

/* Gives an anonymous object a pager at its first page-out; false when it
 * has none and cannot get one (no swap, or out of memory). */
static bool vm_pageout_has_store(struct vm_object *obj)
{
	if (obj->pager != NULL)
		return true;
	if ((obj->flags & OBJ_FILE) || vm_pageout_anon_pager == NULL)
		return false;
	obj->pager = vm_pageout_anon_pager();
	obj->pager_offset = 0;
	return obj->pager != NULL;
}

/*
 * A device stopped with the run's pages in its hands and may still read
 * them: they leave obj for good (wired, on no queue, never freed), each
 * replaced by a dirty copy in run.  Without a page for the copy, the old
 * page stays in use (logged).
 */
static void vm_pageout_abandon(struct vm_object *obj, struct vm_page **run, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vm_page *old = run[i], *m = vm_page_alloc(0);
		if (m == NULL) {
			log_error("vm_pageout: no page to replace page %llu a stopped device holds",
				  (unsigned long long)old->pindex);
			continue;
		}
		uint64_t pindex = old->pindex;
		pmap_page_remove_all(old);
		pmap_copy_page(vm_page_phys(old), vm_page_phys(m));
		vm_object_page_remove(obj, old);
		vm_page_dequeue(old);
		vm_page_wire(old);
		m->flags |= VM_PAGE_DIRTY;
		vm_object_page_insert(obj, m, pindex);
		vm_page_activate(m);
		run[i] = m;
	}
}

/*
 * Writes the n busy, write-protected pages of run (consecutive indices of
 * obj) through its pager.  A page modified while it was written stays
 * dirty; the rest become clean.  0 or the pager's error (all stay dirty;
 * -EIO for a device that kept the pages, which run then no longer holds).
 */
static int vm_pageout_write(struct vm_object *obj, struct vm_page **run, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		run[i]->flags |= VM_PAGE_BUSY;
		pmap_page_protect_ro(run[i]);
		pmap_clear_modify(run[i]);
	}
	int err = vm_pager_put_pages(obj, run, n, run[0]->pindex);
	for (unsigned i = 0; i < n; i++) {
		run[i]->flags &= (uint16_t)~VM_PAGE_BUSY;
		if (err == 0 && !pmap_is_modified(run[i]))
			run[i]->flags &= (uint16_t)~VM_PAGE_DIRTY;
	}
	if (err < 0) {
		vm_cnt.pageout_errors++;
		log_error("vm_pageout: %s pager failed to write %u pages at %llu: %s",
			  obj->pager->ops->name, n, (unsigned long long)run[0]->pindex, err_name(err));
		if (err == -EBUSY) {
			vm_pageout_abandon(obj, run, n);
			err = -EIO;
		}
		return err;
	}
	vm_cnt.pageouts += n;
	for (unsigned i = 0; i < n; i++)
		vm_trace_record(VM_TRACE_OUT, obj->id, run[i]->pindex);
	return 0;
}

/* Collects the dirty, cleanable neighbours of m in its object around it
 * (at most VM_PAGEOUT_CLUSTER, m included); returns the run's length. */
static unsigned vm_pageout_cluster(struct vm_page *m, struct vm_page **run, bool inactive_only)
{
	struct vm_object *obj = m->object;
	uint64_t first = m->pindex, last = m->pindex;

	while (last - first + 1 < VM_PAGEOUT_CLUSTER && last + 1 < obj->size / PAGE_SIZE) {
		struct vm_page *n = vm_object_page_lookup(obj, last + 1);
		if (!vm_pageout_cleanable(n) || (inactive_only && n->queue != VM_Q_INACTIVE))
			break;
		vm_pageout_gather_dirty(n);
		if (!(n->flags & VM_PAGE_DIRTY))
			break;
		last++;
	}
	while (last - first + 1 < VM_PAGEOUT_CLUSTER && first > 0) {
		struct vm_page *p = vm_object_page_lookup(obj, first - 1);
		if (!vm_pageout_cleanable(p) || (inactive_only && p->queue != VM_Q_INACTIVE))
			break;
		vm_pageout_gather_dirty(p);
		if (!(p->flags & VM_PAGE_DIRTY))
			break;
		first--;
	}
	for (uint64_t i = first; i <= last; i++)
		run[i - first] = vm_object_page_lookup(obj, i);
	return (unsigned)(last - first + 1);
}

/* Unmaps a clean page and puts it on the cache queue. */
static void vm_pageout_to_cache(struct vm_page *m)
{
	pmap_page_remove_all(m); /* a dirty mapping leaves VM_PAGE_DIRTY behind */
	if (m->flags & VM_PAGE_DIRTY) { /* written since it was cleaned: keep it */
		vm_page_deactivate(m);
		return;
	}
	vm_page_cache(m);
	vm_cnt.cached++;
}

/* One inactive page: reactivated, cached, cleaned with its neighbours and
 * cached, or moved on; returns the pages it made available. */
static uint64_t vm_pageout_inactive_page(struct vm_page *m)
{
	struct vm_page *run[VM_PAGEOUT_CLUSTER];

	vm_cnt.scanned++;
	if (!vm_pageout_cleanable(m)) {
		vm_page_deactivate(m); /* to the tail: look again next time */
		return 0;
	}
	if (pmap_is_referenced(m)) {
		pmap_clear_reference(m);
		vm_page_activate(m);
		vm_cnt.reactivated++;
		return 0;
	}
	vm_pageout_gather_dirty(m);
	if (!(m->flags & VM_PAGE_DIRTY)) {
		vm_pageout_to_cache(m);
		return m->queue == VM_Q_CACHE;
	}
	if (!vm_pageout_has_store(m->object)) {
		vm_page_activate(m); /* nowhere to write it: out of the way */
		return 0;
	}
	unsigned n = vm_pageout_cluster(m, run, true);
	uint64_t made = 0;
	if (vm_pageout_write(m->object, run, n) < 0) {
		for (unsigned i = 0; i < n; i++)
			vm_page_activate(run[i]);
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		if (!(run[i]->flags & VM_PAGE_DIRTY)) {
			vm_pageout_to_cache(run[i]);
			made += run[i]->queue == VM_Q_CACHE;
		}
	return made;
}

/* Ages the active queue: unreferenced pages go inactive, referenced ones
 * lose their bit and go round again.  Looks at most at `budget` pages. */
static void vm_pageout_age_active(uint64_t budget)
{
	for (; budget > 0; budget--) {
		struct vm_page *m = vm_page_queue_first(VM_Q_ACTIVE);
		if (m == NULL)
			return;
		vm_cnt.scanned++;
		if (vm_pageout_cleanable(m) && pmap_is_referenced(m)) {
			pmap_clear_reference(m);
			vm_page_activate(m);
		} else {
			vm_page_deactivate(m);
			vm_cnt.deactivated++;
		}
	}
}

uint64_t vm_pageout_run(uint64_t want)
{
	static bool running;
	struct vm_stats st;
	uint64_t made = 0;

	/* A pager allocates (its maps, the kernel heap behind them, whose
	 * wired pages are faulted in): those allocations live on the pages
	 * above the low watermark and never start a scan of their own. */
	if (running)
		return 0;
	running = true;
	vm_page_stats(&st);
	/* keep about a third of the pageable pages inactive */
	uint64_t pageable = st.queued[VM_Q_ACTIVE] + st.queued[VM_Q_INACTIVE];
	if (st.queued[VM_Q_INACTIVE] < pageable / 3 + want)
		vm_pageout_age_active(MIN(st.queued[VM_Q_ACTIVE], pageable / 3 + want));
	/* every inactive page is looked at once at most, then once more after
	 * a second aging pass: referenced pages had their chance */
	for (int pass = 0; pass < 2 && made < want; pass++) {
		vm_page_stats(&st);
		for (uint64_t budget = st.queued[VM_Q_INACTIVE]; budget > 0 && made < want; budget--) {
			struct vm_page *m = vm_page_queue_first(VM_Q_INACTIVE);
			if (m == NULL)
				break;
			made += vm_pageout_inactive_page(m);
		}
		if (made < want && pass == 0)
			vm_pageout_age_active(st.queued[VM_Q_ACTIVE]);
	}
	running = false;
	return made;
}

void vm_pageout_check(void)
{
	uint64_t avail = vm_page_available_count();

	if (avail < vm_wm.low)
		vm_pageout_run(vm_wm.target - avail);
}

int vm_pageout_clean_object(struct vm_object *obj, uint64_t first, uint64_t n)
{
	struct vm_page *run[VM_PAGEOUT_CLUSTER];
	uint64_t end = first + n;
	int err = 0;

	if (obj->pager == NULL)
		return 0;
	for (struct vm_page *m = vm_object_page_next(obj, first); m != NULL && m->pindex < end;
	     m = vm_object_page_next(obj, m->pindex + 1)) {
		if (!vm_pageout_cleanable(m))
			continue;
		vm_pageout_gather_dirty(m);
		if (!(m->flags & VM_PAGE_DIRTY))
			continue;
		unsigned k = vm_pageout_cluster(m, run, false);
		int e = vm_pageout_write(obj, run, k);
		if (e < 0 && err == 0)
			err = e;
		m = run[k - 1];
	}
	return err;
}

void vm_pageout_report(void)
{
	log_info("vm: faults %llu major %llu minor (%llu from cache); pages in %llu out %llu; "
		 "scanned %llu, reactivated %llu, deactivated %llu, cached %llu, reclaimed %llu; "
		 "pageout errors %llu; out of memory %llu",
		 (unsigned long long)vm_cnt.faults_major, (unsigned long long)vm_cnt.faults_minor,
		 (unsigned long long)vm_cnt.cache_hits, (unsigned long long)vm_cnt.pageins,
		 (unsigned long long)vm_cnt.pageouts, (unsigned long long)vm_cnt.scanned,
		 (unsigned long long)vm_cnt.reactivated, (unsigned long long)vm_cnt.deactivated,
		 (unsigned long long)vm_cnt.cached, (unsigned long long)vm_cnt.reclaimed,
		 (unsigned long long)vm_cnt.pageout_errors, (unsigned long long)vm_cnt.oom);
}
