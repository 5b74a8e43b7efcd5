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
 * The largest order o (min <= o <= max) of a block starting at a that is
 * aligned to 2^o and ends at or before last.
 */
static unsigned buddy_fit(const struct buddy *b, uint64_t a, uint64_t last)
{
	unsigned o = b->max_order;

	while (o > b->min_order &&
	       ((a & (BUDDY_BLOCK(o) - 1)) != 0 || last - a < BUDDY_BLOCK(o) - 1))
		o--;
	return o;
}

/* How many maximal aligned blocks make up [a, last] (a <= last). */
static uint64_t buddy_pieces(const struct buddy *b, uint64_t a, uint64_t last)
{
	uint64_t n = 0;

	for (;;) {
		unsigned o = buddy_fit(b, a, last);
		n++;
		if (last - a == BUDDY_BLOCK(o) - 1)
			return n;
		a += BUDDY_BLOCK(o);
	}
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

/* Gives spare descriptors beyond a small reserve back to the client. */
static void buddy_trim_spare(struct buddy *b)
{
	while (b->nspare > 4)
		b->ops.desc_free(b->ops.ctx, buddy_take_spare(b));
}

static void buddy_list_add(struct buddy *b, struct buddy_desc *d)
{
	d->prev = NULL;
	d->next = b->free_list[d->order];
	if (d->next != NULL)
		d->next->prev = d;
	b->free_list[d->order] = d;
}

static void buddy_list_remove(struct buddy *b, struct buddy_desc *d)
{
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		b->free_list[d->order] = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
}

/* Unlinks a free block entirely and keeps its descriptor as a spare. */
static void buddy_drop_free(struct buddy *b, struct buddy_desc *d)
{
	buddy_list_remove(b, d);
	avl_remove(&b->tree, &d->node);
	b->free_bytes -= d->size;
	buddy_put_spare(b, d);
}

/*
 * Frees the block at a of order o, merging with its buddy while it is free
 * and of the same order.  Blocks are aligned to their size in absolute
 * addresses, so the buddy of the block at a is at a ^ 2^o: that flips
 * between the two halves of the enclosing aligned block of order o + 1.
 * The buddy must lie inside the range, which it may not near its ends.
 */
static void buddy_free_block(struct buddy *b, uint64_t a, unsigned o)
{
	while (o < b->max_order) {
		uint64_t bb = a ^ BUDDY_BLOCK(o);
		if (bb < b->base || b->last - bb < BUDDY_BLOCK(o) - 1)
			break;
		struct buddy_desc *d = buddy_desc_of(avl_find_le(&b->tree, bb));
		if (d == NULL || d->base != bb || d->state != BUDDY_FREE || d->order != o)
			break;
		buddy_drop_free(b, d);
		a &= ~BUDDY_BLOCK(o);
		o++;
	}
	struct buddy_desc *d = buddy_take_spare(b);
	d->base = a;
	d->size = BUDDY_BLOCK(o);
	d->state = BUDDY_FREE;
	d->order = (uint8_t)o;
	avl_insert(&b->tree, &d->node);
	buddy_list_add(b, d);
	b->free_bytes += d->size;
}

/* Frees [a, last] as maximal aligned blocks (spares must suffice). */
static void buddy_free_range(struct buddy *b, uint64_t a, uint64_t last)
{
	for (;;) {
		unsigned o = buddy_fit(b, a, last);
		bool end = last - a == BUDDY_BLOCK(o) - 1;
		buddy_free_block(b, a, o);
		if (end)
			return;
		a += BUDDY_BLOCK(o);
	}
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
	buddy_free_range(b, base, b->last);
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

/* The smallest order whose block holds size bytes at the given alignment. */
static unsigned buddy_order_for(const struct buddy *b, uint64_t size, uint64_t align)
{
	unsigned o = b->min_order;

	while (o < 64 && (BUDDY_BLOCK(o) < size || BUDDY_BLOCK(o) < align))
		o++;
	return o;
}

int buddy_alloc(struct buddy *b, uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t granule = BUDDY_BLOCK(b->min_order);

	if (size == 0 || (size & (granule - 1)) || (align != 0 && !IS_POW2(align)))
		return -EINVAL;
	unsigned k = buddy_order_for(b, size, align), j = k;
	if (k > b->max_order)
		return -ENOMEM;
	while (j <= b->max_order && b->free_list[j] == NULL)
		j++;
	if (j > b->max_order)
		return -ENOMEM;
	struct buddy_desc *d = b->free_list[j];
	uint64_t a = d->base;
	/* split halves, the tail after size, and the record itself */
	uint64_t need = (j - k) + 1;
	if (size < BUDDY_BLOCK(k))
		need += buddy_pieces(b, a + size, a + (BUDDY_BLOCK(k) - 1));
	if (buddy_need(b, need) < 0)
		return -ENOMEM;
	buddy_drop_free(b, d);
	/* keep the lower half each time; the upper half is free (its buddy is taken) */
	while (j > k) {
		j--;
		buddy_free_block(b, a + BUDDY_BLOCK(j), j);
	}
	if (size < BUDDY_BLOCK(k))
		buddy_free_range(b, a + size, a + (BUDDY_BLOCK(k) - 1));
	buddy_record(b, a, size, BUDDY_ALLOCATED);
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
		buddy_drop_free(b, d);
		d = dlast >= last ? NULL : buddy_desc_of(avl_find_ge(&b->tree, dlast + 1));
	}
	if (head < base)
		buddy_free_range(b, head, base - 1);
	if (tail > last)
		buddy_free_range(b, last + 1, tail);
	buddy_record(b, base, size, state);
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
	if (buddy_need(b, buddy_pieces(b, base, last)) < 0)
		return -ENOMEM;
	avl_remove(&b->tree, &d->node);
	if (state == BUDDY_ALLOCATED)
		b->allocated_bytes -= d->size;
	else
		b->reserved_bytes -= d->size;
	buddy_put_spare(b, d);
	buddy_free_range(b, base, last);
	buddy_trim_spare(b);
	return 0;
}

int buddy_free(struct buddy *b, uint64_t base)
{
	return buddy_release(b, base, BUDDY_ALLOCATED, 0);
}

/*
 * The hole's own blocks come from the spares, plus a record for the tail;
 * the allocation's descriptor stays as the head's record, or goes back to
 * the spares when there is no head.
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
	bool tail = dlast > last;
	if (buddy_need(b, buddy_pieces(b, base, last) + tail) < 0)
		return -ENOMEM;
	b->allocated_bytes -= size;
	if (d->base < base) {
		d->size = base - d->base;
	} else {
		avl_remove(&b->tree, &d->node);
		buddy_put_spare(b, d);
	}
	if (tail) {
		b->allocated_bytes -= dlast - last;
		buddy_record(b, last + 1, dlast - last, BUDDY_ALLOCATED);
	}
	buddy_free_range(b, base, last);
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
	for (int o = (int)b->max_order; o >= (int)b->min_order; o--)
		if (b->free_list[o] != NULL)
			return BUDDY_BLOCK(o);
	return 0;
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
		if (n != w.free_count[o])
			panic("buddy_check: free list %u holds %llu blocks, the tree %llu", o,
			      (unsigned long long)n, (unsigned long long)w.free_count[o]);
	}
}
