/*
 * slab: caches of equal-sized objects carved from whole pages (kmem.h).
 *
 * Owns: its slabs.  A slab is one page whose first bytes are its header
 * (struct slab: cache, free list, in-use bitmap); an object's slab is
 * therefore the page its address lies in, found in O(1).  A cache keeps its
 * slabs with free objects on two lists, partial (allocation takes from the
 * first) and empty (kept up to SLAB_KEEP_EMPTY, the rest go back to kmem at
 * once; slab_reclaim empties the magazines and returns all of them under
 * memory pressure).  Full
 * slabs are on no list: a free finds its slab from the object, and a list
 * of them would cost two other slabs' headers whenever a slab fills or
 * stops being full, which in the larger classes is nearly every call.
 *
 * Each cache also keeps up to SLAB_MAGAZINE objects freed last in a small
 * stack of its own (the magazine), handed out again first: such an object
 * is still in cache, and neither free nor allocation then writes its slab's
 * header.  To its slab a magazine object is in use.
 *
 * Objects are aligned to 16 bytes and, for power-of-two sizes up to the
 * page, to their size.  A freed object is checked against the slab's
 * bitmap and the magazine (see slab_mag_mark): a double free or a pointer
 * that is not an object start panics naming the caller.  With MM_DEBUG
 * each object also carries red zones, checked on free, and is poisoned
 * while free, checked on reuse.
 *
 * Errors: slab_alloc returns NULL when kmem has no page.
 * Lock key: (l) the cache's lists and counters, under no lock: callers are
 * never concurrent (one CPU, nothing allocates in an interrupt), which a
 * re-entry guard checks; see slab_enter.
 */
#ifndef PHOBOS_MM_SLAB_H
#define PHOBOS_MM_SLAB_H

#include "core/env.h"

#define SLAB_KEEP_EMPTY 2
#define SLAB_MAGAZINE 16 /* see slab_alloc_slow */
#define SLAB_MAGIC 0x534c4142u  /* "SLAB" */
#define SLAB_HEADER_SIZE 80u
#define SLAB_MAX_OBJECTS 256u   /* bits in the in-use bitmap */

#ifdef MM_DEBUG
#define SLAB_REDZONE 16u
#else
#define SLAB_REDZONE 0u
#endif

struct slab_cache;

/*
 * The header at the start of every slab page.  What every allocation and
 * free reads or writes lies in the first 64-byte line, but for the last
 * word of the bitmap (objects 192 and up, in the 16-byte class only).
 */
struct slab {
	uint32_t magic;            /* (c) SLAB_MAGIC */
	uint16_t inuse;            /* (l) objects handed out */
	uint16_t first;            /* (c) offset of object 0 */
	struct slab_cache *cache;  /* (c) */
	void *free;                /* (l) free objects, linked through their first word */
	struct slab *next, *prev;  /* (l) the cache list it is on */
	uint64_t used[4];          /* (l) bitmap of handed-out objects */
};

/* Likewise, the fields of every operation first, within one line. */
struct slab_cache {
	struct slab *partial;   /* (l) */
	unsigned per_slab;      /* (c) objects per slab */
	uint32_t stride_inv;    /* (c) 2^32 / stride rounded up: see slab_index */
	size_t stride;          /* (c) bytes per object, red zones included */
	uint64_t taken;         /* (l) objects out of the slabs: handed out or in mag */
	volatile bool busy;     /* inside an operation: the re-entry guard */
	uint8_t nmag;           /* (l) objects in mag */
	struct slab *empty;     /* (l) */
	unsigned nempty;        /* (l) */
	uint64_t slabs;         /* (l) slabs owned, full ones included */
	const char *name;       /* (c) */
	size_t size;            /* (c) bytes the caller may use */
	size_t align;           /* (c) alignment of the caller's pointers */
	struct slab_cache *next_cache; /* (c) registry of all caches */
	void *mag[SLAB_MAGAZINE] __attribute__((aligned(64))); /* (l) freed last, reused first */
} __attribute__((aligned(64)));

/* size 1..SLAB_MAX_SIZE; align 0 or a power of two up to the page. */
#define SLAB_MAX_SIZE 1024u
void slab_cache_init(struct slab_cache *c, const char *name, size_t size, size_t align);
/* Frees every empty slab; all objects must be free.  Panics otherwise. */
void slab_cache_destroy(struct slab_cache *c);

/*
 * The operations on the magazine are inline (below), so that a malloc or a
 * free that the magazine serves is one function without calls; the rest,
 * the slabs, the checks of MM_DEBUG and the panics, is out of line in
 * slab.c.  The *_slow functions are entered inside the cache and leave it.
 */
void *slab_alloc_slow(struct slab_cache *c);
void slab_free_slow(struct slab *s, void *obj, uintptr_t caller);
_Noreturn void slab_reentered(const struct slab_cache *c);

/*
 * A cache has no lock, only a guard against re-entry.  Phobos runs one CPU
 * and no threads, and nothing allocates in an interrupt: the IDT holds
 * exceptions only, and slab pages are wired, so no fault lands inside a
 * cache operation.  An irq lock there was an out-of-line call pair (and
 * cli, sti in the kernel) on every allocation and free, about as dear as
 * the rest of the fast path; the guard still turns a broken assumption into
 * a panic instead of a corrupt list.  A device interrupt that allocates
 * would need the lock back.
 */
