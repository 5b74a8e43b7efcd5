/*
 * buddy: see buddy.h for the contract.
 *
 * Ranges are handled by their inclusive last byte so that a range ending at
 * 2^64 (the top of the kernel half) never overflows.
 */
#include "core/mm/buddy.h"

#define BUDDY_BLOCK(o) ((uint64_t)1 << (o))

static uint64_t buddy_key(const struct avl_node *n)
{
	return container_of(n, struct buddy_desc, node)->base;
}

static struct buddy_desc *buddy_desc_of(struct avl_node *n)
{
	return n ? container_of(n, struct buddy_desc, node) : NULL;
}

static uint64_t buddy_desc_last(const struct buddy_desc *d)
{
	return d->base + (d->size - 1);
}

/*
 * How many blocks the maximal aligned decomposition of [lo, last] has,
 * without walking it.  With M = 2^max_order: from lo up to the first
 * M-aligned address A the blocks grow, one per set bit of A - lo (lo + that
 * distance carries into bit max, so the lowest set bit of lo is the lowest
 * of the distance, and so on up); from the last M-aligned address B to the
 * end they shrink, one per set bit of end - B; in between sit (B - A) / M
 * whole blocks.  Without any M-aligned address in [lo, end] the range lies
 * inside one M-block, and the same holds around the most aligned address
 * m in it: m is end with every bit below the highest bit where lo - 1 and
 * end differ cleared (that bit is 1 in end and 0 in lo - 1, so lo <= m <=
 * end, and nothing in between has more trailing zeros).  end = last + 1 is
 * only formed where it cannot wrap: it does when last is the top of the
 * 64-bit space, which is M-aligned, the first case.
 */
static uint64_t buddy_pieces(const struct buddy *b, uint64_t lo, uint64_t last)
{
	uint64_t m = BUDDY_BLOCK(b->max_order) - 1, len = last - lo + 1;
	uint64_t left = -lo & m, right = (last + 1) & m;

	if (left <= len)
		return (uint64_t)__builtin_popcountll(left) + (uint64_t)__builtin_popcountll(right) +
		       ((len - left - right) >> b->max_order);
	unsigned hi = 63 - (unsigned)__builtin_clzll((lo - 1) ^ (last + 1));
	uint64_t mid = (last + 1) & ~(BUDDY_BLOCK(hi) - 1);
	return (uint64_t)__builtin_popcountll(mid - lo) + (uint64_t)__builtin_popcountll(last + 1 - mid);
}

/* Holds at least n spare descriptors, or fails leaving everything as it was. */
static int buddy_need(struct buddy *b, uint64_t n)
{
	while (b->nspare < n) {
		struct buddy_desc *d = b->ops.desc_alloc(b->ops.ctx);
		if (d == NULL)
			return -ENOMEM;
		d->next = b->spare;
		b->spare = d;
		b->nspare++;
	}
	return 0;
}

static struct buddy_desc *buddy_take_spare(struct buddy *b)
{
	struct buddy_desc *d = b->spare;

	KASSERT(d != NULL);
	b->spare = d->next;
	b->nspare--;
	return d;
}

static void buddy_put_spare(struct buddy *b, struct buddy_desc *d)
{
	d->next = b->spare;
	b->spare = d;
	b->nspare++;
}

/*
 * Gives spare descriptors beyond BUDDY_SPARE_KEEP back to the client.  A
 * small reserve made nearly every allocation ask the client (the kernel
 * map: the slab) for descriptors that the next release handed back.
 */
static void buddy_trim_spare(struct buddy *b)
{
	while (b->nspare > BUDDY_SPARE_KEEP)
		b->ops.desc_free(b->ops.ctx, buddy_take_spare(b));
}

static void buddy_list_add(struct buddy *b, struct buddy_desc *d)
{
	d->prev = NULL;
	d->next = b->free_list[d->order];
	if (d->next != NULL)
		d->next->prev = d;
	b->free_list[d->order] = d;
	b->free_orders |= BUDDY_BLOCK(d->order);
}

static void buddy_list_remove(struct buddy *b, struct buddy_desc *d)
{
	if (d->prev != NULL)
		d->prev->next = d->next;
	else if ((b->free_list[d->order] = d->next) == NULL)
		b->free_orders &= ~BUDDY_BLOCK(d->order);
	if (d->next != NULL)
		d->next->prev = d->prev;
}

