/*
 * swap_pager: see swap_pager.h.
 *
 * An object's map is a hash of blocks of SWAP_BLK_SLOTS consecutive page
 * indices (FreeBSD's swblk): memory follows the pages swapped out, not the
 * object's size, which for the heap object spans the whole user space.
 * Slot 0 is the header page, never a slot, so 0 in a block means "none".
 *
 * Memory is never allocated under swap_lock: an allocation may run the
 * low-memory hook, whose page-out may come back into this pager.  So the
 * buddy's descriptors come from a pool filled before the lock is taken,
 * and put_pages allocates the map blocks it may need beforehand.
 * Freeing a slot may need descriptors too (a run loses one slot from its
 * middle), and the callers of free_range cannot fail, so frees may draw on
 * the pool's last SWAP_DESC_RESERVE descriptors, which allocations never
 * touch.  Should even those run out, the slot stays allocated and is
 * counted as lost.
 */
#include "core/mm/buddy.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_page.h"

#define SWAP_BLK_SLOTS 32
#define SWAP_HASH_MIN 8 /* buckets; at least 2, or swap_bucket would shift by 64 */
#define SWAP_DESC_RESERVE 32 /* for frees only */
#define SWAP_DESC_PUT 64     /* held for a put_pages: about a full split of the buddy */
#define SWAP_DESC_POOL_MAX (2 * (SWAP_DESC_RESERVE + SWAP_DESC_PUT))
/* blocks a put_pages call spans: 64 indices from the last of a block reach 2 more */
#define SWAP_PUT_KEYS 3

struct swap_blk {
	struct swap_blk *next;	       /* (l) hash chain */
	uint64_t key;		       /* (l) first page index / SWAP_BLK_SLOTS */
	uint32_t count;		       /* (l) non-zero slots; a block is never empty */
	uint32_t slot[SWAP_BLK_SLOTS]; /* (l) 0: no slot */
};

struct swap_obj {
	struct vm_pager pager;
	struct swap_blk **hash;	      /* (l) nbuckets chains */
	uint64_t nbuckets;	      /* (l) a power of two */
	uint64_t nblks, nslots;	      /* (l) */
	struct swap_obj *next, *prev; /* (l) every live swap pager, for the checker */
};

/* A run of slots: n pages from index off of a put_pages call at slot first. */
struct swap_run {
	unsigned off, n;
	uint64_t first;
};

/* Memory a put_pages call may need under the lock, allocated before it. */
struct swap_spare {
	struct swap_blk *blk[SWAP_PUT_KEYS];
	struct swap_blk **hash; /* a table twice the object's, or NULL */
};

/* Consecutive slots queued for freeing, so that a run goes back in one piece. */
struct swap_freer {
	uint64_t first, n;
};

static struct irq_lock swap_lock = IRQ_LOCK_INIT("swap");

static struct {
	bool ready;
	bool freeing;	       /* (l) the pool's reserve may be used */
	struct swap_dev dev;   /* (c) */
	uint32_t last_page;    /* (c) */
	struct buddy slots;    /* (l) */
	void *pool;	       /* (l) descriptors, linked through their first word */
	unsigned npool;	       /* (l) */
	uint64_t inflight;     /* (l) slots allocated by put_pages calls not yet recorded */
	struct swap_obj *objs; /* (l) */
	struct swap_stats st;  /* (l) */
} swap;

static const struct vm_pager_ops swap_pager_ops;

/* Before swap_init completes nothing else runs here and there is no lock. */
static void *swap_desc_alloc(void *ctx __unused)
{
	if (!swap.ready)
		return mm_malloc(BUDDY_DESC_SIZE);
	if (swap.npool == 0 || (!swap.freeing && swap.npool <= SWAP_DESC_RESERVE))
		return NULL;
	void *d = swap.pool;
	swap.pool = *(void **)d;
	swap.npool--;
	return d;
}

static void swap_desc_free(void *ctx __unused, void *d)
{
	if (swap.npool >= SWAP_DESC_POOL_MAX) {
		mm_mfree(d);
		return;
	}
	*(void **)d = swap.pool;
	swap.pool = d;
	swap.npool++;
}

