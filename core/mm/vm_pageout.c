/*
 * vm_pageout: see vm_pageout.h.  The scanner works on the queues of
 * vm_page and cleans through vm_pager; every loop is bounded by the queue
 * lengths at its start, so a scan ends even when nothing can be freed.
 */
#include "core/mm/kmem.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_pageout.h"
#include "core/mm/vm_trace.h"

#define VM_GHOSTS_MAX (1u << 17) /* ring and hash fit one 4 MiB kmem block */
#define VM_GHOST_NONE UINT32_MAX

struct vm_counters vm_cnt;
struct vm_watermarks vm_wm;

static struct vm_pager *(*vm_pageout_anon_pager)(void);

/* One evicted test-period page; obj 0 marks a slot whose ghost was
 * faulted again (object ids start at 1). */
struct vm_ghost {
	uint64_t pindex;
	uint64_t born;    /* vm_hot_hand_moves when it was evicted */
	uint64_t evicted; /* vm_cnt.reclaimed then */
	uint32_t obj;
	uint32_t next; /* hash chain */
};

/* (g) the ghosts, oldest first from head, and a hash over them. */
static struct {
	struct vm_ghost *ring;
	uint32_t *hash;
	uint32_t size, nhash, head, count;
} vm_ghosts;

/* (g) CLOCK-Pro's cold target, in pages, and its bounds. */
static uint64_t vm_cold_target, vm_cold_min, vm_cold_max;
/* (g) hot pages the hot hand looked at so far: a ghost's test period lasts
 * while the hand has not gone once round the hot pages since it was made,
 * so a refault inside it has a reuse distance shorter than their recency */
static uint64_t vm_hot_hand_moves;

static void vm_pageout_cold_adjust(bool grow)
{
	if (grow && vm_cold_target < vm_cold_max)
		vm_cold_target++;
	else if (!grow && vm_cold_target > vm_cold_min)
		vm_cold_target--;
}

/* Fibonacci hashing of the pair: the top bits of the product. */
static uint32_t *vm_ghost_bucket(uint32_t obj, uint64_t pindex)
{
	uint64_t h = (pindex ^ (uint64_t)obj << 40) * 0x9e3779b97f4a7c15ull;

	return &vm_ghosts.hash[h >> (64 - __builtin_ctz(vm_ghosts.nhash))];
}

static void vm_ghost_unlink(uint32_t i)
{
	uint32_t *link = vm_ghost_bucket(vm_ghosts.ring[i].obj, vm_ghosts.ring[i].pindex);

	while (*link != i)
		link = &vm_ghosts.ring[*link].next;
	*link = vm_ghosts.ring[i].next;
	vm_ghosts.ring[i].obj = 0;
}

/* m leaves memory in its test period: a ghost, the oldest one expiring
 * (its test period over, unused: the cold target shrinks). */
static void vm_ghost_add(const struct vm_page *m)
{
	if (vm_ghosts.size == 0)
		return;
	if (vm_ghosts.count == vm_ghosts.size) {
		if (vm_ghosts.ring[vm_ghosts.head].obj != 0) {
			vm_ghost_unlink(vm_ghosts.head);
			vm_pageout_cold_adjust(false);
		}
		vm_ghosts.head = (vm_ghosts.head + 1) % vm_ghosts.size;
		vm_ghosts.count--;
	}
	uint32_t i = (vm_ghosts.head + vm_ghosts.count++) % vm_ghosts.size;
	uint32_t *b = vm_ghost_bucket(m->object->id, m->pindex);
	vm_ghosts.ring[i] =
		(struct vm_ghost){m->pindex, vm_hot_hand_moves, vm_cnt.reclaimed, m->object->id, *b};
	*b = i;
}

/* Whether (obj, pindex) was a ghost still in its test period; it is a
 * ghost no more either way (one found past its period counts as expired
 * unused).  The period ends when the hot hand has gone round the hot
 * pages, or when more pages were evicted after it than the cold target:
 * a cold region grown by one page at a time would not have kept it (a
 * loop over more than memory refaults every page that way, and must not
 * grow the cold pages at the hot ones' expense). */
static bool vm_ghost_take(const struct vm_object *obj, uint64_t pindex)
{
	if (vm_ghosts.size == 0)
		return false;
	for (uint32_t i = *vm_ghost_bucket(obj->id, pindex); i != VM_GHOST_NONE;
	     i = vm_ghosts.ring[i].next)
		if (vm_ghosts.ring[i].obj == obj->id && vm_ghosts.ring[i].pindex == pindex) {
			uint64_t age = vm_hot_hand_moves - vm_ghosts.ring[i].born;
			uint64_t after = vm_cnt.reclaimed - vm_ghosts.ring[i].evicted;
			vm_ghost_unlink(i);
			if (age <= vm_page_queued(VM_Q_ACTIVE) && after <= vm_cold_target)
				return true;
			vm_pageout_cold_adjust(false);
			return false;
		}
	return false;
}