/* Whether d is a free block of order o starting at a. */
static bool buddy_is_free_block(const struct buddy_desc *d, uint64_t a, unsigned o)
{
	return d != NULL && d->base == a && d->state == BUDDY_FREE && d->order == o;
}

/* A release in progress (buddy_free_range). */
struct buddy_merge {
	struct buddy_desc *holder; /* in the tree at the range's start, or NULL */
	struct buddy_desc *first_after; /* the lowest descriptor after the range */
};

/*
 * Makes the block of order o at a free.  It reuses the holder when that
 * sits at a; otherwise a spare is linked just before first_after, which
 * needs no search: nothing lies between the range and first_after.
 */
static struct buddy_desc *buddy_place(struct buddy *b, struct buddy_merge *m, uint64_t a,
				      unsigned o)
{
	struct buddy_desc *d = m->holder;

	if (d != NULL && d->base == a) {
		m->holder = NULL;
	} else {
		d = buddy_take_spare(b);
		d->base = a;
		avl_insert_before(&b->tree, m->first_after ? &m->first_after->node : NULL, &d->node);
	}
	d->size = BUDDY_BLOCK(o);
	d->state = BUDDY_FREE;
	d->order = (uint8_t)o;
	buddy_list_add(b, d);
	b->free_bytes += d->size;
	return d;
}

/* Unlinks the free block d from its list and counters (not from the tree). */
static void buddy_unfree(struct buddy *b, struct buddy_desc *d)
{
	buddy_list_remove(b, d);
	b->free_bytes -= d->size;
}

/*
 * Returns [a, last] to free space as maximal aligned blocks, merging with
 * free buddies on both sides.  Order by order from the granule up, with
 * blk = 2^o and both ends aligned to blk: if a has bit o set, the block
 * [a, a + blk) has its buddy just below a (a ^ blk = a - blk).  When that
 * is a free block of order o they merge and the range grows down to
 * a - blk, now aligned to 2 blk; otherwise [a, a + blk) is a final block
 * and the range shrinks up.  The end is handled the same way upwards.
 * Once an end has placed a block, no merge can happen there any more: the
 * neighbour is that smaller block.  At max_order what is left is whole
 * blocks of max_order.  Every block placed is maximal (its buddy is not
 * free), so the result is the decomposition buddy_check expects.
 * Descriptors: holder (the released record, in the tree at a) is reused
 * for the block at the range's final start; merged buddies go to the
 * spares; new blocks take spares, at most buddy_pieces(a, last) - 1 with
 * a holder, buddy_pieces(a, last) without: merging a free buddy in never
 * adds a block to the decomposition.
 */
static void buddy_free_range(struct buddy *b, struct buddy_desc *holder, uint64_t a, uint64_t last)
{
	struct buddy_merge m = {holder, NULL};
	struct buddy_desc *left, *right;
	uint64_t len = last - a + 1; /* never wraps: the range is under 2^64 bytes */
	unsigned o = b->min_order;

	if (holder != NULL) {
		left = buddy_desc_of(avl_prev(&holder->node));
		right = buddy_desc_of(avl_next(&holder->node));
	} else {
		right = buddy_desc_of(avl_find_ge(&b->tree, a));
		left = right != NULL ? buddy_desc_of(avl_prev(&right->node))
				     : buddy_desc_of(avl_find_le(&b->tree, UINT64_MAX));
	}
	m.first_after = right;
	for (; len != 0 && o < b->max_order; o++) {
		uint64_t blk = BUDDY_BLOCK(o);
		if (a & blk) {
			if (buddy_is_free_block(left, a - blk, o)) {
				struct buddy_desc *l = left;
				left = buddy_desc_of(avl_prev(&l->node));
				buddy_unfree(b, l);
				if (m.holder != NULL) {
					avl_remove(&b->tree, &m.holder->node);
					buddy_put_spare(b, m.holder);
				}
				m.holder = l;
				a -= blk;
				len += blk;
			} else {
				buddy_place(b, &m, a, o);
				left = NULL;
				a += blk;
				len -= blk;
			}
		}
		if (len != 0 && ((a + len) & blk)) {
			if (buddy_is_free_block(right, a + len, o)) {
				struct buddy_desc *r = right;
				right = buddy_desc_of(avl_next(&r->node));
				buddy_unfree(b, r);
				avl_remove(&b->tree, &r->node);
				buddy_put_spare(b, r);
				m.first_after = right;
				len += blk;
			} else {
				len -= blk;
				m.first_after = buddy_place(b, &m, a + len, o);
				right = NULL;
			}
		}
	}
	for (; len != 0; a += BUDDY_BLOCK(o), len -= BUDDY_BLOCK(o))
		buddy_place(b, &m, a, o);
	KASSERT(m.holder == NULL);
}