/* Tops the pool up to target descriptors, as far as memory allows. */
static void swap_pool_fill(unsigned target)
{
	irq_lock(&swap_lock);
	while (swap.npool < target) {
		irq_unlock(&swap_lock);
		void *d = mm_malloc(BUDDY_DESC_SIZE);
		irq_lock(&swap_lock);
		if (d == NULL)
			break;
		swap_desc_free(NULL, d);
	}
	irq_unlock(&swap_lock);
}

static const struct buddy_ops swap_buddy_ops = {swap_desc_alloc, swap_desc_free, NULL};

static struct swap_obj *swap_obj_of(struct vm_pager *pager)
{
	KASSERT(pager->ops == &swap_pager_ops);
	return container_of(pager, struct swap_obj, pager);
}

/* Fibonacci hashing: the top bits of key * 2^64/phi spread consecutive keys. */
static struct swap_blk **swap_bucket(struct swap_obj *so, uint64_t key)
{
	unsigned shift = 64 - (unsigned)__builtin_ctzll(so->nbuckets);

	return &so->hash[(key * 0x9e3779b97f4a7c15ull) >> shift];
}

static struct swap_blk *swap_blk_find(struct swap_obj *so, uint64_t key)
{
	struct swap_blk *blk = *swap_bucket(so, key);

	while (blk != NULL && blk->key != key)
		blk = blk->next;
	return blk;
}

/*
 * Doubles the table into sp's spare one when chains grow long; without a
 * spare they just stay long.  The old table goes to sp, to be freed after
 * the lock is dropped.
 */
static void swap_hash_grow(struct swap_obj *so, struct swap_spare *sp)
{
	struct swap_blk **old = so->hash, **hash = sp->hash;
	uint64_t n = so->nbuckets;

	if (so->nblks <= 2 * n || hash == NULL)
		return;
	memset(hash, 0, 2 * n * sizeof(*hash));
	sp->hash = old;
	so->hash = hash;
	so->nbuckets = 2 * n;
	for (uint64_t i = 0; i < n; i++) {
		for (struct swap_blk *blk = old[i], *next; blk != NULL; blk = next) {
			struct swap_blk **b = swap_bucket(so, blk->key);
			next = blk->next;
			blk->next = *b;
			*b = blk;
		}
	}
}

/* The block for key, made from a spare if there is none. */
static struct swap_blk *swap_blk_get(struct swap_obj *so, uint64_t key, struct swap_spare *sp)
{
	struct swap_blk *blk = swap_blk_find(so, key);
	unsigned i = 0;

	if (blk != NULL)
		return blk;
	while (i < SWAP_PUT_KEYS && sp->blk[i] == NULL)
		i++;
	KASSERT(i < SWAP_PUT_KEYS);
	blk = sp->blk[i];
	sp->blk[i] = NULL;
	memset(blk, 0, sizeof(*blk));
	blk->key = key;
	struct swap_blk **b = swap_bucket(so, key);
	blk->next = *b;
	*b = blk;
	so->nblks++;
	swap_hash_grow(so, sp);
	return blk;
}

static void swap_blk_drop(struct swap_obj *so, struct swap_blk *blk)
{
	struct swap_blk **p = swap_bucket(so, blk->key);

	KASSERT(blk->count == 0);
	while (*p != blk)
		p = &(*p)->next;
	*p = blk->next;
	so->nblks--;
	mm_mfree(blk);
}

static uint32_t swap_slot_of(struct swap_obj *so, uint64_t pindex)
{
	struct swap_blk *blk = swap_blk_find(so, pindex / SWAP_BLK_SLOTS);

	return blk != NULL ? blk->slot[pindex % SWAP_BLK_SLOTS] : 0;
}

/* Frees the queued run, allocation by allocation (a run may span several). */
static void swap_freer_flush(struct swap_freer *f)
{
	struct buddy_info info;

	while (f->n > 0) {
		buddy_lookup(&swap.slots, f->first, &info);
		KASSERT(info.state == BUDDY_ALLOCATED);
		uint64_t k = MIN(f->n, info.base + info.size - f->first);
		swap.freeing = true;
		int err = buddy_free_part(&swap.slots, f->first, k);
		swap.freeing = false;
		if (err < 0) {
			if (swap.st.slots_lost == 0)
				log_error(
				    "swap: no memory to free slots; they stay unused until reboot");
			swap.st.slots_lost += k;
		}
		f->first += k;
		f->n -= k;
	}
}

