/*
 * The bucket allocator: see bucket.h for the contract.  Terms:
 *   class  a size class (bucket): its block size and run size, and its
 *          list of runs with room (head first, allocation comes from it);
 *   run    one heap block inside a 64 KiB slot of the arena, holding
 *          blocks of one class from its first byte on; it is PARTIAL (in its
 *          class's list), FULL (in no list) or CACHED (empty, in the cache
 *          of its size, owned by no class);
 *   table  the runs' descriptors, one 64-byte line per slot, in the top
 *          slots of the arena, its pages allocated as slots come in use.
 *          Out of band on purpose, and runs shorter than a slot placed at
 *          a page offset that varies from slot to slot (the run's colour):
 *          runs all at slot starts, and headers in them, would crowd a
 *          few sets of the caches (64 KiB apart, they map to the same
 *          sets) and evict each other;
 *   large  a heap block of its own for one allocation, header before it.
 * Freestanding: no libc (the compiler may still emit memcpy/memset calls
 * for the __builtin_ forms), no TLS, one lock hook.
 */
#include <stdbool.h>

#include "../include/phobos/abi.h"
#include "bucket.h"
#include "sys.h"

#ifndef BUCKET_LOCK
#define BUCKET_LOCK() ((void)0)
#define BUCKET_UNLOCK() ((void)0)
#endif

#define BUCKET_PAGE ((uintptr_t)PHOBOS_PAGE_SIZE)
#define BUCKET_SLOT_SHIFT 16
#define BUCKET_SLOT ((uintptr_t)1 << BUCKET_SLOT_SHIFT)
#define BUCKET_ORDERS 5 /* runs of BUCKET_PAGE << 0 .. 4, up to one slot */
#define BUCKET_CLASSES 32
#define BUCKET_DESC 64 /* bytes of table per slot */
#define BUCKET_MIN_BLOCKS 8
#define BUCKET_CACHE_BYTES (8u << 10) /* of empty runs kept per run size, or one run */
#define BUCKET_ARENA_MAX (16ull << 30)
#define BUCKET_ARENA_MIN (64ull << 20)
#define BUCKET_SLOT_WORDS ((BUCKET_ARENA_MAX >> BUCKET_SLOT_SHIFT) / 64)
#define BUCKET_LARGE_HEADER 48
/* Larger requests cannot exist in a 47-bit address space; the bound keeps
 * size arithmetic from overflowing. */
#define BUCKET_LARGE_MAX (1ull << 47)
#define BUCKET_RUN_MAGIC 0x4e55524bu		 /* "KRUN": a run of a class */
#define BUCKET_CACHED_MAGIC 0x48434143u		 /* "CACH": a cached run, no free goes there */
#define BUCKET_LARGE_MAGIC 0x454752414c4b4355ull /* "UCKLARGE" */
#define BUCKET_FREE_CANARY 0x5a17f4eeb10cce55ull

#define BUCKET_ALIGN_UP(x, a) (((x) + (a)-1) & ~((uintptr_t)(a)-1))
#define BUCKET_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Rare paths stay out of line so the fast paths need few registers. */
#define BUCKET_COLD __attribute__((noinline, cold))

enum bucket_run_state { BUCKET_RUN_PARTIAL, BUCKET_RUN_FULL, BUCKET_RUN_CACHED };

struct bucket_run {
	struct bucket_run *next, *prev; /* its class's list, or (next only) its cache */
	char *base;			/* the run's first byte, inside its slot */
	void *free;			/* free blocks, linked through their first word */
	char *bump;			/* blocks from here to end were never on a list */
	char *end;			/* one past the last whole block */
	uint32_t magic;
	uint32_t used;	/* blocks handed out */
	uint32_t bsize; /* the class's block size */
	uint8_t cls;
	uint8_t order;	 /* the run is BUCKET_PAGE << order bytes */
	uint8_t state;	 /* enum bucket_run_state */
	uint8_t aligned; /* aligned_alloc pointers (inside blocks) were handed out */
};
_Static_assert(sizeof(struct bucket_run) <= BUCKET_DESC, "run descriptor too big");

struct bucket_large {
	struct bucket_large *next, *prev;
	uint64_t base, size; /* the heap block */
	uint64_t magic;	     /* BUCKET_LARGE_MAGIC ^ the user pointer */
};
_Static_assert(sizeof(struct bucket_large) <= BUCKET_LARGE_HEADER, "large header too big");

struct bucket_class {
	struct bucket_run *head;
	uint32_t bsize;
	uint32_t runs;	   /* runs of the class, full ones included */
	uint8_t min_order; /* the smallest run holding BUCKET_MIN_BLOCKS blocks */
	uint8_t order;	   /* the next run's: one up per run while the class has any */
};