/* Records [base, base + size) as allocated or reserved. */
static void buddy_record(struct buddy *b, uint64_t base, uint64_t size, enum buddy_state state)
{
	struct buddy_desc *d = buddy_take_spare(b);

	d->base = base;
	d->size = size;
	d->state = (uint8_t)state;
	d->order = 0;
	avl_insert(&b->tree, &d->node);
	if (state == BUDDY_ALLOCATED)
		b->allocated_bytes += size;
	else
		b->reserved_bytes += size;
}

int buddy_init(struct buddy *b, uint64_t base, uint64_t size, unsigned min_order,
	       unsigned max_order, const struct buddy_ops *ops)
{
	if (min_order > max_order || max_order > 63 || size == 0 ||
	    (base & (BUDDY_BLOCK(min_order) - 1)) || (size & (BUDDY_BLOCK(min_order) - 1)) ||
	    base + (size - 1) < base)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->base = base;
	b->last = base + (size - 1);
	b->min_order = min_order;
	b->max_order = max_order;
	b->ops = *ops;
	avl_init(&b->tree, buddy_key);
	if (buddy_need(b, buddy_pieces(b, base, b->last)) < 0) {
		buddy_destroy(b);
		return -ENOMEM;
	}
	buddy_free_range(b, NULL, base, b->last);
	buddy_trim_spare(b);
	return 0;
}

static void buddy_destroy_at(struct buddy *b, struct avl_node *n)
{
	if (n == NULL)
		return;
	buddy_destroy_at(b, n->left);
	buddy_destroy_at(b, n->right);
	b->ops.desc_free(b->ops.ctx, buddy_desc_of(n));
}

void buddy_destroy(struct buddy *b)
{
	buddy_destroy_at(b, b->tree.root);
	while (b->nspare > 0)
		b->ops.desc_free(b->ops.ctx, buddy_take_spare(b));
	avl_init(&b->tree, buddy_key);
}

/*
 * The smallest order whose block holds x = max(size, align) bytes:
 * ceil(log2 x) is the bit length of x - 1 (x >= 2), and 64 when x > 2^63,
 * more than any max_order.
 */
static unsigned buddy_order_for(const struct buddy *b, uint64_t size, uint64_t align)
{
	uint64_t x = MAX(size, align);
	unsigned o = x <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(x - 1);

	return MAX(o, b->min_order);
}

/*
 * The tail [a + size, a + 2^j) of the block taken goes back as free blocks:
 * with r = 2^j - size, size + r carries into bit j, so the lowest set bit
 * of r is that of a + size (a is 2^j-aligned), and each block in turn is
 * the next set bit of r, ascending.  Each one's buddy lies below it, in the
 * allocation, so none can merge.  They follow the record in address order
 * and go in just before its successor.
 */
int buddy_alloc(struct buddy *b, uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t granule = BUDDY_BLOCK(b->min_order);

	if (size == 0 || (size & (granule - 1)) || (align != 0 && !IS_POW2(align)))
		return -EINVAL;
	unsigned k = buddy_order_for(b, size, align);
	if (k > b->max_order || (b->free_orders >> k) == 0)
		return -ENOMEM;
	unsigned j = k + (unsigned)__builtin_ctzll(b->free_orders >> k);
	struct buddy_desc *d = b->free_list[j];
	uint64_t a = d->base, r = BUDDY_BLOCK(j) - size;
	if (buddy_need(b, (uint64_t)__builtin_popcountll(r)) < 0)
		return -ENOMEM;
	buddy_unfree(b, d);
	d->size = size;
	d->state = BUDDY_ALLOCATED;
	d->order = 0;
	b->allocated_bytes += size;
	struct buddy_merge m = {NULL, r != 0 ? buddy_desc_of(avl_next(&d->node)) : NULL};
	for (uint64_t p = a + size; r != 0; r &= r - 1) {
		unsigned o = (unsigned)__builtin_ctzll(r);
		buddy_place(b, &m, p, o);
		p += BUDDY_BLOCK(o);
	}
	buddy_trim_spare(b);
	*out = a;
	return 0;
}