static void swap_freer_add(struct swap_freer *f, uint64_t slot)
{
	if (f->n > 0 && slot == f->first + f->n) {
		f->n++;
		return;
	}
	swap_freer_flush(f);
	f->first = slot;
	f->n = 1;
}

/* Clears blk's slots for indices [lo, hi] into f; drops blk if it empties. */
static void swap_blk_clear(struct swap_obj *so, struct swap_blk *blk, uint64_t lo, uint64_t hi,
			   struct swap_freer *f)
{
	uint64_t base = blk->key * SWAP_BLK_SLOTS;
	unsigned i0 = lo > base ? (unsigned)(lo - base) : 0;
	unsigned i1 = hi - base < SWAP_BLK_SLOTS ? (unsigned)(hi - base) : SWAP_BLK_SLOTS - 1;

	for (unsigned i = i0; i <= i1; i++) {
		if (blk->slot[i] == 0)
			continue;
		swap_freer_add(f, blk->slot[i]);
		blk->slot[i] = 0;
		blk->count--;
		so->nslots--;
	}
	if (blk->count == 0)
		swap_blk_drop(so, blk);
}

/* Clears indices [lo, hi], by lookup when the range is short, else by a walk. */
static void swap_clear(struct swap_obj *so, uint64_t lo, uint64_t hi)
{
	uint64_t k0 = lo / SWAP_BLK_SLOTS, k1 = hi / SWAP_BLK_SLOTS;
	struct swap_freer f = {0, 0};

	if (k1 - k0 < so->nblks) {
		for (uint64_t key = k0; key <= k1; key++) {
			struct swap_blk *blk = swap_blk_find(so, key);
			if (blk != NULL)
				swap_blk_clear(so, blk, lo, hi, &f);
		}
	} else {
		for (uint64_t i = 0; i < so->nbuckets; i++) {
			for (struct swap_blk *blk = so->hash[i], *next; blk != NULL; blk = next) {
				next = blk->next;
				if (blk->key >= k0 && blk->key <= k1)
					swap_blk_clear(so, blk, lo, hi, &f);
			}
		}
	}
	swap_freer_flush(&f);
}

static int swap_has_page(struct vm_pager *pager, uint64_t pindex, unsigned *after)
{
	struct swap_obj *so = swap_obj_of(pager);

	/* every zero-fill fault of an object that has ever paged out asks:
	 * most find no slot at all, and need neither the lock nor the hash
	 * (one CPU, and no interrupt handler changes slots, so the unlocked
	 * read sees the count the last pager call left) */
	if (so->nslots == 0)
		return 0;
	irq_lock(&swap_lock);
	uint32_t s = swap_slot_of(so, pindex);
	if (s != 0 && after != NULL) {
		unsigned k = 0;
		while (k < VM_PAGER_MAX_PAGES - 1 && pindex + 1 + k > pindex &&
		       swap_slot_of(so, pindex + 1 + k) == s + 1 + k)
			k++;
		*after = k;
	}
	irq_unlock(&swap_lock);
	return s != 0;
}

static void *swap_page_va(struct vm_page *m)
{
	return pmap_phys_to_virt(vm_page_phys(m));
}

/* One io call for pages[0, n) at slots [first, first + n). */
static int swap_io(bool write, struct vm_page **pages, unsigned n, uint64_t first)
{
	void *bufs[VM_PAGER_MAX_PAGES];

	KASSERT(n >= 1 && n <= VM_PAGER_MAX_PAGES);
	KASSERT(first >= 1 && first + n - 1 <= swap.last_page);
	for (unsigned i = 0; i < n; i++)
		bufs[i] = swap_page_va(pages[i]);
	int err = swap.dev.io(swap.dev.ctx, write, first, n, bufs);
	irq_lock(&swap_lock);
	if (err != 0)
		swap.st.io_errors++;
	else
		*(write ? &swap.st.pages_written : &swap.st.pages_read) += n;
	irq_unlock(&swap_lock);
	return err == -EBUSY ? -EBUSY : err != 0 ? -EIO : 0;
}