static struct {
	struct bucket_class cls[BUCKET_CLASSES];
	struct bucket_run *cache[BUCKET_ORDERS];
	uint32_t cached[BUCKET_ORDERS];
	struct bucket_large *large;
	struct bucket_stats st; /* the kernel, run and large counters; the rest is computed */
	uintptr_t arena_base, arena_size; /* the run slots; the table lies above */
	struct bucket_run *table;	  /* descriptor of slot i: table[i] */
	uint32_t table_pages;		  /* pages of the table allocated, from its start */
	uint32_t nslots;		  /* arena_size / BUCKET_SLOT */
	uint32_t slot_top;		  /* slots above were never used */
	uint32_t slot_hint;		  /* no free slot below word slot_hint of slot_used */
	bool ready;
	/* The class of n <= 1024 at [(n + 15) / 16]: a load instead of the
	 * branches of bucket_class_of on the hot path.  All zeros before
	 * bucket_setup: class 0 has no run then, so the first malloc reaches
	 * the slow path, which sets up and looks again. */
	uint8_t class_by16[1024 / 16 + 1];
	uint64_t slot_used[BUCKET_SLOT_WORDS]; /* a bit per slot holding a run */
} bucket;

/*
 * Up to 128 bytes, class c holds (c + 1) * 16.  Above, with b = log2 of
 * the largest power of two below the size, the four classes of
 * (2^b, 2^(b+1)] are 2^b + k * 2^(b-2) for k = 1..4; size - 1 picks k by
 * its two bits below bit b, so exact class sizes map to themselves.
 */
static inline unsigned bucket_class_of(size_t n)
{
	if (n <= 128)
		return n == 0 ? 0 : (unsigned)(n - 1) >> 4;
	unsigned b = 63 - (unsigned)__builtin_clzll(n - 1);
	return 8 + ((b - 7) << 2) + (unsigned)(((n - 1) >> (b - 2)) & 3);
}

static uint32_t bucket_class_size(unsigned c)
{
	if (c < 8)
		return (c + 1) * 16;
	unsigned k = c - 8, b = 7 + (k >> 2);
	return (1u << b) + (((k & 3) + 1) << (b - 2));
}

static uint32_t bucket_cache_cap(unsigned order)
{
	uint32_t cap = BUCKET_CACHE_BYTES / (uint32_t)(BUCKET_PAGE << order);
	return cap == 0 ? 1 : cap;
}

static void bucket_setup(void)
{
	for (unsigned c = 0; c < BUCKET_CLASSES; c++) {
		struct bucket_class *k = &bucket.cls[c];
		k->bsize = bucket_class_size(c);
		k->min_order = 0;
		while (k->min_order + 1 < BUCKET_ORDERS &&
		       (BUCKET_PAGE << k->min_order) / k->bsize < BUCKET_MIN_BLOCKS)
			k->min_order++;
		k->order = k->min_order;
	}
	for (unsigned i = 0; i <= 1024 / 16; i++)
		bucket.class_by16[i] = (uint8_t)bucket_class_of(i * 16);
	bucket.ready = true;
}

/*
 * The biggest reservation the kernel grants, its start rounded up to a
 * slot; of its n slots the top n / (BUCKET_SLOT / BUCKET_DESC + 1), rounded
 * up, hold the table, enough for a descriptor per remaining slot.
 */
static bool bucket_arena_reserve(void)
{
	for (uint64_t size = BUCKET_ARENA_MAX; size >= BUCKET_ARENA_MIN; size >>= 1) {
		long a = sys_reserve_space(size);
		if (a <= 0)
			continue;
		uintptr_t base = BUCKET_ALIGN_UP((uintptr_t)a, BUCKET_SLOT);
		uint32_t n = (uint32_t)((((uintptr_t)a + size - base) & ~(BUCKET_SLOT - 1)) >>
					BUCKET_SLOT_SHIFT);
		uint32_t per = BUCKET_SLOT / BUCKET_DESC + 1;
		bucket.nslots = n - (n + per - 1) / per;
		bucket.arena_base = base;
		bucket.arena_size = (uintptr_t)bucket.nslots << BUCKET_SLOT_SHIFT;
		bucket.table = (struct bucket_run *)(base + bucket.arena_size);
		bucket.st.arena_size = size;
		return true;
	}
	return false;
}

static uintptr_t bucket_heap_get(uint64_t size, uint64_t location, int zeroed);

