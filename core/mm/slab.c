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
static struct spinlock slab_registry_lock = SPINLOCK_INIT("slab registry");

_Static_assert(sizeof(struct slab) <= SLAB_HEADER_SIZE, "slab header too big");

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
	c->per_slab = (unsigned)MIN((PAGE_SIZE - slab_first(c)) / c->stride,
				    (size_t)SLAB_MAX_OBJECTS);
	KASSERT(c->per_slab > 0);
	spin_init(&c->lock, name);
	spin_lock(&slab_registry_lock);
	c->next_cache = slab_caches;
	slab_caches = c;
	spin_unlock(&slab_registry_lock);
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
 * Checks an object's red zones and, when free, its poison.  Called with the
 * cache lock held: on damage it drops the lock and panics naming caller.
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
			spin_unlock(&c->lock);
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

void *slab_alloc(struct slab_cache *c)
{
	spin_lock(&c->lock);
	struct slab *s = c->partial;
	if (s == NULL && (s = c->empty) != NULL) {
		slab_list_remove(&c->empty, s);
		c->nempty--;
		slab_list_add(&c->partial, s);
	}
	if (s == NULL) {
		spin_unlock(&c->lock);
		s = slab_grow(c);
		if (s == NULL)
			return NULL;
		spin_lock(&c->lock);
		slab_list_add(&c->partial, s);
	}
	uint8_t *p = s->free;
	s->free = *(void **)p;
	unsigned i = (unsigned)((p - SLAB_REDZONE - slab_object(s, 0)) / c->stride);
	slab_debug_verify(c, p - SLAB_REDZONE, false, (uintptr_t)__builtin_return_address(0));
	s->used[i / 64] |= 1ull << (i % 64);
	s->inuse++;
	c->in_use++;
	if (s->inuse == c->per_slab) {
		slab_list_remove(&c->partial, s);
		slab_list_add(&c->full, s);
	}
	spin_unlock(&c->lock);
	return p;
}

struct slab_cache *slab_cache_of(const void *p)
{
	const struct slab *s = (const struct slab *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);

	return s->magic == SLAB_MAGIC ? s->cache : NULL;
}

/* The object index of p in s, or -1 if p is not an object's start. */
static int slab_index(const struct slab *s, const uint8_t *p)
{
	const uint8_t *o0 = slab_object(s, 0) + SLAB_REDZONE;

	if (p < o0 || (size_t)(p - o0) % s->cache->stride != 0)
		return -1;
	size_t i = (size_t)(p - o0) / s->cache->stride;
	return i < s->cache->per_slab ? (int)i : -1;
}

void slab_free(struct slab_cache *c, void *obj, uintptr_t caller)
{
	struct slab *s = (struct slab *)ALIGN_DOWN((uintptr_t)obj, PAGE_SIZE);
	char who[64];

	spin_lock(&c->lock);
	int i = s->magic == SLAB_MAGIC && s->cache == c ? slab_index(s, obj) : -1;
	if (i < 0 || !(s->used[i / 64] & (1ull << (i % 64)))) {
		spin_unlock(&c->lock);
		ksymbolize(caller, who, sizeof(who));
		panic("slab_free: %s of %p (cache %s) by %s", i < 0 ? "invalid free" : "double free",
		      obj, c->name, who);
	}
	slab_debug_verify(c, (uint8_t *)obj - SLAB_REDZONE, true, caller);
	slab_debug_fill(c, (uint8_t *)obj - SLAB_REDZONE, false);
	s->used[i / 64] &= ~(1ull << (i % 64));
	*(void **)obj = s->free;
	s->free = obj;
	c->in_use--;
	if (s->inuse-- == c->per_slab) {
		slab_list_remove(&c->full, s);
		slab_list_add(&c->partial, s);
	}
	struct slab *release = NULL;
	if (s->inuse == 0) {
		slab_list_remove(&c->partial, s);
		if (c->nempty < SLAB_KEEP_EMPTY) {
			slab_list_add(&c->empty, s);
			c->nempty++;
		} else {
			release = s;
			c->slabs--;
		}
	}
	spin_unlock(&c->lock);
	if (release != NULL) {
		release->magic = 0;
		kmem_free_pages(release, 1);
	}
}

static size_t slab_cache_reclaim(struct slab_cache *c)
{
	size_t n = 0;

	spin_lock(&c->lock);
	struct slab *list = c->empty;
	c->empty = NULL;
	c->slabs -= c->nempty;
	c->nempty = 0;
	spin_unlock(&c->lock);
	while (list != NULL) {
		struct slab *s = list;
		list = s->next;
		s->magic = 0;
		kmem_free_pages(s, 1);
		n++;
	}
	return n;
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
	if (c->in_use != 0)
		panic("slab_cache_destroy: %s still has %llu objects", c->name,
		      (unsigned long long)c->in_use);
	slab_cache_reclaim(c);
	spin_lock(&slab_registry_lock);
	for (struct slab_cache **p = &slab_caches; *p != NULL; p = &(*p)->next_cache)
		if (*p == c) {
			*p = c->next_cache;
			break;
		}
	spin_unlock(&slab_registry_lock);
}

/* Checks one slab; returns its in-use count. */
static unsigned slab_check_one(struct slab_cache *c, const struct slab *s)
{
	unsigned used = 0, free = 0;

	if (s->magic != SLAB_MAGIC || s->cache != c)
		panic("slab_check: %s: foreign slab %p on a list", c->name, (const void *)s);
	for (unsigned i = 0; i < c->per_slab; i++)
		used += (s->used[i / 64] >> (i % 64)) & 1;
	for (const uint8_t *p = s->free; p != NULL; p = *(void *const *)p) {
		int i = slab_index(s, p);
		if (i < 0 || (s->used[i / 64] >> (i % 64)) & 1 || ++free > c->per_slab)
			panic("slab_check: %s: free list of slab %p is corrupt", c->name, (const void *)s);
		slab_debug_verify(c, p - SLAB_REDZONE, false, (uintptr_t)__builtin_return_address(0));
	}
	if (used != s->inuse || used + free != c->per_slab)
		panic("slab_check: %s: slab %p counts %u used + %u free of %u", c->name,
		      (const void *)s, used, free, c->per_slab);
	return used;
}

void slab_check(struct slab_cache *c)
{
	uint64_t in_use = 0, slabs = 0, empty = 0;

	spin_lock(&c->lock);
	for (const struct slab *s = c->partial; s != NULL; s = s->next, slabs++) {
		unsigned u = slab_check_one(c, s);
		KASSERT(u > 0 && u < c->per_slab);
		in_use += u;
	}
	for (const struct slab *s = c->full; s != NULL; s = s->next, slabs++) {
		KASSERT(slab_check_one(c, s) == c->per_slab);
		in_use += c->per_slab;
	}
	for (const struct slab *s = c->empty; s != NULL; s = s->next, slabs++, empty++)
		KASSERT(slab_check_one(c, s) == 0);
	KASSERT(in_use == c->in_use && slabs == c->slabs && empty == c->nempty);
	spin_unlock(&c->lock);
}

void slab_check_all(void)
{
	for (struct slab_cache *c = slab_caches; c != NULL; c = c->next_cache)
		slab_check(c);
}