static inline void slab_enter(struct slab_cache *c)
{
	if (unlikely(c->busy))
		slab_reentered(c);
	c->busy = true;
}

static inline void slab_leave(struct slab_cache *c)
{
	c->busy = false;
}

/*
 * Whether p is an object's start in s, and then its index in *ip, without
 * a division.  stride_inv is 2^32 / stride + e with 0 <= e < 1
 * (floor((2^32 - 1) / stride) + 1, exact for powers of two), so
 * off * stride_inv is off / stride * 2^32 + off * e, where
 * off * e < off < PAGE_SIZE.  At an object start the low word is therefore
 * under PAGE_SIZE and the high word the index; anywhere else off / stride
 * has a fraction of at least 1 / stride, which puts the low word at
 * 2^32 / stride or more, far above PAGE_SIZE.  An address before object 0
 * wraps off to nearly 2^32, and its index to far beyond the last.
 */
static inline bool slab_index(const struct slab *s, const void *p, unsigned *ip)
{
	const struct slab_cache *c = s->cache;
	uint32_t off = (uint32_t)((uintptr_t)p & (PAGE_SIZE - 1)) - s->first - SLAB_REDZONE;
	uint64_t q = (uint64_t)off * c->stride_inv;

	*ip = (unsigned)(q >> 32);
	return *ip < c->per_slab && (uint32_t)q < PAGE_SIZE;
}

static inline bool slab_in_use(const struct slab *s, unsigned i)
{
	return (s->used[i / 64] >> (i % 64)) & 1;
}

/*
 * An object in the magazine has its first word pointing at the magazine
 * (the mark), so a free that finds anything else there knows without a
 * search that obj is not in it: a double free of an object the magazine
 * holds always finds the mark.  A free that finds it (also one of a live
 * object whose first word was not written since) goes to slab_free_slow,
 * which searches.  A write to a freed object that clears the mark lets a
 * second free of it through, and the magazine then holds it twice; but an
 * allocation takes the mark off what it hands out, so the second copy is
 * found unmarked when it is popped, and panics before two owners share
 * it.  MM_DEBUG, whose frees all search and whose poison check catches
 * the write, stops it at the second free.
 */
static inline void slab_mag_mark(struct slab_cache *c, void *obj)
{
	*(void **)obj = c->mag;
}

static inline bool slab_mag_marked(const struct slab_cache *c, const void *obj)
{
	return *(void *const *)obj == (const void *)c->mag;
}

_Noreturn void slab_mag_lost(struct slab_cache *c, const void *obj);

static inline void *slab_mag_pop(struct slab_cache *c)
{
	void *obj = c->mag[--c->nmag];

	if (unlikely(!slab_mag_marked(c, obj)))
		slab_mag_lost(c, obj);
	*(void **)obj = NULL;
	return obj;
}

static inline void slab_mag_push(struct slab_cache *c, void *obj)
{
	slab_mag_mark(c, obj);
	c->mag[c->nmag++] = obj;
}

static inline void *slab_alloc(struct slab_cache *c)
{
	slab_enter(c);
	if (SLAB_REDZONE != 0 || unlikely(c->nmag == 0))
		return slab_alloc_slow(c);
	void *p = slab_mag_pop(c);
	slab_leave(c);
	return p;
}

/*
 * The slab whose page p lies in, or NULL when that page is no slab: a free
 * that does not know its cache reads the header once here and passes it
 * on to slab_free_in, which checks obj against the slab's bitmap.
 */
static inline struct slab *slab_of(const void *p)
{
	struct slab *s = (struct slab *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);

	return s->magic == SLAB_MAGIC ? s : NULL;
}

/*
 * A free that passes every check and finds room in the magazine ends here;
 * anything else goes to slab_free_slow, which checks again and panics on
 * an invalid or a double free naming caller.
 */
static inline void slab_free_in(struct slab *s, void *obj, uintptr_t caller)
{
	struct slab_cache *c = s->cache;

	slab_enter(c);
	unsigned i;
	if (SLAB_REDZONE != 0 ||
	    unlikely(!slab_index(s, obj, &i) || !slab_in_use(s, i) || slab_mag_marked(c, obj) ||
		     c->nmag == SLAB_MAGAZINE)) {
		slab_free_slow(s, obj, caller);
		return;
	}
	slab_mag_push(c, obj);
	slab_leave(c);
}

/* caller: the return address to name in a panic message. */
void slab_free(struct slab_cache *c, void *obj, uintptr_t caller);
/* The slab cache an object belongs to, or NULL if p is not in a slab page. */
struct slab_cache *slab_cache_of(const void *p);

/* Pages every cache holds (metadata such as map entries and buddy
 * descriptors lives here; tests count it apart from lost pages). */
size_t slab_pages_total(void);

/* Returns every empty slab of every cache to kmem; reports pages freed. */
size_t slab_reclaim(void);

/* Invariant checks: lists, counts, bitmaps against free lists. */
void slab_check(struct slab_cache *c);
void slab_check_all(void);

#endif