/* The table pages up to slot's descriptor; false when the kernel refuses. */
static bool bucket_table_cover(uint32_t slot)
{
	while (bucket.table_pages <= slot / (BUCKET_PAGE / BUCKET_DESC)) {
		uintptr_t at = (uintptr_t)bucket.table + bucket.table_pages * BUCKET_PAGE;
		if (bucket_heap_get(BUCKET_PAGE, at, 1) == 0)
			return false;
		bucket.table_pages++;
	}
	return true;
}

static inline uintptr_t bucket_slot_base(const struct bucket_run *r)
{
	return bucket.arena_base + ((uintptr_t)(r - bucket.table) << BUCKET_SLOT_SHIFT);
}

/* Where in its slot a run of the order starts: the slot's page positions
 * that leave room for it, taken in turn slot after slot. */
static uintptr_t bucket_run_colour(uint32_t slot, unsigned order)
{
	uint32_t positions = (uint32_t)(BUCKET_SLOT / BUCKET_PAGE) - (1u << order) + 1;
	return (uintptr_t)(slot % positions) * BUCKET_PAGE;
}

static uintptr_t bucket_heap_get(uint64_t size, uint64_t location, int zeroed)
{
	long a = sys_allocate_heap(size, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, location, zeroed);
	if (a <= 0)
		return 0;
	if (((uintptr_t)a & (BUCKET_PAGE - 1)) != 0 ||
	    (location != PHOBOS_HEAP_ANYWHERE && (uintptr_t)a != location))
		sys_panic("bucket: sys_allocate_heap gave a block where none was asked",
			  (uint64_t)a);
	bucket.st.heap_bytes += size;
	if (bucket.st.heap_bytes > bucket.st.heap_peak)
		bucket.st.heap_peak = bucket.st.heap_bytes;
	bucket.st.heap_allocs++;
	return (uintptr_t)a;
}

static void bucket_heap_put(uintptr_t addr, uint64_t size)
{
	if (sys_free_heap(addr) != 0)
		sys_panic("bucket: sys_free_heap refused a block", addr);
	bucket.st.heap_bytes -= size;
	bucket.st.heap_frees++;
}

static bool bucket_slot_in_use(uint32_t slot)
{
	return (bucket.slot_used[slot / 64] >> (slot % 64)) & 1;
}

/* The lowest free slot (a run's address is arena_base + slot * BUCKET_SLOT),
 * its descriptor's table page allocated; or -1. */
static long bucket_slot_alloc(void)
{
	if (bucket.arena_size == 0 && !bucket_arena_reserve())
		return -1;
	/* every slot this call may return is at most slot_top */
	if (!bucket_table_cover(bucket.slot_top < bucket.nslots ? bucket.slot_top : 0))
		return -1;
	for (uint32_t w = bucket.slot_hint; w * 64 < bucket.slot_top; w++) {
		uint64_t avail = ~bucket.slot_used[w];
		if (bucket.slot_top - w * 64 < 64)
			avail &= (1ull << (bucket.slot_top - w * 64)) - 1;
		if (avail != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(avail);
			bucket.slot_used[w] |= 1ull << bit;
			bucket.slot_hint = w;
			return (long)(w * 64 + bit);
		}
	}
	bucket.slot_hint = bucket.slot_top / 64;
	if (bucket.slot_top == bucket.nslots)
		return -1;
	bucket.slot_used[bucket.slot_top / 64] |= 1ull << (bucket.slot_top % 64);
	return (long)bucket.slot_top++;
}

static void bucket_slot_free(uint32_t slot)
{
	bucket.slot_used[slot / 64] &= ~(1ull << (slot % 64));
	if (slot / 64 < bucket.slot_hint)
		bucket.slot_hint = slot / 64;
}

static void bucket_run_format(struct bucket_run *r, unsigned c, unsigned order)
{
	const struct bucket_class *k = &bucket.cls[c];
	char *first = r->base;
	uintptr_t room = BUCKET_PAGE << order;

	r->next = r->prev = NULL;
	r->free = NULL;
	r->bump = first;
	r->end = first + room / k->bsize * k->bsize;
	r->magic = BUCKET_RUN_MAGIC;
	r->used = 0;
	r->bsize = k->bsize;
	r->cls = (uint8_t)c;
	r->order = (uint8_t)order;
	r->state = BUCKET_RUN_PARTIAL;
	r->aligned = 0;
}

/*
 * A run for class c: a cached one of its size, else a new heap block.
 * Each new run of a class that has runs is twice the last (up to 64 KiB):
 * a busy class gets few big runs, seldom full (a free into a full run and
 * a malloc finding the head full are the slow paths), while a class with
 * a handful of blocks keeps one small run.
 */
