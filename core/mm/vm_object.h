/*
 * vm_object: a sized container of pages addressed by page index, what map
 * entries map.  An object without a pager keeps its pages resident
 * (anonymous memory: pages appear zero-filled on first touch).
 *
 * Owns: its resident pages (m->object == obj), kept in a treap keyed by
 * page index through the pages' own tleft/tright links, with priorities
 * hashed from the page's frame number, so the tree needs no memory of its
 * own and is balanced in expectation.
 * References: vm_object_allocate returns one reference; every map entry
 * holds one; the last vm_object_deallocate frees the resident pages (which
 * must no longer be mapped) and the object.
 * Shadows: a shadow object sits in front of a backing object (same size,
 * same page indices) and holds the pages written since a copy-on-write
 * split; a page missing from the shadow is looked up down the chain.  The
 * shadow holds one reference on its backing object.  When a backing object
 * is referenced by its shadow alone, vm_object_collapse merges it into the
 * shadow, so chains do not grow under repeated forks.
 * Pagers: an object may have a pager (vm_pager.h); a page neither
 * resident nor in the pager's store reads as zeros, except in an OBJ_FILE
 * object, where it lies past the end of the file and a fault there fails.
 * An anonymous object gets a swap pager at its first page-out.  Collapse
 * moves the backing object's store into the shadow's as well (the swap
 * pager's absorb), so chains stay short under page-out; a file object is
 * never collapsed into a shadow.
 * The last reference writes dirty pages back through the pager (a file),
 * frees the pages and lets the pager go (dealloc: swap slots return).
 * Busy pages (VM_PAGE_BUSY) are in the object but under I/O: nobody maps,
 * frees or cleans them until the I/O is over.
 * Lock key: (o) the object's lock.
 */
#ifndef PHOBOS_MM_VM_OBJECT_H
#define PHOBOS_MM_VM_OBJECT_H

#include "core/mm/vm_page.h"
#include "core/mm/vm_pager.h"

#define OBJ_FILE 0x2   /* its pager is a file: no zero fill past the file's end */
#define OBJ_SEALED 0x4 /* its store takes no more writes (a file of an unmounted
			* volume): stores through mappings of it fault with -EACCES */

struct vm_object {
	vm_size_t size;         /* (c) bytes, page aligned */
	uint32_t flags;         /* (o) OBJ_* */
	uint32_t ref_count;     /* (o) */
	uint32_t id;            /* (c) a serial number, for traces */
	uint32_t root;          /* (o) treap root, a page index or VM_PAGE_NONE */
	uint64_t resident;      /* (o) pages in the treap */
	uint32_t gen;           /* (o) changes with every insert or removal */
	struct vm_object *backing; /* (o) the object this one shadows, or NULL */
	struct vm_pager *pager;    /* (c) backing store, or NULL */
	uint64_t pager_offset;     /* (c) page index of object page 0 in the pager */
	uint64_t seq_next;         /* (o) the index a sequential reader faults next */
	uint16_t around;           /* (o) pages read along with a fault out of order */
	uint16_t around_used;      /* (o) such pages a fault used, and */
	uint16_t around_wasted;    /* (o) those evicted unused, both decayed */
	uint32_t nadvice;          /* (o) ranges in advice */
	struct vm_advice_range *advice; /* (o) remembered advice, sorted, disjoint */
	struct irq_lock lock;
};

/*
 * Advice (vm_map_advise) on how a range of an object will be used.
 * RANDOM and SEQUENTIAL are remembered by the object for the range and
 * steer its faults' reads (vm_advice.c): none around a fault, or the most
 * ahead of every fault with the pages far behind it dropped first.
 * WILLNEED and DONTNEED act at once and are not remembered; NORMAL forgets
 * the range's advice.  The values are the app ABI's (phobos/abi.h).
 */
enum vm_advice {
	VM_ADVICE_NORMAL,
	VM_ADVICE_RANDOM,
	VM_ADVICE_SEQUENTIAL,
	VM_ADVICE_WILLNEED,
	VM_ADVICE_DONTNEED,
};

struct vm_advice_range {
	uint64_t first, end; /* page indices, end excluded */
	enum vm_advice advice;
};

#define VM_ADVICE_RANGES 32 /* remembered ranges per object at most */

/* NULL when out of memory. */
struct vm_object *vm_object_allocate(vm_size_t size);
void vm_object_reference(struct vm_object *obj);
void vm_object_deallocate(struct vm_object *obj);

