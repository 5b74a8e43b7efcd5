/*
 * slab: caches of equal-sized objects carved from whole pages (kmem.h).
 *
 * Owns: its slabs.  A slab is one page whose first bytes are its header
 * (struct slab: cache, free list, in-use bitmap); an object's slab is
 * therefore the page its address lies in, found in O(1).  A cache keeps its
 * slabs on three lists: partial (allocation prefers these), full, and empty
 * (kept up to SLAB_KEEP_EMPTY, the rest go back to kmem at once;
 * slab_reclaim returns all of them under memory pressure).
 *
 * Objects are aligned to 16 bytes and, for power-of-two sizes up to the
 * page, to their size.  A freed object is checked against the slab's
 * bitmap: a double free or a pointer that is not an object start panics
 * naming the caller.  With MM_DEBUG each object also carries red zones,
 * checked on free, and is poisoned while free, checked on reuse.
 *
 * Errors: slab_alloc returns NULL when kmem has no page.
 * Lock key: (l) the cache's lock guards its lists and counters.
 */
#ifndef PHOBOS_MM_SLAB_H
#define PHOBOS_MM_SLAB_H

#include "core/env.h"

#define SLAB_KEEP_EMPTY 2
#define SLAB_MAGIC 0x534c4142u  /* "SLAB" */
#define SLAB_HEADER_SIZE 80u
#define SLAB_MAX_OBJECTS 256u   /* bits in the in-use bitmap */

#ifdef MM_DEBUG
#define SLAB_REDZONE 16u
#else
#define SLAB_REDZONE 0u
#endif

struct slab_cache;

/* The header at the start of every slab page. */
struct slab {
	uint32_t magic;            /* (c) SLAB_MAGIC */
	uint16_t inuse;            /* (l) objects handed out */
	uint16_t first;            /* (c) offset of object 0 */
	struct slab_cache *cache;  /* (c) */
	struct slab *next, *prev;  /* (l) the cache list it is on */
	void *free;                /* (l) free objects, linked through their first word */
	uint64_t used[4];          /* (l) bitmap of handed-out objects */
};

struct slab_cache {
	const char *name;       /* (c) */
	size_t size;            /* (c) bytes the caller may use */
	size_t stride;          /* (c) bytes per object, red zones included */
	size_t align;           /* (c) alignment of the caller's pointers */
	unsigned per_slab;      /* (c) objects per slab */
	struct slab *partial, *full, *empty; /* (l) */
	unsigned nempty;        /* (l) */
	uint64_t in_use;        /* (l) objects handed out */
	uint64_t slabs;         /* (l) slabs owned */
	struct spinlock lock;
	struct slab_cache *next_cache; /* (c) registry of all caches */
};

/* size 1..SLAB_MAX_SIZE; align 0 or a power of two up to the page. */
#define SLAB_MAX_SIZE 1024u
void slab_cache_init(struct slab_cache *c, const char *name, size_t size, size_t align);
/* Frees every empty slab; all objects must be free.  Panics otherwise. */
void slab_cache_destroy(struct slab_cache *c);

void *slab_alloc(struct slab_cache *c);
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