static struct bucket_run *bucket_run_new(unsigned c)
{
	struct bucket_class *k = &bucket.cls[c];
	unsigned order = k->order;
	struct bucket_run *r = bucket.cache[order];

	if (r != NULL) {
		bucket.cache[order] = r->next;
		bucket.cached[order]--;
		bucket.st.runs_cached--;
	} else {
		long slot = bucket_slot_alloc();
		if (slot < 0)
			return NULL;
		uintptr_t at = bucket.arena_base + ((uintptr_t)slot << BUCKET_SLOT_SHIFT) +
			       bucket_run_colour((uint32_t)slot, order);
		if (bucket_heap_get(BUCKET_PAGE << order, at, 0) == 0) {
			bucket_slot_free((uint32_t)slot);
			return NULL;
		}
		r = &bucket.table[slot];
		r->base = (char *)at;
		bucket.st.runs++;
	}
	bucket_run_format(r, c, order);
	k->runs++;
	if (k->order + 1 < BUCKET_ORDERS)
		k->order++;
	return r;
}

static void bucket_run_release(struct bucket_run *r)
{
	r->magic = 0;
	bucket_heap_put((uintptr_t)r->base, BUCKET_PAGE << r->order);
	bucket_slot_free((uint32_t)(r - bucket.table));
	bucket.st.runs--;
}