/*
 * Reads each run of pages whose slots are consecutive with one io call;
 * the indices' slots are looked up once, under the lock, and the caller's
 * busy pages keep them valid while the lock is dropped for I/O.
 */
static int swap_get_pages(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			  uint64_t pindex)
{
	struct swap_obj *so = swap_obj_of(pager);
	uint32_t slot[VM_PAGER_MAX_PAGES];

	KASSERT(n >= 1 && n <= VM_PAGER_MAX_PAGES);
	irq_lock(&swap_lock);
	for (unsigned i = 0; i < n; i++)
		slot[i] = swap_slot_of(so, pindex + i);
	irq_unlock(&swap_lock);
	if (slot[0] == 0)
		return -ENOENT;
	for (unsigned i = 0; i < n;) {
		if (slot[i] == 0) {
			pmap_zero_page(vm_page_phys(pages[i++]));
			continue;
		}
		unsigned k = 1;
		while (i + k < n && slot[i + k] == slot[i] + k)
			k++;
		int err = swap_io(false, pages + i, k, slot[i]);
		if (err < 0)
			return err;
		i += k;
	}
	return 0;
}

static void swap_runs_release(const struct swap_run *runs, unsigned nruns)
{
	struct swap_freer f = {0, 0};

	for (unsigned r = 0; r < nruns; r++)
		for (unsigned j = 0; j < runs[r].n; j++)
			swap_freer_add(&f, runs[r].first + j);
	swap_freer_flush(&f);
}

/*
 * Carves n slots into runs, each as long as the largest free block allows,
 * so a page-out stays in one piece whenever the area has room for it.
 */
static int swap_runs_alloc(unsigned n, struct swap_run *runs, unsigned *nruns)
{
	unsigned done = 0, k = 0;

	while (done < n) {
		uint64_t big = buddy_largest_free(&swap.slots), first;
		int err = big == 0 ? -ENOSPC : 0;
		uint64_t len = MIN((uint64_t)(n - done), big);
		if (err == 0)
			err = buddy_alloc(&swap.slots, len, 0, &first);
		if (err < 0) {
			swap_runs_release(runs, k);
			return err;
		}
		/* buddy blocks often follow each other: one run, one io call */
		if (k > 0 && runs[k - 1].first + runs[k - 1].n == first) {
			runs[k - 1].n += (unsigned)len;
		} else {
			runs[k].off = done;
			runs[k].n = (unsigned)len;
			runs[k].first = first;
			k++;
		}
		done += (unsigned)len;
	}
	*nruns = k;
	swap.inflight += n;
	return 0;
}

/* Records the written runs for [pindex, pindex + n), freeing the slots the
 * indices held before. */
static void swap_record(struct swap_obj *so, uint64_t pindex, unsigned n,
			const struct swap_run *runs, unsigned nruns, struct swap_spare *sp)
{
	struct swap_freer f = {0, 0};

	for (uint64_t key = pindex / SWAP_BLK_SLOTS; key <= (pindex + n - 1) / SWAP_BLK_SLOTS;
	     key++)
		swap_blk_get(so, key, sp);
	for (unsigned r = 0; r < nruns; r++) {
		for (unsigned j = 0; j < runs[r].n; j++) {
			uint64_t p = pindex + runs[r].off + j;
			struct swap_blk *blk = swap_blk_find(so, p / SWAP_BLK_SLOTS);
			uint32_t *s = &blk->slot[p % SWAP_BLK_SLOTS];
			if (*s != 0) {
				swap_freer_add(&f, *s);
			} else {
				blk->count++;
				so->nslots++;
			}
			*s = (uint32_t)(runs[r].first + j);
		}
	}
	swap_freer_flush(&f);
}