struct vm_page *vm_object_page_lookup(struct vm_object *obj, uint64_t pindex);

/*
 * Where a lookup ended: the pages on the way down from the root, so that
 * a page for that index can hang there without a second walk (a fault
 * that found none and made one).  Good while the object's tree stays as
 * it was (gen) and the path was no deeper than the spot holds; otherwise
 * vm_object_page_insert_spot inserts top-down, with no path at all.
 */
#define VM_OBJECT_DEPTH_MAX 128
struct vm_object_spot {
	struct vm_object *obj;
	uint64_t pindex;
	uint32_t gen;
	unsigned depth;
	uint32_t path[VM_OBJECT_DEPTH_MAX]; /* frame numbers, root first */
};
/* vm_object_page_lookup that fills *spot (unless NULL). */
struct vm_page *vm_object_page_find(struct vm_object *obj, uint64_t pindex,
				    struct vm_object_spot *spot);
/* The resident page with the smallest index >= pindex, or NULL. */
struct vm_page *vm_object_page_next(struct vm_object *obj, uint64_t pindex);
/* Frees the pages in [first, end) (unmapping them) and lets the pager
 * forget them: a file truncated under its mappings, a heap block given
 * back.  Busy pages are a programmer error. */
void vm_object_page_remove_range(struct vm_object *obj, uint64_t first, uint64_t end);
/* The same from pindex to the end of the object. */
void vm_object_page_remove_from(struct vm_object *obj, uint64_t pindex);
/* m must belong to no object; pindex must be free in obj and inside it. */
void vm_object_page_insert(struct vm_object *obj, struct vm_page *m, uint64_t pindex);
/* The same at the spot a find for pindex in obj filled. */
void vm_object_page_insert_spot(struct vm_object *obj, struct vm_page *m, uint64_t pindex,
				struct vm_object_spot *spot);
void vm_object_page_remove(struct vm_object *obj, struct vm_page *m);

/*
 * A new shadow in front of obj; consumes the caller's reference on obj
 * (the shadow holds it now).  NULL when out of memory (obj untouched).
 */
struct vm_object *vm_object_shadow(struct vm_object *obj);
/*
 * Remembers RANDOM or SEQUENTIAL for [first, end) of obj, or forgets what
 * was remembered there (NORMAL).  -ENOMEM: no memory, or obj would hold
 * more than VM_ADVICE_RANGES ranges (nothing changed).  Forgetting cannot
 * fail: without memory to split a range it forgets the whole range.
 */
int vm_object_set_advice(struct vm_object *obj, uint64_t first, uint64_t end,
			 enum vm_advice advice);
/* The advice for pindex: the first object down the chain from top that
 * remembers some for it, else NORMAL. */
enum vm_advice vm_object_advice(const struct vm_object *top, uint64_t pindex);
/*
 * Pages to read along with a fault that reads pindex into o,
 * under the advice for pindex (vm_object_advice), before and after it
 * (vm_fault reads up to half of an out-of-order window behind the fault):
 * none under RANDOM; VM_OBJECT_AHEAD when the
 * faults walk o in order or under SEQUENTIAL; else o's read-around window.
 * The window grows while at least three quarters of the pages read around
 * are used before they are evicted (doubling while a quarter of memory is
 * free, by one page once it is full), and halves while fewer are: a page
 * read along costs a read and the eviction of another, so it must be used
 * far more often than not to pay.  A closed window reads one page along
 * with a fault within VM_OBJECT_AHEAD pages of the last read, so that it
 * can open again.
 */
unsigned vm_object_read_around(struct vm_object *o, uint64_t pindex, enum vm_advice advice);
#define VM_OBJECT_AHEAD 31
/* A page read around a fault of o was used, or evicted unused. */
void vm_object_around_used(struct vm_object *o);
void vm_object_around_wasted(struct vm_object *o);

/* Merges backing objects only obj still references into obj. */
void vm_object_collapse(struct vm_object *obj);
/* Objects in the chain starting at obj. */
unsigned vm_object_chain_length(const struct vm_object *obj);

/* The treap priority of the page with that frame number (tests build
 * trees of a chosen shape with it). */
uint32_t vm_object_priority(uint32_t frame);

/* Treap order, heap order, ownership, resident count; panics if broken. */
void vm_object_check(struct vm_object *obj);

#endif