static void bucket_class_unlink(struct bucket_run *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		bucket.cls[r->cls].head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

/* A run leaves its class (for the cache or the kernel). */
static void bucket_class_leave(struct bucket_run *r)
{
	struct bucket_class *k = &bucket.cls[r->cls];

	bucket_class_unlink(r);
	if (--k->runs == 0)
		k->order = k->min_order;
}

/* A run that has room again goes second, so the head fills up first and
 * a run hovering at full does not come back to the head at every free. */
static void bucket_class_insert(struct bucket_run *r)
{
	struct bucket_class *k = &bucket.cls[r->cls];
	struct bucket_run *h = k->head;

	r->state = BUCKET_RUN_PARTIAL;
	if (h == NULL) {
		r->next = r->prev = NULL;
		k->head = r;
		return;
	}
	r->prev = h;
	r->next = h->next;
	if (h->next != NULL)
		h->next->prev = r;
	h->next = r;
}

/* An empty run leaves its class for the cache, unless it is the class's
 * only run with room: then it stays, so a class hovering at a run boundary
 * costs no kernel calls.  A run its size's cache has no room for goes back
 * to the kernel.  (One budget shared by all sizes was tried: small runs
 * filled it and each 64 KiB run went back and forth to the kernel.) */
static void bucket_run_empty(struct bucket_run *r)
{
	if (bucket.cls[r->cls].head == r && r->next == NULL)
		return;
	bucket_class_leave(r);
	if (bucket.cached[r->order] >= bucket_cache_cap(r->order)) {
		bucket_run_release(r);
		return;
	}
	r->state = BUCKET_RUN_CACHED;
	r->magic = BUCKET_CACHED_MAGIC;
	r->next = bucket.cache[r->order];
	bucket.cache[r->order] = r;
	bucket.cached[r->order]++;
	bucket.st.runs_cached++;
}

/* Links at most a page's worth of never-used blocks onto the (empty) free
 * list, so a fresh run is touched only as it is used. */
static void bucket_run_carve(struct bucket_run *r)
{
	uintptr_t n = (uintptr_t)(r->end - r->bump) / r->bsize, batch = BUCKET_PAGE / r->bsize;
	char *b = r->bump;

	if (batch == 0)
		batch = 1;
	if (n > batch)
		n = batch;
	r->free = b;
	for (uintptr_t i = 0; i < n; i++, b += r->bsize) {
		void **blk = (void **)b;
		blk[0] = i + 1 < n ? b + r->bsize : NULL;
#ifdef BUCKET_DEBUG
		blk[1] = (void *)((uintptr_t)b ^ BUCKET_FREE_CANARY);
#endif
	}
	r->bump = b;
}

static inline void *bucket_run_pop(struct bucket_run *r)
{
	void **b = r->free;

	r->free = b[0];
	r->used++;
#ifdef BUCKET_DEBUG
	b[1] = NULL;
#endif
	return b;
}

static BUCKET_COLD void *bucket_small_slow(size_t n)
{
	if (!bucket.ready)
		bucket_setup();
	unsigned c = bucket_class_of(n);
	struct bucket_class *k = &bucket.cls[c];
	for (;;) {
		struct bucket_run *r = k->head;
		if (r == NULL) {
			r = bucket_run_new(c);
			if (r == NULL)
				return NULL;
			k->head = r;
		}
		if (r->free == NULL && r->bump < r->end)
			bucket_run_carve(r);
		if (r->free != NULL)
			return bucket_run_pop(r);
		bucket_class_unlink(r);
		r->state = BUCKET_RUN_FULL;
	}
}

static inline void *bucket_small_alloc(size_t n)
{
	unsigned c = n <= 1024 ? bucket.class_by16[(n + 15) >> 4] : bucket_class_of(n);
	struct bucket_run *r = bucket.cls[c].head;

	if (BUCKET_UNLIKELY(r == NULL || r->free == NULL))
		return bucket_small_slow(n);
	return bucket_run_pop(r);
}

static inline bool bucket_in_arena(uintptr_t a)
{
	return a - bucket.arena_base < bucket.arena_size;
}

/* The block holding p: p itself unless aligned_alloc handed out insides. */
static inline void **bucket_block_of(const struct bucket_run *r, uintptr_t p)
{
	if (__builtin_expect(!r->aligned, 1))
		return (void **)p;
	uintptr_t first = (uintptr_t)r->base;
	return (void **)(first + (p - first) / r->bsize * r->bsize);
}

/* The run holding arena pointer p, checked as far as the build checks. */
static inline struct bucket_run *bucket_run_of(uintptr_t p)
{
	uint32_t slot = (uint32_t)((p - bucket.arena_base) >> BUCKET_SLOT_SHIFT);
	struct bucket_run *r = &bucket.table[slot];

	if (BUCKET_UNLIKELY(slot >= bucket.slot_top)) /* the table stops there */
		sys_panic("bucket: invalid free (no run there)", p);
	if (BUCKET_UNLIKELY(r->magic != BUCKET_RUN_MAGIC))
		sys_panic("bucket: invalid free (not a live run)", p);
	return r;
}

#ifdef BUCKET_DEBUG
/* A free block carries a canary in its second word; only when it is
 * present (user data may match it) is the free list walked for proof. */
static void bucket_debug_free(const struct bucket_run *r, void **b, uintptr_t p)
{
	uintptr_t first = (uintptr_t)r->base;

	if ((uintptr_t)b < first || (char *)b >= r->bump || ((uintptr_t)b - first) % r->bsize != 0)
		sys_panic("bucket: invalid free (not a block)", p);
	if (b[1] == (void *)((uintptr_t)b ^ BUCKET_FREE_CANARY))
		for (void **f = r->free; f != NULL; f = *f)
			if (f == b)
				sys_panic("bucket: double free", p);
	b[1] = (void *)((uintptr_t)b ^ BUCKET_FREE_CANARY);
}
#endif

/* After a free into a full run or one that emptied. */
static BUCKET_COLD void bucket_run_settle(struct bucket_run *r)
{
	if (r->state == BUCKET_RUN_FULL)
		bucket_class_insert(r);
	if (r->used == 0)
		bucket_run_empty(r);
}

static inline void bucket_small_free(uintptr_t p)
{
	struct bucket_run *r = bucket_run_of(p);
	void **b = bucket_block_of(r, p);

#ifdef BUCKET_DEBUG
	bucket_debug_free(r, b, p);
#endif
	b[0] = r->free;
	r->free = b;
	r->used--;
	if (BUCKET_UNLIKELY(r->state == BUCKET_RUN_FULL || r->used == 0))
		bucket_run_settle(r);
}

/*
 * A heap block of its own: the pointer is the first align-aligned address
 * at least BUCKET_LARGE_HEADER into it.  The block is only page-aligned, so
 * that address lies at most max(align, 64) bytes in (when align exceeds a
 * page and the block happens to be align-aligned, a whole align in).
 */
static BUCKET_COLD void *bucket_large_alloc(size_t n, size_t align, int zeroed)
{
	size_t lead = align > 64 ? align : 64;

	if (n >= BUCKET_LARGE_MAX || align >= BUCKET_LARGE_MAX)
		return NULL;
	uint64_t size = BUCKET_ALIGN_UP(n + lead, BUCKET_PAGE);
	uintptr_t base = bucket_heap_get(size, PHOBOS_HEAP_ANYWHERE, zeroed);
	if (base == 0)
		return NULL;
	uintptr_t p = BUCKET_ALIGN_UP(base + BUCKET_LARGE_HEADER, align);
	struct bucket_large *h = (struct bucket_large *)(p - BUCKET_LARGE_HEADER);
	h->base = base;
	h->size = size;
	h->magic = BUCKET_LARGE_MAGIC ^ p;
	h->prev = NULL;
	h->next = bucket.large;
	if (h->next != NULL)
		h->next->prev = h;
	bucket.large = h;
	bucket.st.large_blocks++;
	return (void *)p;
}

static struct bucket_large *bucket_large_of(uintptr_t p)
{
	struct bucket_large *h = (struct bucket_large *)(p - BUCKET_LARGE_HEADER);

#ifdef BUCKET_DEBUG
	/* The header of a pointer we never handed out may not be readable. */
	struct bucket_large *l = bucket.large;
	while (l != NULL && l != h)
		l = l->next;
	if (l == NULL)
		sys_panic("bucket: invalid or double free (no such large block)", p);
#endif
	if ((p & 15) != 0 || h->magic != (BUCKET_LARGE_MAGIC ^ p))
		sys_panic("bucket: invalid free (bad large header)", p);
	return h;
}

static BUCKET_COLD void bucket_large_free(uintptr_t p)
{
	struct bucket_large *h = bucket_large_of(p);

	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		bucket.large = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->magic = 0;
	bucket.st.large_blocks--;
	bucket_heap_put(h->base, h->size);
}

/* A run falls back to a large block when the arena cannot serve (none
 * reserved, or full): slower, but malloc fails only when memory does. */
static void *bucket_alloc(size_t n, int zeroed)
{
	if (n <= BUCKET_SMALL_MAX) {
		void *p = bucket_small_alloc(n);
		if (p != NULL) {
			if (zeroed)
				__builtin_memset(p, 0, n);
			return p;
		}
	}
	return bucket_large_alloc(n, 16, zeroed);
}

static void bucket_release(void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (__builtin_expect(bucket_in_arena(a), 1))
		bucket_small_free(a);
	else if (p != NULL)
		bucket_large_free(a);
}

static size_t bucket_usable(uintptr_t p)
{
	if (bucket_in_arena(p)) {
		struct bucket_run *r = bucket_run_of(p);
		return (uintptr_t)bucket_block_of(r, p) + r->bsize - p;
	}
	struct bucket_large *h = bucket_large_of(p);
	return h->base + h->size - p;
}

void *bucket_malloc(size_t size)
{
	BUCKET_LOCK();
	void *p = bucket_alloc(size, 0);
	BUCKET_UNLOCK();
	return p;
}

void bucket_free(void *p)
{
	BUCKET_LOCK();
	bucket_release(p);
	BUCKET_UNLOCK();
}

void *bucket_calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	BUCKET_LOCK();
	void *p = bucket_alloc(total, 1);
	BUCKET_UNLOCK();
	return p;
}