/* Checks that [base, last] is in range and wholly free; counts the spares
 * carving it out will need. */
static int buddy_carve_check(const struct buddy *b, uint64_t base, uint64_t last, uint64_t *need)
{
	if (base < b->base || last > b->last || last < base)
		return -ERANGE;
	struct buddy_desc *first = buddy_desc_of(avl_find_le(&b->tree, base)), *d = first;
	for (;;) {
		if (d->state != BUDDY_FREE)
			return -EBUSY;
		if (buddy_desc_last(d) >= last)
			break;
		d = buddy_desc_of(avl_find_ge(&b->tree, buddy_desc_last(d) + 1));
	}
	*need = 1;
	if (first->base < base)
		*need += buddy_pieces(b, first->base, base - 1);
	if (buddy_desc_last(d) > last)
		*need += buddy_pieces(b, last + 1, buddy_desc_last(d));
	return 0;
}

/* Takes [base, base + size) out of free space as an allocation or reservation. */
static int buddy_carve(struct buddy *b, uint64_t base, uint64_t size, enum buddy_state state)
{
	uint64_t granule = BUDDY_BLOCK(b->min_order), need;

	if (size == 0 || ((base | size) & (granule - 1)))
		return -EINVAL;
	uint64_t last = base + (size - 1);
	int err = buddy_carve_check(b, base, last, &need);
	if (err == 0)
		err = buddy_need(b, need);
	if (err < 0)
		return err;
	uint64_t head = base, tail = last;
	for (struct buddy_desc *d = buddy_desc_of(avl_find_le(&b->tree, base));
	     d != NULL && d->base <= last;) {
		uint64_t dlast = buddy_desc_last(d);
		head = MIN(head, d->base);
		tail = MAX(tail, dlast);
		struct buddy_desc *next = dlast >= last ? NULL : buddy_desc_of(avl_next(&d->node));
		buddy_unfree(b, d);
		avl_remove(&b->tree, &d->node);
		buddy_put_spare(b, d);
		d = next;
	}
	buddy_record(b, base, size, state);
	if (head < base)
		buddy_free_range(b, NULL, head, base - 1);
	if (tail > last)
		buddy_free_range(b, NULL, last + 1, tail);
	buddy_trim_spare(b);
	return 0;
}

int buddy_alloc_at(struct buddy *b, uint64_t base, uint64_t size)
{
	return buddy_carve(b, base, size, BUDDY_ALLOCATED);
}

int buddy_reserve(struct buddy *b, uint64_t base, uint64_t size)
{
	return buddy_carve(b, base, size, BUDDY_RESERVED);
}

/* Returns the allocation or reservation starting exactly at base to free space. */
static int buddy_release(struct buddy *b, uint64_t base, enum buddy_state state, uint64_t size)
{
	if (base & (BUDDY_BLOCK(b->min_order) - 1))
		return -EINVAL;
	if (base < b->base || base > b->last)
		return -ERANGE;
	struct buddy_desc *d = buddy_desc_of(avl_find_le(&b->tree, base));
	if (d == NULL || d->base != base || d->state != state)
		return -ENOENT;
	if (size != 0 && d->size != size)
		return -EINVAL;
	uint64_t last = buddy_desc_last(d);
	if (buddy_need(b, buddy_pieces(b, base, last) - 1) < 0)
		return -ENOMEM;
	if (state == BUDDY_ALLOCATED)
		b->allocated_bytes -= d->size;
	else
		b->reserved_bytes -= d->size;
	buddy_free_range(b, d, base, last);
	buddy_trim_spare(b);
	return 0;
}

int buddy_free(struct buddy *b, uint64_t base)
{
	return buddy_release(b, base, BUDDY_ALLOCATED, 0);
}

/*
 * The hole's own blocks come from the spares, plus a record for the tail;
 * the allocation's descriptor stays as the head's record, or without a head
 * is reused for the hole.
 */
int buddy_free_part(struct buddy *b, uint64_t base, uint64_t size)
{
	if (size == 0 || ((base | size) & (BUDDY_BLOCK(b->min_order) - 1)))
		return -EINVAL;
	uint64_t last = base + (size - 1);
	if (base < b->base || last > b->last || last < base)
		return -ERANGE;
	struct buddy_desc *d = buddy_desc_of(avl_find_le(&b->tree, base));
	uint64_t dlast = buddy_desc_last(d);
	if (d->state != BUDDY_ALLOCATED || dlast < last)
		return -ENOENT;
	bool tail = dlast > last, head = d->base < base;
	if (buddy_need(b, buddy_pieces(b, base, last) + tail - !head) < 0)
		return -ENOMEM;
	b->allocated_bytes -= size;
	if (head)
		d->size = base - d->base;
	if (tail) {
		b->allocated_bytes -= dlast - last;
		buddy_record(b, last + 1, dlast - last, BUDDY_ALLOCATED);
	}
	buddy_free_range(b, head ? NULL : d, base, last);
	buddy_trim_spare(b);
	return 0;
}

