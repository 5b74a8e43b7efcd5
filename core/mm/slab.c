/*
 * slab: see slab.h for the contract.
 *
 * Layout of a slab page:  [struct slab][pad][obj 0][obj 1]...
 * and of one object:      [red zone][size bytes][red zone]   (MM_DEBUG)
 * The caller's pointer is object start + SLAB_REDZONE.
 */
#include "core/mm/kmem.h"
#include "core/mm/slab.h"

#define SLAB_POISON 0x6b
#define SLAB_RZ_BYTE 0xbb

static struct slab_cache *slab_caches; /* registry, for reclaim and checks */
static struct irq_lock slab_registry_lock = IRQ_LOCK_INIT("slab registry");

_Static_assert(sizeof(struct slab) <= SLAB_HEADER_SIZE, "slab header too big");
_Static_assert(offsetof(struct slab, used[3]) <= 64 && offsetof(struct slab_cache, empty) <= 64,
	       "the fields every operation touches span more than one cache line");

/* Object 0 starts where its caller's pointer lands on an alignment boundary. */
static size_t slab_first(const struct slab_cache *c)
{
	return ALIGN_UP(SLAB_HEADER_SIZE + SLAB_REDZONE, c->align) - SLAB_REDZONE;
}

void slab_cache_init(struct slab_cache *c, const char *name, size_t size, size_t align)
{
	size_t a = MAX((size_t)16, align);

	KASSERT(size > 0 && size <= SLAB_MAX_SIZE && IS_POW2(a) && a <= PAGE_SIZE);
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->size = size;
	c->align = a;
	c->stride = ALIGN_UP(size + 2 * SLAB_REDZONE, a);
	c->stride_inv = (uint32_t)(UINT32_MAX / c->stride + 1);
	c->per_slab = (unsigned)MIN((PAGE_SIZE - slab_first(c)) / c->stride,
				    (size_t)SLAB_MAX_OBJECTS);
	KASSERT(c->per_slab > 0);
	irq_lock(&slab_registry_lock);
	c->next_cache = slab_caches;
	slab_caches = c;
	irq_unlock(&slab_registry_lock);
}


static void slab_list_add(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head != NULL)
		(*head)->prev = s;
	*head = s;
}