/* Allocates what swap_record may need: a block per key, a bigger table. */
static int swap_spare_get(struct swap_obj *so, uint64_t pindex, unsigned n, struct swap_spare *sp)
{
	unsigned keys = (unsigned)((pindex + n - 1) / SWAP_BLK_SLOTS - pindex / SWAP_BLK_SLOTS) + 1;

	memset(sp, 0, sizeof(*sp));
	irq_lock(&swap_lock);
	uint64_t grow = so->nblks + keys > 2 * so->nbuckets ? 2 * so->nbuckets : 0;
	irq_unlock(&swap_lock);
	if (grow != 0)
		sp->hash = mm_malloc(grow * sizeof(*sp->hash));
	for (unsigned i = 0; i < keys; i++) {
		sp->blk[i] = mm_malloc(sizeof(*sp->blk[i]));
		if (sp->blk[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void swap_spare_put(struct swap_spare *sp)
{
	for (unsigned i = 0; i < SWAP_PUT_KEYS; i++)
		mm_mfree(sp->blk[i]);
	mm_mfree(sp->hash);
}

static int swap_put_pages(struct vm_pager *pager, struct vm_page **pages, unsigned n,
			  uint64_t pindex)
{
	struct swap_obj *so = swap_obj_of(pager);
	struct swap_run runs[VM_PAGER_MAX_PAGES];
	struct swap_spare sp;
	unsigned nruns;

	KASSERT(n >= 1 && n <= VM_PAGER_MAX_PAGES);
	swap_pool_fill(SWAP_DESC_RESERVE + SWAP_DESC_PUT);
	int err = swap_spare_get(so, pindex, n, &sp);
	if (err == 0) {
		irq_lock(&swap_lock);
		err = swap_runs_alloc(n, runs, &nruns);
		/* the pages are newer than what their slots hold: when the area
		 * is short, those slots go first, so that a rewrite never needs
		 * room for both copies */
		if (err == -ENOSPC && so->nslots > 0) {
			swap_clear(so, pindex, pindex + n - 1);
			err = swap_runs_alloc(n, runs, &nruns);
		}
		irq_unlock(&swap_lock);
	}
	for (unsigned r = 0; err == 0 && r < nruns; r++) {
		err = swap_io(true, pages + runs[r].off, runs[r].n, runs[r].first);
		if (err < 0) {
			/* the slots that failed are retired: handing them out again
			 * would fail every later page-out that got them */
			irq_lock(&swap_lock);
			swap.inflight -= n;
			swap_runs_release(runs, r);
			swap_runs_release(runs + r + 1, nruns - r - 1);
			swap.st.slots_lost += runs[r].n;
			irq_unlock(&swap_lock);
			log_error("swap: slots %llu..%llu failed to write; retired",
				  (unsigned long long)runs[r].first,
				  (unsigned long long)(runs[r].first + runs[r].n - 1));
		}
	}
	if (err == 0) {
		irq_lock(&swap_lock);
		swap.inflight -= n;
		swap_record(so, pindex, n, runs, nruns, &sp);
		irq_unlock(&swap_lock);
	}
	swap_spare_put(&sp);
	return err;
}

static void swap_free_range(struct vm_pager *pager, uint64_t pindex, uint64_t n)
{
	struct swap_obj *so = swap_obj_of(pager);

	KASSERT(n > 0 && pindex + (n - 1) >= pindex);
	/* a free in the middle of a run splits it: without a refill here, a
	 * stream of rewrites between page-outs would drain the reserve */
	swap_pool_fill(SWAP_DESC_RESERVE + SWAP_DESC_PUT);
	irq_lock(&swap_lock);
	swap_clear(so, pindex, pindex + (n - 1));
	irq_unlock(&swap_lock);
}

/*
 * Moves src's block blk into dst (src == dst: frees only), slot by slot:
 * an index hides() names, or one dst holds already, loses its slot.  sp
 * holds a spare block for dst.  Drops blk from src once it is empty, and
 * says whether it did.
 */
static bool swap_blk_absorb(struct swap_obj *dst, struct swap_obj *src, struct swap_blk *blk,
			    bool (*hides)(void *ctx, uint64_t pindex), void *ctx,
			    struct swap_spare *sp)
{
	uint64_t base = blk->key * SWAP_BLK_SLOTS;
	struct swap_blk *to = NULL;
	struct swap_freer f = {0, 0};

	for (unsigned i = 0; i < SWAP_BLK_SLOTS; i++) {
		uint32_t s = blk->slot[i];
		if (s == 0)
			continue;
		bool keep = !hides(ctx, base + i) && (src == dst || swap_slot_of(dst, base + i) == 0);
		if (keep && src == dst)
			continue;
		blk->slot[i] = 0;
		blk->count--;
		src->nslots--;
		if (!keep) {
			swap_freer_add(&f, s);
			continue;
		}
		if (to == NULL)
			to = swap_blk_get(dst, blk->key, sp);
		to->slot[i] = s;
		to->count++;
		dst->nslots++;
	}
	swap_freer_flush(&f);
	if (blk->count != 0)
		return false;
	swap_blk_drop(src, blk);
	return true;
}

/* vm_pager absorb: a block at a time, with a spare block and the pool
 * filled before each, since nothing is allocated under the lock. */
static int swap_absorb(struct vm_pager *pager, struct vm_pager *from,
		       bool (*hides)(void *ctx, uint64_t pindex), void *ctx)
{
	struct swap_obj *dst = swap_obj_of(pager), *src = from != NULL ? swap_obj_of(from) : dst;
	uint64_t bucket = 0, pos = 0;

	for (;;) {
		struct swap_spare sp = {{NULL}, NULL};
		swap_pool_fill(SWAP_DESC_RESERVE + SWAP_DESC_PUT);
		if (src != dst && (sp.blk[0] = mm_malloc(sizeof(*sp.blk[0]))) == NULL)
			return -ENOMEM;
		irq_lock(&swap_lock);
		/* blocks that keep slots stay in their chain: pos skips them */
		struct swap_blk *blk = NULL;
		while (bucket < src->nbuckets) {
			blk = src->hash[bucket];
			for (uint64_t k = 0; blk != NULL && k < pos; k++)
				blk = blk->next;
			if (blk != NULL)
				break;
			bucket++;
			pos = 0;
		}
		if (blk == NULL) {
			irq_unlock(&swap_lock);
			swap_spare_put(&sp);
			return 0;
		}
		if (!swap_blk_absorb(dst, src, blk, hides, ctx, &sp))
			pos++;
		irq_unlock(&swap_lock);
		swap_spare_put(&sp);
	}
}

static void swap_dealloc(struct vm_pager *pager)
{
	struct swap_obj *so = swap_obj_of(pager);

	/* a block at a time, the pool refilled before each: the frees of a
	 * whole object split many runs, more than the reserve could cover */
	for (uint64_t i = 0;;) {
		swap_pool_fill(SWAP_DESC_RESERVE + SWAP_DESC_PUT);
		irq_lock(&swap_lock);
		while (i < so->nbuckets && so->hash[i] == NULL)
			i++;
		if (i == so->nbuckets)
			break;
		struct swap_freer f = {0, 0};
		swap_blk_clear(so, so->hash[i], 0, UINT64_MAX, &f);
		swap_freer_flush(&f);
		irq_unlock(&swap_lock);
	}
	KASSERT(so->nblks == 0 && so->nslots == 0);
	*(so->prev != NULL ? &so->prev->next : &swap.objs) = so->next;
	if (so->next != NULL)
		so->next->prev = so->prev;
	irq_unlock(&swap_lock);
	mm_mfree(so->hash);
	mm_mfree(so);
}

static const struct vm_pager_ops swap_pager_ops = {
    .name = "swap",
    .has_page = swap_has_page,
    .get_pages = swap_get_pages,
    .put_pages = swap_put_pages,
    .free_range = swap_free_range,
    .absorb = swap_absorb,
    .dealloc = swap_dealloc,
};

struct vm_pager *swap_pager_alloc(void)
{
	if (!swap_enabled())
		return NULL;
	struct swap_obj *so = mm_malloc(sizeof(*so));
	struct swap_blk **hash = mm_malloc(SWAP_HASH_MIN * sizeof(*hash));
	if (so == NULL || hash == NULL) {
		mm_mfree(so);
		mm_mfree(hash);
		return NULL;
	}
	memset(so, 0, sizeof(*so));
	memset(hash, 0, SWAP_HASH_MIN * sizeof(*hash));
	so->pager.ops = &swap_pager_ops;
	so->pager.priv = so;
	so->hash = hash;
	so->nbuckets = SWAP_HASH_MIN;
	irq_lock(&swap_lock);
	so->next = swap.objs;
	if (so->next != NULL)
		so->next->prev = so;
	swap.objs = so;
	irq_unlock(&swap_lock);
	return &so->pager;
}

static uint32_t swap_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Why the header is unusable for dev, written into why, or false if it is fine. */
static bool swap_header_bad(const struct swap_dev *dev, const uint8_t *h, char *why, size_t size)
{
	uint32_t version = swap_le32(h + SWAP_HEADER_INFO_OFF);
	uint32_t last = swap_le32(h + SWAP_HEADER_INFO_OFF + 4);
	uint32_t nbad = swap_le32(h + SWAP_HEADER_INFO_OFF + 8);

	if (memcmp(h + SWAP_HEADER_MAGIC_OFF, SWAP_HEADER_MAGIC, 10) != 0)
		ksnprintf(why, size, "no %s signature", SWAP_HEADER_MAGIC);
	else if (version != 1)
		ksnprintf(why, size, "header version %u, only 1 is known", version);
	else if (last < 1 || last >= dev->pages)
		ksnprintf(why, size, "last_page %u outside the partition of %llu pages", last,
			  (unsigned long long)dev->pages);
	else if (nbad > SWAP_HEADER_MAX_BAD)
		ksnprintf(why, size, "%u bad pages, the header holds at most %u", nbad,
			  (unsigned)SWAP_HEADER_MAX_BAD);
	else
		why[0] = '\0';
	for (uint32_t i = 0; why[0] == '\0' && i < nbad; i++) {
		uint32_t bad = swap_le32(h + SWAP_HEADER_BAD_OFF + 4 * i);
		if (bad < 1 || bad > last)
			ksnprintf(why, size, "bad page %u outside [1, %u]", bad, last);
	}
	return why[0] != '\0';
}

/*
 * The slot buddy over area pages [0, last_page]: page 0 and the bad pages
 * reserved, so slot numbers are page numbers.  A bad page listed twice is
 * reserved once.  Returns the usable slots, or a negative code.
 */
static int64_t swap_slots_init(const uint8_t *h, uint32_t last)
{
	uint32_t nbad = swap_le32(h + SWAP_HEADER_INFO_OFF + 8);
	int err = buddy_init(&swap.slots, 0, (uint64_t)last + 1, 0, 32, &swap_buddy_ops);

	if (err == 0)
		err = buddy_reserve(&swap.slots, 0, 1);
	for (uint32_t i = 0; err == 0 && i < nbad; i++) {
		err = buddy_reserve(&swap.slots, swap_le32(h + SWAP_HEADER_BAD_OFF + 4 * i), 1);
		err = err == -EBUSY ? 0 : err;
	}
	while (err == 0 && swap.npool < SWAP_DESC_RESERVE + SWAP_DESC_PUT) {
		void *d = mm_malloc(BUDDY_DESC_SIZE);
		if (d == NULL)
			err = -ENOMEM;
		else
			swap_desc_free(NULL, d);
	}
	if (err < 0)
		return err;
	return (int64_t)swap.slots.free_bytes;
}

int swap_init(const struct swap_dev *dev, const void *header_page)
{
	const uint8_t *h = header_page;
	char why[80];

	KASSERT(!swap.ready && dev->io != NULL);
	if (swap_header_bad(dev, h, why, sizeof(why))) {
		log_error("swap: %s: %s; running without swap", dev->name, why);
		return -EINVAL;
	}
	uint32_t last = swap_le32(h + SWAP_HEADER_INFO_OFF + 4);
	int64_t usable = swap_slots_init(h, last);
	if (usable <= 0) {
		swap_shutdown();
		if (usable == 0)
			log_error("swap: %s: every page is bad; running without swap", dev->name);
		else
			log_error("swap: %s: %s; running without swap", dev->name,
				  err_name((int)usable));
		return usable == 0 ? -EINVAL : (int)usable;
	}
	swap.dev = *dev;
	swap.last_page = last;
	memset(&swap.st, 0, sizeof(swap.st));
	swap.st.slots_total = (uint64_t)usable;
	swap.ready = true;
	log_info("swap: %s: %llu slots of 4 KiB (%llu bad pages)", dev->name,
		 (unsigned long long)usable, (unsigned long long)(last - usable));
	return 0;
}

void swap_shutdown(void)
{
	irq_lock(&swap_lock);
	KASSERT(swap.objs == NULL && swap.inflight == 0);
	if (swap.slots.tree.root != NULL)
		buddy_destroy(&swap.slots);
	while (swap.pool != NULL) {
		void *d = swap.pool;
		swap.pool = *(void **)d;
		mm_mfree(d);
	}
	memset(&swap, 0, sizeof(swap));
	irq_unlock(&swap_lock);
}

bool swap_enabled(void)
{
	return swap.ready;
}

void swap_pager_stats(struct swap_stats *out)
{
	irq_lock(&swap_lock);
	*out = swap.st;
	out->slots_used = swap.ready ? swap.slots.allocated_bytes : 0;
	irq_unlock(&swap_lock);
}

/* Checks one object's blocks, marking each slot in seen; returns its slots. */
static uint64_t swap_check_obj(const struct swap_obj *so, uint8_t *seen)
{
	struct buddy_info info;
	uint64_t slots = 0, blks = 0;

	for (uint64_t i = 0; i < so->nbuckets; i++) {
		for (struct swap_blk *blk = so->hash[i]; blk != NULL; blk = blk->next) {
			unsigned count = 0;
			if (swap_bucket((struct swap_obj *)so, blk->key) != &so->hash[i])
				panic("swap_pager_check: block %llu in the wrong chain",
				      (unsigned long long)blk->key);
			for (unsigned j = 0; j < SWAP_BLK_SLOTS; j++) {
				uint32_t s = blk->slot[j];
				if (s == 0)
					continue;
				count++;
				buddy_lookup(&swap.slots, s, &info);
				if (s > swap.last_page || info.state != BUDDY_ALLOCATED)
					panic("swap_pager_check: slot %u is not an allocated slot",
					      s);
				if (seen != NULL && (seen[s / 8] & (1u << s % 8)))
					panic("swap_pager_check: slot %u recorded twice", s);
				if (seen != NULL)
					seen[s / 8] |= (uint8_t)(1u << s % 8);
			}
			if (count == 0 || count != blk->count)
				panic("swap_pager_check: block %llu counts %u slots, holds %u",
				      (unsigned long long)blk->key, blk->count, count);
			slots += count;
			blks++;
		}
	}
	if (slots != so->nslots || blks != so->nblks)
		panic("swap_pager_check: object counters disagree with its blocks");
	return slots;
}

void swap_pager_check(void)
{
	/* without memory for the bitmap, the check of duplicates is skipped */
	uint8_t *seen = swap.ready ? mm_malloc(swap.last_page / 8 + 1) : NULL;

	irq_lock(&swap_lock);
	if (!swap.ready) {
		KASSERT(swap.objs == NULL);
		irq_unlock(&swap_lock);
		return;
	}
	buddy_check(&swap.slots);
	if (swap.slots.reserved_bytes + swap.st.slots_total != (uint64_t)swap.last_page + 1)
		panic("swap_pager_check: reserved pages and usable slots do not add up");
	if (seen != NULL)
		memset(seen, 0, swap.last_page / 8 + 1);
	uint64_t recorded = 0;
	for (const struct swap_obj *so = swap.objs; so != NULL; so = so->next) {
		if (so->next != NULL && so->next->prev != so)
			panic("swap_pager_check: list of pagers is corrupt");
		recorded += swap_check_obj(so, seen);
	}
	if (recorded + swap.inflight + swap.st.slots_lost != swap.slots.allocated_bytes)
		panic("swap_pager_check: %llu slots allocated, %llu recorded, %llu in flight, %llu "
		      "lost",
		      (unsigned long long)swap.slots.allocated_bytes, (unsigned long long)recorded,
		      (unsigned long long)swap.inflight, (unsigned long long)swap.st.slots_lost);
	irq_unlock(&swap_lock);
	mm_mfree(seen);
}