void *bucket_realloc(void *p, size_t size)
{
	if (p == NULL)
		return bucket_malloc(size);
	BUCKET_LOCK();
	size_t have = bucket_usable((uintptr_t)p);
	void *q = p;
	if (size > have || size < have / 2) {
		q = bucket_alloc(size, 0);
		if (q != NULL) {
			__builtin_memcpy(q, p, size < have ? size : have);
			bucket_release(p);
		}
	}
	BUCKET_UNLOCK();
	return q;
}

/*
 * Small: a block of the class for size + align - 16 (blocks are 16-byte
 * aligned, so an align-aligned address lies within align - 16 of its
 * start); the run is marked so free finds the block by division.
 */
void *bucket_aligned_alloc(size_t align, size_t size)
{
	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	if (align <= 16)
		return bucket_malloc(size);
	if (size == 0)
		size = 1; /* so the pointer lies inside its block, not at its end */
	BUCKET_LOCK();
	void *p = NULL;
	if (size <= BUCKET_SMALL_MAX && align <= BUCKET_SMALL_MAX &&
	    size + align - 16 <= BUCKET_SMALL_MAX) {
		void *b = bucket_small_alloc(size + align - 16);
		if (b != NULL) {
			bucket_run_of((uintptr_t)b)->aligned = 1;
			p = (void *)BUCKET_ALIGN_UP((uintptr_t)b, align);
		}
	}
	if (p == NULL)
		p = bucket_large_alloc(size, align, 0);
	BUCKET_UNLOCK();
	return p;
}

size_t bucket_malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	BUCKET_LOCK();
	size_t n = bucket_usable((uintptr_t)p);
	BUCKET_UNLOCK();
	return n;
}

#define BUCKET_EACH_RUN(r, s)                                                                      \
	for (uint32_t s = 0; s < bucket.slot_top; s++)                                             \
		if (bucket_slot_in_use(s) && ((r) = &bucket.table[s], true))

