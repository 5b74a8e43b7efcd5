/*
 * buddy: the universal buddy allocator over a 64-bit range.  One
 * implementation serves a map's virtual space, physical address windows
 * and swap slots; the client supplies descriptors through callbacks.
 *
 * Owns: the range [base, base + size), covered at every moment exactly once
 * by descriptors of three kinds, kept in an address-ordered AVL tree:
 *   free       a block of 2^order bytes aligned to 2^order (absolute),
 *              min_order <= order <= max_order, on the free list of its
 *              order; two free buddies of one order never coexist (they are
 *              merged);
 *   allocated  a range handed out by buddy_alloc/buddy_alloc_at, any
 *              multiple of the granule 2^min_order;
 *   reserved   a range no allocation may touch (buddy_reserve).
 * An allocation of S bytes takes the smallest free block >= S and gives
 * the unused tail back as free blocks, so sizes that are not powers of two
 * waste nothing.  Every operation is O(log n) in the range size (times the
 * number of blocks an operation splits or merges, itself O(log n)): an
 * allocation keeps its block's descriptor as its record and links each
 * block of the tail next to it without a search; a release merges its
 * range with free buddies at both ends outwards, order by order, finding
 * them as its neighbours in the tree.
 *
 * Descriptors: from ops->desc_alloc; an operation first makes sure it holds
 * every descriptor it may need, so a NULL from the callback fails the
 * operation with -ENOMEM and changes nothing.  Up to BUDDY_SPARE_KEEP
 * descriptors left over stay with the allocator for the next operation
 * (one allocation's tail can take up to max_order - min_order of them);
 * buddy_destroy gives them all back through ops->desc_free.
 *
 * Errors: -EINVAL (zero size, not a multiple of the granule, misaligned
 * base, bad alignment), -ERANGE (outside the range), -ENOMEM (no free block
 * large enough, or no descriptor), -EBUSY (part of the range is allocated or
 * reserved), -ENOENT (no allocation / reservation starts at that address).
 * Lock key: the client's lock around every call.
 */
#ifndef PHOBOS_MM_BUDDY_H
#define PHOBOS_MM_BUDDY_H

#include "core/env.h"
#include "core/mm/avl.h"

enum buddy_state { BUDDY_FREE, BUDDY_ALLOCATED, BUDDY_RESERVED };

struct buddy_desc {
	struct avl_node node;          /* keyed by base */
	uint64_t base;
	uint64_t size;                 /* bytes; 2^order for free blocks */
	struct buddy_desc *next, *prev; /* free list of its order, or the spare pool */
	uint8_t state;                 /* enum buddy_state */
	uint8_t order;                 /* free blocks only */
};

/* Clients size descriptor pools by this. */
#define BUDDY_DESC_SIZE sizeof(struct buddy_desc)
#define BUDDY_SPARE_KEEP 32

struct buddy_ops {
	void *(*desc_alloc)(void *ctx); /* BUDDY_DESC_SIZE bytes, or NULL */
	void (*desc_free)(void *ctx, void *desc);
	void *ctx;
};

struct buddy {
	uint64_t base, last;            /* (c) the range, last inclusive */
	unsigned min_order, max_order;  /* (c) */
	struct buddy_ops ops;           /* (c) */
	struct avl_tree tree;
	struct buddy_desc *free_list[64];
	uint64_t free_orders;     /* bit o set iff free_list[o] is not empty */
	struct buddy_desc *spare; /* descriptors held for the running operation */
	unsigned nspare;
	uint64_t free_bytes, allocated_bytes, reserved_bytes;
};

struct buddy_info {
	enum buddy_state state;
	uint64_t base, size; /* the allocation, reservation or free block holding addr */
};

/* size > 0; base and size multiples of 2^min_order; min <= max <= 63. */
int buddy_init(struct buddy *b, uint64_t base, uint64_t size, unsigned min_order,
	       unsigned max_order, const struct buddy_ops *ops);
void buddy_destroy(struct buddy *b);

/* align: 0 or a power of two. *out gets the base. */
int buddy_alloc(struct buddy *b, uint64_t size, uint64_t align, uint64_t *out);
int buddy_alloc_at(struct buddy *b, uint64_t base, uint64_t size);
int buddy_free(struct buddy *b, uint64_t base);
/*
 * Frees [base, base + size), which must lie inside one allocation (-ENOENT
 * otherwise); what the allocation keeps before and after the hole stays
 * allocated, as separate allocations (a swap run losing one slot).
 */
int buddy_free_part(struct buddy *b, uint64_t base, uint64_t size);
int buddy_reserve(struct buddy *b, uint64_t base, uint64_t size);
/* Exactly a reservation made before: -ENOENT if none starts at base,
 * -EINVAL if its size differs. */
int buddy_unreserve(struct buddy *b, uint64_t base, uint64_t size);
int buddy_lookup(const struct buddy *b, uint64_t addr, struct buddy_info *out);
/* Bytes in the largest free block. */
uint64_t buddy_largest_free(const struct buddy *b);

/* Full invariant check; panics naming the broken rule. */
void buddy_check(const struct buddy *b);

#endif