void vm_pageout_reclaim(struct vm_page *m)
{
	struct vm_object *obj = m->object;

	KASSERT(obj != NULL && !(m->flags & (VM_PAGE_BUSY | VM_PAGE_DIRTY)));
	if (m->flags & VM_PAGE_TEST)
		vm_ghost_add(m);
	vm_object_page_remove(obj, m);
	vm_cnt.reclaimed++;
}

/* Whether the hot pages fill less than the frames less the cold target:
 * while memory is not yet full of hot pages, new ones come in hot. */
static bool vm_pageout_hot_room(void)
{
	return vm_cold_target < vm_page_queued(VM_Q_INACTIVE) + vm_page_queued(VM_Q_CACHE) +
				 vm_page_queued(VM_Q_FREE);
}

void vm_pageout_page_in(struct vm_page *m, bool accessed)
{
	/* read-around too: the refault shows the reuse distance either way */
	if (vm_ghost_take(m->object, m->pindex)) {
		vm_pageout_cold_adjust(true);
		vm_page_activate(m);
		return;
	}
	if (accessed)
		vm_pageout_page_new(m);
	else /* read-around has shown no use yet: its test period starts
	      * when the cold hand finds it referenced */
		vm_page_deactivate(m);
}

void vm_pageout_page_new(struct vm_page *m)
{
	if (vm_pageout_hot_room()) {
		vm_page_activate(m);
		return;
	}
	m->flags |= VM_PAGE_TEST | VM_PAGE_YOUNG;
	vm_page_deactivate(m);
}

void vm_pageout_cache_hit(struct vm_page *m)
{
	vm_cnt.cache_hits++;
	if (m->flags & VM_PAGE_TEST) { /* faulted again within its test period */
		m->flags &= (uint16_t)~VM_PAGE_TEST;
		vm_pageout_cold_adjust(true);
		vm_page_activate(m);
		return;
	}
	m->flags |= VM_PAGE_TEST | VM_PAGE_YOUNG;
	vm_page_deactivate(m);
}

/* The ghosts' memory, from kmem, as many as memory has pages up to
 * VM_GHOSTS_MAX; without it replacement runs without ghosts. */