void bucket_stats(struct bucket_stats *out)
{
	struct bucket_run *r;

	BUCKET_LOCK();
	*out = bucket.st;
	out->blocks_in_use = out->bytes_in_use = 0;
	BUCKET_EACH_RUN(r, s)
	{
		out->blocks_in_use += r->used;
		out->bytes_in_use += (uint64_t)r->used * r->bsize;
	}
	for (struct bucket_large *h = bucket.large; h != NULL; h = h->next) {
		out->blocks_in_use++;
		out->bytes_in_use += h->base + h->size - ((uintptr_t)h + BUCKET_LARGE_HEADER);
	}
	BUCKET_UNLOCK();
}

#define BUCKET_CHECK(cond, what, value)                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			sys_panic("bucket_check: " what, (uint64_t)(value));                       \
	} while (0)

/* One run's own invariants; returns its bytes. */
static uint64_t bucket_check_run(const struct bucket_run *r)
{
	uintptr_t a = (uintptr_t)r->base, first = a;

	BUCKET_CHECK(r->magic ==
			 (r->state == BUCKET_RUN_CACHED ? BUCKET_CACHED_MAGIC : BUCKET_RUN_MAGIC),
		     "run magic", a);
	BUCKET_CHECK(r->cls < BUCKET_CLASSES && r->order < BUCKET_ORDERS, "run class", a);
	BUCKET_CHECK(a == bucket_slot_base(r) +
			      bucket_run_colour((uint32_t)(r - bucket.table), r->order),
		     "run base", a);
	BUCKET_CHECK(r->state <= BUCKET_RUN_CACHED, "run state", a);
	const struct bucket_class *k = &bucket.cls[r->cls];
	uintptr_t room = BUCKET_PAGE << r->order;
	BUCKET_CHECK(r->state == BUCKET_RUN_CACHED ||
			 (r->bsize == k->bsize && r->order >= k->min_order),
		     "run size", a);
	BUCKET_CHECK((uintptr_t)r->end == first + room / r->bsize * r->bsize, "run end", a);
	BUCKET_CHECK((uintptr_t)r->bump >= first && r->bump <= r->end &&
			 ((uintptr_t)r->bump - first) % r->bsize == 0,
		     "run bump", a);
	uint32_t cap = (uint32_t)(room / r->bsize), nfree = 0;
	for (void **f = r->free; f != NULL; f = *f) {
		BUCKET_CHECK(nfree < cap, "free list cycle", a);
		BUCKET_CHECK((uintptr_t)f >= first && (char *)f < r->bump &&
				 ((uintptr_t)f - first) % r->bsize == 0,
			     "free block outside run", (uintptr_t)f);
#ifdef BUCKET_DEBUG
		BUCKET_CHECK(f[1] == (void *)((uintptr_t)f ^ BUCKET_FREE_CANARY), "free canary",
			     (uintptr_t)f);
#endif
		nfree++;
	}
	uint32_t unused = (uint32_t)((uintptr_t)(r->end - r->bump) / r->bsize);
	BUCKET_CHECK(r->used + nfree + unused == cap, "run block count", a);
	BUCKET_CHECK(r->state != BUCKET_RUN_FULL || (nfree == 0 && unused == 0),
		     "full run has room", a);
	BUCKET_CHECK(r->state != BUCKET_RUN_CACHED || r->used == 0, "cached run in use", a);
	return BUCKET_PAGE << r->order;
}

/* The class lists and caches: each run in the right one, links agreeing;
 * only a class's head may be empty.  Returns the runs seen. */
static uint64_t bucket_check_lists(void)
{
	uint64_t seen = 0;

	for (unsigned c = 0; c < BUCKET_CLASSES; c++) {
		const struct bucket_run *prev = NULL;
		for (const struct bucket_run *r = bucket.cls[c].head; r != NULL; r = r->next) {
			BUCKET_CHECK(r >= bucket.table && r < bucket.table + bucket.slot_top,
				     "class run outside the table", (uintptr_t)r);
			BUCKET_CHECK(r->state == BUCKET_RUN_PARTIAL && r->cls == c,
				     "class list holds a foreign run", (uintptr_t)r);
			BUCKET_CHECK(r->prev == prev, "class list links", (uintptr_t)r);
			BUCKET_CHECK(r->used > 0 || prev == NULL, "empty run behind the head",
				     (uintptr_t)r);
			prev = r;
			seen++;
		}
	}
	for (unsigned o = 0; o < BUCKET_ORDERS; o++) {
		uint32_t n = 0;
		for (const struct bucket_run *r = bucket.cache[o]; r != NULL; r = r->next) {
			BUCKET_CHECK(r >= bucket.table && r < bucket.table + bucket.slot_top,
				     "cached run outside the table", (uintptr_t)r);
			BUCKET_CHECK(r->state == BUCKET_RUN_CACHED && r->order == o,
				     "cache holds a foreign run", (uintptr_t)r);
			n++;
		}
		BUCKET_CHECK(n == bucket.cached[o] && n <= bucket_cache_cap(o), "cache count", o);
		seen += n;
	}
	return seen;
}