static void slab_list_remove(struct slab **head, struct slab *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static uint8_t *slab_object(const struct slab *s, unsigned i)
{
	return (uint8_t *)s + s->first + (size_t)i * s->cache->stride;
}

_Noreturn void slab_reentered(const struct slab_cache *c)
{
	panic("slab: %s entered again (an allocation from an interrupt?)", c->name);
}

_Noreturn void slab_mag_lost(struct slab_cache *c, const void *obj)
{
	slab_leave(c);
	panic("slab: %s: %p lost its mark in the magazine: written after its free, "
	      "or a double free of it already handed out once", c->name, obj);
}

/* Debug fill and check of a free object's poison and an object's red zones. */
static void slab_debug_fill(const struct slab_cache *c, uint8_t *obj, bool allocated)
{
	if (SLAB_REDZONE == 0)
		return;
	memset(obj, SLAB_RZ_BYTE, SLAB_REDZONE);
	memset(obj + SLAB_REDZONE + c->size, SLAB_RZ_BYTE, c->stride - c->size - SLAB_REDZONE);
	if (!allocated)
		memset(obj + SLAB_REDZONE, SLAB_POISON, c->size);
}

/*
 * Checks an object's red zones and, when free, its poison.  Called inside
 * the cache: on damage it leaves it and panics naming caller.
 */
static void slab_debug_verify(struct slab_cache *c, const uint8_t *obj, bool allocated,
			      uintptr_t caller)
{
	char who[64];

	for (size_t i = 0; SLAB_REDZONE != 0 && i < c->stride; i++) {
		bool in_user = i >= SLAB_REDZONE && i < SLAB_REDZONE + c->size;
		/* a free object's first word holds the free-list link */
		bool link = i >= SLAB_REDZONE && i < SLAB_REDZONE + sizeof(void *);
		if (in_user && (allocated || link))
			continue;
		if (obj[i] != (in_user ? SLAB_POISON : SLAB_RZ_BYTE)) {
			slab_leave(c);
			ksymbolize(caller, who, sizeof(who));
			panic("slab: %s object %p: %s overwritten (byte %zu), noticed by %s", c->name,
			      (const void *)(obj + SLAB_REDZONE),
			      in_user ? "freed memory" : "red zone", i, who);
		}
	}
}

static struct slab *slab_grow(struct slab_cache *c)
{
	struct slab *s = kmem_alloc_pages(1);

	if (s == NULL)
		return NULL;
	memset(s, 0, SLAB_HEADER_SIZE);
	s->magic = SLAB_MAGIC;
	s->cache = c;
	s->first = (uint16_t)slab_first(c);
	for (unsigned i = c->per_slab; i-- > 0;) {
		uint8_t *obj = slab_object(s, i);
		slab_debug_fill(c, obj, false);
		*(void **)(obj + SLAB_REDZONE) = s->free;
		s->free = obj + SLAB_REDZONE;
	}
	c->slabs++;
	return s;
}

/*
 * Called inside the cache with no partial slab: puts an empty or a new slab
 * on the partial list.  kmem is called outside the cache, as it may take
 * long or, in the kernel, allocate itself.
 */
static struct slab *slab_refill(struct slab_cache *c)
{
	struct slab *s = c->empty;

	if (s != NULL) {
		slab_list_remove(&c->empty, s);
		c->nempty--;
	} else {
		slab_leave(c);
		s = slab_grow(c);
		slab_enter(c);
		if (s == NULL)
			return NULL;
	}
	slab_list_add(&c->partial, s);
	return s;
}

/* Takes one object out of the first partial slab (in use to it from now). */
static void *slab_take_one(struct slab_cache *c)
{
	struct slab *s = c->partial;

	if (unlikely(s == NULL) && (s = slab_refill(c)) == NULL)
		return NULL;
	uint8_t *p = s->free;
	s->free = *(void **)p;
	unsigned i;
	(void)slab_index(s, p, &i); /* off its own free list: an object */
	s->used[i / 64] |= 1ull << (i % 64);
	c->taken++;
	if (++s->inuse == c->per_slab)
		slab_list_remove(&c->partial, s); /* full: on no list */
	return p;
}

/*
 * An empty magazine is filled half-way from the slabs, and a full one
 * half-emptied into them (slab_free_slow): the count then has to wander
 * SLAB_MAGAZINE / 2 steps before the slabs are needed again, where a
 * magazine refilled or emptied by one object sat at its edge, and about
 * every other call went to the slabs and their unpredictable branches.
 * Where allocations and frees of a class are about equally frequent, that
 * wander takes some (SLAB_MAGAZINE / 2)^2 calls and moves SLAB_MAGAZINE / 2
 * objects, so one call in SLAB_MAGAZINE / 2 pays for a trip through the
 * slabs: at 8 objects that was a quarter of the cost of a malloc/free pair
 * on a mix of sizes.
 */
void *slab_alloc_slow(struct slab_cache *c)
{
	KASSERT(c->per_slab > 0); /* else a cache used before slab_cache_init */
	if (c->nmag == 0)
		for (void *p; c->nmag < SLAB_MAGAZINE / 2 && (p = slab_take_one(c)) != NULL;)
			slab_mag_push(c, p);
	if (c->nmag == 0) {
		slab_leave(c);
		return NULL;
	}
	uint8_t *p = slab_mag_pop(c);
	slab_debug_verify(c, p - SLAB_REDZONE, false, (uintptr_t)__builtin_return_address(0));
	slab_leave(c);
	return p;
}

struct slab_cache *slab_cache_of(const void *p)
{
	const struct slab *s = slab_of(p);

	return s != NULL ? s->cache : NULL;
}

/* Whether obj is among the first n objects of c's magazine. */
static bool slab_in_magazine(const struct slab_cache *c, unsigned n, const void *obj)
{
	for (unsigned k = 0; k < n; k++)
		if (c->mag[k] == obj)
			return true;
	return false;
}

/*
 * Puts object i (obj), free, back into its slab s and moves s between
 * lists; returns s when it is empty and beyond what the cache keeps, off
 * every list, for the caller to release once out of the cache.
 */
static struct slab *slab_put(struct slab_cache *c, struct slab *s, unsigned i, void *obj)
{
	s->used[i / 64] &= ~(1ull << (i % 64));
	c->taken--;
	*(void **)obj = s->free;
	s->free = obj;
	if (s->inuse-- == c->per_slab)
		slab_list_add(&c->partial, s);
	if (s->inuse != 0)
		return NULL;
	slab_list_remove(&c->partial, s);
	if (c->nempty < SLAB_KEEP_EMPTY) {
		slab_list_add(&c->empty, s);
		c->nempty++;
		return NULL;
	}
	c->slabs--;
	return s;
}

/* Puts magazine object p back into its slab, chaining that slab on
 * *release when it is to go. */
static void slab_unload(struct slab_cache *c, void *p, struct slab **release)
{
	struct slab *s = slab_of(p);
	unsigned i;
	(void)slab_index(s, p, &i); /* checked on its way in */
	struct slab *r = slab_put(c, s, i, p);

	if (r != NULL) {
		r->next = *release;
		*release = r;
	}
}

/* Returns a chain of slabs (linked through next, on no list) to kmem. */
static size_t slab_release_all(struct slab *chain)
{
	size_t n = 0;

	while (chain != NULL) {
		struct slab *s = chain;
		chain = s->next;
		s->magic = 0;
		kmem_free_pages(s, 1);
		n++;
	}
	return n;
}

void slab_free(struct slab_cache *c, void *obj, uintptr_t caller)
{
	struct slab *s = slab_of(obj);
	char who[64];

	if (s == NULL || s->cache != c) {
		ksymbolize(caller, who, sizeof(who));
		panic("slab_free: invalid free of %p (cache %s) by %s", obj, c->name, who);
	}
	slab_free_in(s, obj, caller);
}

void slab_free_slow(struct slab *s, void *obj, uintptr_t caller)
{
	struct slab_cache *c = s->cache;
	char who[64];

	unsigned i;
	bool object = slab_index(s, obj, &i);
	if (!object || !slab_in_use(s, i) || slab_in_magazine(c, c->nmag, obj)) {
		slab_leave(c);
		ksymbolize(caller, who, sizeof(who));
		panic("slab_free: %s of %p (cache %s) by %s", !object ? "invalid free" : "double free",
		      obj, c->name, who);
	}
	slab_debug_verify(c, (uint8_t *)obj - SLAB_REDZONE, true, caller);
	slab_debug_fill(c, (uint8_t *)obj - SLAB_REDZONE, false);
	struct slab *release = NULL;
	if (c->nmag == SLAB_MAGAZINE) {
		/* the older half goes back to the slabs (see slab_alloc_slow) */
		for (unsigned k = 0; k < SLAB_MAGAZINE / 2; k++)
			slab_unload(c, c->mag[k], &release);
		memmove(c->mag, c->mag + SLAB_MAGAZINE / 2, sizeof(c->mag) / 2);
		c->nmag = SLAB_MAGAZINE / 2;
	}
	slab_mag_push(c, obj);
	slab_leave(c);
	slab_release_all(release);
}

/* Empties the magazine into the slabs first, so that theirs can go too. */
static size_t slab_cache_reclaim(struct slab_cache *c)
{
	struct slab *release = NULL;

	slab_enter(c);
	while (c->nmag != 0)
		slab_unload(c, c->mag[--c->nmag], &release);
	struct slab *list = c->empty;
	c->empty = NULL;
	c->slabs -= c->nempty;
	c->nempty = 0;
	slab_leave(c);
	return slab_release_all(release) + slab_release_all(list);
}

size_t slab_pages_total(void)
{
	size_t n = 0;

	for (struct slab_cache *c = slab_caches; c != NULL; c = c->next_cache)
		n += c->slabs;
	return n;
}

size_t slab_reclaim(void)
{
	size_t n = 0;

	for (struct slab_cache *c = slab_caches; c != NULL; c = c->next_cache)
		n += slab_cache_reclaim(c);
	return n;
}

void slab_cache_destroy(struct slab_cache *c)
{
	if (c->taken != c->nmag)
		panic("slab_cache_destroy: %s still has %llu objects", c->name,
		      (unsigned long long)(c->taken - c->nmag));
	slab_cache_reclaim(c);
	irq_lock(&slab_registry_lock);
	for (struct slab_cache **p = &slab_caches; *p != NULL; p = &(*p)->next_cache)
		if (*p == c) {
			*p = c->next_cache;
			break;
		}
	irq_unlock(&slab_registry_lock);
}

/* Checks one slab; returns its in-use count. */
static unsigned slab_check_one(struct slab_cache *c, const struct slab *s)
{
	unsigned used = 0, free = 0;

	if (s->magic != SLAB_MAGIC || s->cache != c)
		panic("slab_check: %s: foreign slab %p on a list", c->name, (const void *)s);
	for (unsigned i = 0; i < c->per_slab; i++)
		used += slab_in_use(s, i);
	for (const uint8_t *p = s->free; p != NULL; p = *(void *const *)p) {
		unsigned i;
		if (!slab_index(s, p, &i) || slab_in_use(s, i) || ++free > c->per_slab)
			panic("slab_check: %s: free list of slab %p is corrupt", c->name, (const void *)s);
		slab_debug_verify(c, p - SLAB_REDZONE, false, (uintptr_t)__builtin_return_address(0));
	}
	if (used != s->inuse || used + free != c->per_slab)
		panic("slab_check: %s: slab %p counts %u used + %u free of %u", c->name,
		      (const void *)s, used, free, c->per_slab);
	return used;
}

/* Checks the magazine: distinct, marked objects of c, in use to their
 * slabs (and, with MM_DEBUG, still poisoned). */
static void slab_check_magazine(struct slab_cache *c)
{
	KASSERT(c->nmag <= SLAB_MAGAZINE);
	for (unsigned k = 0; k < c->nmag; k++) {
		const uint8_t *p = c->mag[k];
		const struct slab *s = slab_of(p);
		unsigned i;
		if (s == NULL || s->cache != c || !slab_index(s, p, &i) || !slab_in_use(s, i) ||
		    !slab_mag_marked(c, p) || slab_in_magazine(c, k, p))
			panic("slab_check: %s: magazine entry %u (%p) is corrupt", c->name, k,
			      (const void *)p);
		slab_debug_verify(c, p - SLAB_REDZONE, false, (uintptr_t)__builtin_return_address(0));
	}
}

void slab_check(struct slab_cache *c)
{
	uint64_t in_use = 0, slabs = 0, empty = 0;

	slab_enter(c);
	slab_check_magazine(c);
	for (const struct slab *s = c->partial; s != NULL; s = s->next, slabs++) {
		unsigned u = slab_check_one(c, s);
		KASSERT(u > 0 && u < c->per_slab);
		in_use += u;
	}
	for (const struct slab *s = c->empty; s != NULL; s = s->next, slabs++, empty++)
		KASSERT(slab_check_one(c, s) == 0);
	/* the slabs on no list are the full ones: they hold every other object */
	KASSERT(slabs <= c->slabs && empty == c->nempty);
	KASSERT(in_use + (c->slabs - slabs) * c->per_slab == c->taken);
	slab_leave(c);
}

void slab_check_all(void)
{
	for (struct slab_cache *c = slab_caches; c != NULL; c = c->next_cache)
		slab_check(c);
}