int buddy_unreserve(struct buddy *b, uint64_t base, uint64_t size)
{
	if (size == 0)
		return -EINVAL;
	return buddy_release(b, base, BUDDY_RESERVED, size);
}

int buddy_lookup(const struct buddy *b, uint64_t addr, struct buddy_info *out)
{
	if (addr < b->base || addr > b->last)
		return -ERANGE;
	struct buddy_desc *d = buddy_desc_of(avl_find_le(&b->tree, addr));
	KASSERT(d != NULL && addr <= buddy_desc_last(d));
	out->state = (enum buddy_state)d->state;
	out->base = d->base;
	out->size = d->size;
	return 0;
}

uint64_t buddy_largest_free(const struct buddy *b)
{
	return b->free_orders != 0 ? BUDDY_BLOCK(63 - __builtin_clzll(b->free_orders)) : 0;
}

struct buddy_walk {
	const struct buddy *b;
	uint64_t next;      /* the address the next descriptor must start at */
	bool done;          /* the range's last byte has been covered */
	uint64_t bytes[3];  /* per state */
	uint64_t free_count[64];
};

static void buddy_check_desc(struct buddy_walk *w, const struct buddy_desc *d)
{
	const struct buddy *b = w->b;

	if (w->done || d->base != w->next || d->size == 0)
		panic("buddy_check: gap or overlap at %llx", (unsigned long long)d->base);
	if (d->state == BUDDY_FREE) {
		if (d->order < b->min_order || d->order > b->max_order ||
		    d->size != BUDDY_BLOCK(d->order) || (d->base & (d->size - 1)))
			panic("buddy_check: bad free block at %llx", (unsigned long long)d->base);
		uint64_t bb = d->base ^ d->size;
		const struct buddy_desc *buddy = buddy_desc_of(avl_find_le(&b->tree, bb));
		if (d->order < b->max_order && buddy != NULL && buddy->base == bb &&
		    buddy->state == BUDDY_FREE && buddy->order == d->order)
			panic("buddy_check: free buddies at %llx not merged", (unsigned long long)d->base);
		w->free_count[d->order]++;
	} else if (d->state > BUDDY_RESERVED) {
		panic("buddy_check: bad state at %llx", (unsigned long long)d->base);
	}
	w->bytes[d->state] += d->size;
	w->done = buddy_desc_last(d) == b->last;
	w->next = buddy_desc_last(d) + 1;
}

static void buddy_check_walk(struct buddy_walk *w, const struct avl_node *n)
{
	if (n == NULL)
		return;
	buddy_check_walk(w, n->left);
	buddy_check_desc(w, container_of(n, struct buddy_desc, node));
	buddy_check_walk(w, n->right);
}

void buddy_check(const struct buddy *b)
{
	struct buddy_walk w = {.b = b, .next = b->base};

	avl_check(&b->tree);
	buddy_check_walk(&w, b->tree.root);
	if (!w.done)
		panic("buddy_check: the range is not covered to its end");
	if (w.bytes[BUDDY_FREE] != b->free_bytes || w.bytes[BUDDY_ALLOCATED] != b->allocated_bytes ||
	    w.bytes[BUDDY_RESERVED] != b->reserved_bytes)
		panic("buddy_check: byte counters disagree with the blocks");
	for (unsigned o = 0; o < 64; o++) {
		uint64_t n = 0;
		for (const struct buddy_desc *d = b->free_list[o]; d != NULL; d = d->next) {
			if (d->state != BUDDY_FREE || d->order != o || (d->next && d->next->prev != d))
				panic("buddy_check: free list %u is corrupt", o);
			n++;
		}
		if (n != w.free_count[o] || (n != 0) != ((b->free_orders >> o) & 1))
			panic("buddy_check: free list %u holds %llu blocks, the tree %llu", o,
			      (unsigned long long)n, (unsigned long long)w.free_count[o]);
	}
}