void bucket_check(void)
{
	const struct bucket_run *r;
	uint64_t runs = 0, partial_or_cached = 0, bytes = 0, nlarge = 0, cached = 0;
	uint32_t per_class[BUCKET_CLASSES] = {0};

	BUCKET_LOCK();
	BUCKET_CHECK(bucket.slot_top <= bucket.nslots, "slot top", bucket.slot_top);
	for (unsigned i = 0; bucket.ready && i <= 1024 / 16; i++)
		BUCKET_CHECK(bucket.class_by16[i] == bucket_class_of(i * 16), "class table", i);
	BUCKET_EACH_RUN(r, s)
	{
		bytes += bucket_check_run(r);
		runs++;
		partial_or_cached += r->state != BUCKET_RUN_FULL;
		cached += r->state == BUCKET_RUN_CACHED;
		per_class[r->cls] += r->state != BUCKET_RUN_CACHED;
	}
	for (unsigned c = 0; c < BUCKET_CLASSES; c++)
		BUCKET_CHECK(per_class[c] == bucket.cls[c].runs, "class run count", c);
	for (uint32_t s = bucket.slot_top; s < bucket.nslots && s % 64 != 0; s++)
		BUCKET_CHECK(!bucket_slot_in_use(s), "slot above top in use", s);
	for (uint32_t w = 0; w < bucket.slot_hint; w++)
		BUCKET_CHECK(bucket.slot_used[w] == ~0ull, "free slot below hint", w);
	BUCKET_CHECK(bucket_check_lists() == partial_or_cached, "run in no list",
		     partial_or_cached);
	BUCKET_CHECK(runs == bucket.st.runs && cached == bucket.st.runs_cached, "run count", runs);
	const struct bucket_large *prev = NULL;
	for (const struct bucket_large *h = bucket.large; h != NULL; h = h->next) {
		uintptr_t p = (uintptr_t)h + BUCKET_LARGE_HEADER;
		BUCKET_CHECK(h->magic == (BUCKET_LARGE_MAGIC ^ p), "large magic", p);
		BUCKET_CHECK(h->prev == prev, "large links", p);
		BUCKET_CHECK(!bucket_in_arena(h->base) && h->base < p && p <= h->base + h->size,
			     "large block bounds", p);
		bytes += h->size;
		nlarge++;
		prev = h;
	}
	BUCKET_CHECK(nlarge == bucket.st.large_blocks, "large count", nlarge);
	BUCKET_CHECK(bucket.slot_top <= bucket.table_pages * (BUCKET_PAGE / BUCKET_DESC),
		     "slot without a table page", bucket.slot_top);
	bytes += bucket.table_pages * BUCKET_PAGE;
	BUCKET_CHECK(bytes == bucket.st.heap_bytes && bytes <= bucket.st.heap_peak, "heap bytes",
		     bytes);
	BUCKET_UNLOCK();
}

void bucket_trim(void)
{
	BUCKET_LOCK();
	for (unsigned o = 0; o < BUCKET_ORDERS; o++) {
		while (bucket.cache[o] != NULL) {
			struct bucket_run *r = bucket.cache[o];
			bucket.cache[o] = r->next;
			bucket.cached[o]--;
			bucket.st.runs_cached--;
			bucket_run_release(r);
		}
	}
	for (unsigned c = 0; c < BUCKET_CLASSES; c++) {
		struct bucket_run *r = bucket.cls[c].head;
		if (r != NULL && r->used == 0) {
			bucket_class_leave(r);
			bucket_run_release(r);
		}
	}
	if (bucket.st.runs == 0) {
		while (bucket.table_pages > 0) {
			bucket.table_pages--;
			bucket_heap_put((uintptr_t)bucket.table + bucket.table_pages * BUCKET_PAGE,
					BUCKET_PAGE);
		}
		bucket.slot_top = bucket.slot_hint = 0;
	}
	BUCKET_UNLOCK();
}

#ifndef PHOBOS_HOST
void *malloc(size_t size) __attribute__((alias("bucket_malloc")));
void free(void *p) __attribute__((alias("bucket_free")));
void *calloc(size_t n, size_t size) __attribute__((alias("bucket_calloc")));
void *realloc(void *p, size_t size) __attribute__((alias("bucket_realloc")));
void *aligned_alloc(size_t align, size_t size) __attribute__((alias("bucket_aligned_alloc")));
size_t malloc_usable_size(void *p) __attribute__((alias("bucket_malloc_usable_size")));
#endif