static void vm_pageout_ghosts_init(uint64_t pages)
{
	uint32_t size = (uint32_t)MIN(pages, (uint64_t)VM_GHOSTS_MAX), nhash = 2;

	while (nhash < size)
		nhash *= 2;
	size_t bytes = size * sizeof(struct vm_ghost) + nhash * sizeof(uint32_t);
	void *mem = kmem_alloc_pages(ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE);
	if (mem == NULL) {
		log_error("vm_pageout: no memory for %u ghost entries: replacement keeps no history",
			  size);
		return;
	}
	vm_ghosts.ring = mem;
	vm_ghosts.hash = (uint32_t *)(vm_ghosts.ring + size);
	memset(vm_ghosts.hash, 0xff, nhash * sizeof(uint32_t)); /* VM_GHOST_NONE */
	vm_ghosts.size = size;
	vm_ghosts.nhash = nhash;
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
	/* the cold pages: at least twice what a scan frees (the free and
	 * cache pages count among them, the rest must be there to take), at
	 * most three quarters of memory */
	vm_cold_min = vm_wm.target;
	vm_cold_max = MAX(st.total * 3 / 4, vm_cold_min);
	vm_cold_target = vm_cold_min;
	vm_pageout_ghosts_init(st.total);
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

/* Unmaps a clean page and puts it on the cache queue; a page read around
 * a fault and never used narrows its object's read-around. */
static void vm_pageout_to_cache(struct vm_page *m)
{
	if (m->flags & VM_PAGE_AROUND) {
		m->flags &= (uint16_t)~VM_PAGE_AROUND;
		vm_object_around_wasted(m->object);
	}
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
		if ((m->flags & (VM_PAGE_TEST | VM_PAGE_YOUNG)) == VM_PAGE_TEST) {
			/* used again within its test period: hot */
			m->flags &= (uint16_t)~VM_PAGE_TEST;
			vm_pageout_cold_adjust(true);
			vm_page_activate(m);
			vm_cnt.reactivated++;
		} else {
			m->flags = (uint16_t)((m->flags | VM_PAGE_TEST) & ~VM_PAGE_YOUNG);
			vm_page_deactivate(m);
		}
		return 0;
	}
	m->flags &= (uint16_t)~VM_PAGE_YOUNG;
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

/*
 * A hot page's use count: up by VM_USES_ADVANCE when the hot hand finds it
 * referenced, down by one when not, and the page turns cold only at 0, so
 * it stays hot while it is referenced in more than a quarter of the hand's
 * passes.  The hand passes faster than it would at a half (one up, one
 * down), so a page's count rests on more passes in the same time, which
 * tells a page used a little less often than the hot ones from them: on a
 * Zipf(1) draw over twice the frames the kernel reads 1.20 times what A0
 * misses at one up and a count of 7, 1.19 at three up and 15, 1.21 at one
 * up and 3, 1.25 without a count.  At 15 a page no longer used is cold
 * after 15 passes at most.
 */
#define VM_USES_ADVANCE 3
#define VM_USES_MAX (VM_PAGE_USES >> VM_PAGE_USES_SHIFT)

static void vm_pageout_uses_set(struct vm_page *m, unsigned uses)
{
	m->flags = (uint16_t)((m->flags & ~VM_PAGE_USES) | uses << VM_PAGE_USES_SHIFT);
}

/* The hot hand: referenced hot pages lose their bit and add to their use
 * count, unreferenced ones spend one of it, and those with none left turn
 * cold (no test period), until the hot pages are down to `keep` or
 * `budget` pages were looked at. */
static void vm_pageout_age_active(uint64_t budget, uint64_t keep)
{
	for (; budget > 0; budget--) {
		struct vm_page *m = vm_page_queue_first(VM_Q_ACTIVE);
		if (m == NULL || vm_page_queued(VM_Q_ACTIVE) <= keep)
			return;
		vm_cnt.scanned++;
		vm_hot_hand_moves++;
		unsigned uses = (m->flags & VM_PAGE_USES) >> VM_PAGE_USES_SHIFT;
		if (vm_pageout_cleanable(m) && pmap_is_referenced(m)) {
			pmap_clear_reference(m);
			vm_pageout_uses_set(m, MIN(uses + VM_USES_ADVANCE, VM_USES_MAX));
			vm_page_activate(m);
		} else if (uses > 0) {
			vm_pageout_uses_set(m, uses - 1);
			vm_page_activate(m);
		} else {
			m->flags &= (uint16_t)~(VM_PAGE_TEST | VM_PAGE_YOUNG);
			vm_page_deactivate(m);
			vm_cnt.deactivated++;
			/* the oldest hot page went: cold pages younger than it
			 * and not used again ended their test period */
			vm_pageout_cold_adjust(false);
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
	/* the hot pages down to the frames less the cold target: the frames
	 * are the pageable pages and those free or cached for them */
	vm_page_stats(&st);
	uint64_t frames = st.queued[VM_Q_ACTIVE] + st.queued[VM_Q_INACTIVE] +
			  st.queued[VM_Q_CACHE] + st.free;
	vm_pageout_age_active(st.queued[VM_Q_ACTIVE], frames - MIN(vm_cold_target, frames));
	/* every cold page is looked at once at most per pass: the first pass
	 * takes the faulting accesses' references away, the second finds
	 * what is cold now, and only then does the hot hand go round the hot
	 * pages for the third, turning cold what is still missing */
	for (int pass = 0; pass < 3 && made < want; pass++) {
		vm_page_stats(&st);
		/* a page's use count holds it hot for up to VM_USES_MAX + 1
		 * unreferenced passes after the one that takes its bit: the
		 * hand may go round that often before the pages are found */
		if (pass == 2)
			vm_pageout_age_active(st.queued[VM_Q_ACTIVE] * (VM_USES_MAX + 2),
					      st.queued[VM_Q_ACTIVE] -
						  MIN(st.queued[VM_Q_ACTIVE], want - made));
		for (uint64_t budget = st.queued[VM_Q_INACTIVE]; budget > 0 && made < want; budget--) {
			struct vm_page *m = vm_page_queue_first(VM_Q_INACTIVE);
			if (m == NULL)
				break;
			made += vm_pageout_inactive_page(m);
		}
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

void vm_pageout_behind(struct vm_object *obj, uint64_t first, uint64_t end)
{
	for (struct vm_page *m = vm_object_page_next(obj, first); m != NULL && m->pindex < end;
	     m = vm_object_page_next(obj, m->pindex + 1)) {
		if (!vm_pageout_cleanable(m) || m->queue == VM_Q_CACHE)
			continue;
		m->flags &= (uint16_t)~(VM_PAGE_TEST | VM_PAGE_YOUNG | VM_PAGE_USES);
		vm_pageout_to_cache(m);
	}
}

int vm_pageout_dontneed(struct vm_object *obj, uint64_t first, uint64_t end)
{
	struct vm_page *run[VM_PAGEOUT_CLUSTER], *m;
	int err = 0;

	for (uint64_t p = first; (m = vm_object_page_next(obj, p)) != NULL && m->pindex < end;) {
		p = m->pindex + 1;
		if (!vm_pageout_cleanable(m))
			continue;
		pmap_page_remove_all(m); /* a dirty mapping leaves VM_PAGE_DIRTY behind */
		if ((m->flags & VM_PAGE_DIRTY) && vm_pageout_has_store(obj)) {
			unsigned n = vm_pageout_cluster(m, run, false);
			int e = vm_pageout_write(obj, run, n);
			if (e < 0 && err == 0)
				err = e;
			/* a device that kept the page left a dirty copy in its place */
			m = vm_object_page_lookup(obj, p - 1);
		}
		if (m->flags & VM_PAGE_DIRTY)
			continue;
		vm_object_page_remove(obj, m);
		vm_page_dequeue(m);
		vm_page_free(m);
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
