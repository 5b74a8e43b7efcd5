/*
 * vm_object: see vm_object.h.  The treap is a binary search tree on page
 * index that is also a max-heap on a priority derived from each page's
 * global frame index; rotations on insert and delete keep both orders.
 */
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_object.h"
#include "core/mm/vm_pageout.h"

/* a 32-bit integer mix: neighbouring frames get unrelated priorities */
uint32_t vm_object_priority(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	return x ^ (x >> 16);
}

static uint32_t vm_object_prio(const struct vm_page *m)
{
	return vm_object_priority(vm_page_index(m));
}

/* Rotations: the child at *link rises above its parent. */
static void vm_object_rotate_right(uint32_t *link)
{
	struct vm_page *p = vm_page_at(*link), *l = vm_page_at(p->tleft);

	p->tleft = l->tright;
	l->tright = *link;
	*link = vm_page_index(l);
}

static void vm_object_rotate_left(uint32_t *link)
{
	struct vm_page *p = vm_page_at(*link), *r = vm_page_at(p->tright);

	p->tright = r->tleft;
	r->tleft = *link;
	*link = vm_page_index(r);
}

struct vm_object *vm_object_allocate(vm_size_t size)
{
	struct vm_object *obj = NEW(struct vm_object);

	if (obj == NULL)
		return NULL;
	KASSERT(size > 0 && IS_ALIGNED(size, PAGE_SIZE) && size / PAGE_SIZE <= VM_PAGE_PINDEX_LIMIT);
	static uint32_t next_id;

	obj->size = size;
	obj->ref_count = 1;
	obj->id = ++next_id;
	obj->root = VM_PAGE_NONE;
	obj->around = 1;
	irq_lock_init(&obj->lock, "vm_object");
	return obj;
}

void vm_object_reference(struct vm_object *obj)
{
	irq_lock(&obj->lock);
	KASSERT(obj->ref_count > 0);
	obj->ref_count++;
	irq_unlock(&obj->lock);
}

/*
 * Takes some page out of the tree at *root and returns it (NULL when the
 * tree is empty), with no recursion and no order kept: a left child is
 * rotated up until the root has none, then the root goes.  Emptying a
 * tree this way takes time linear in its size, however deep it is.
 */
static struct vm_page *vm_object_detach_any(uint32_t *root)
{
	struct vm_page *m;

	while ((m = vm_page_at(*root)) != NULL && m->tleft != VM_PAGE_NONE)
		vm_object_rotate_right(root);
	if (m == NULL)
		return NULL;
	*root = m->tright;
	m->tleft = m->tright = VM_PAGE_NONE;
	m->object = NULL;
	return m;
}

/* A page out of every tree and queue, back to the free pages. */
static void vm_object_page_release(struct vm_page *m)
{
	vm_page_dequeue(m);
	while (m->wire_count > 0)
		vm_page_unwire(m);
	vm_page_free(m);
}

/* Frees every page of the tree; the pages must be unmapped. */
static void vm_object_free_tree(uint32_t root)
{
	struct vm_page *m;

	while ((m = vm_object_detach_any(&root)) != NULL) {
		KASSERT(!(m->flags & VM_PAGE_BUSY));
		vm_object_page_release(m);
	}
}

void vm_object_deallocate(struct vm_object *obj)
{
	while (obj != NULL) {
		irq_lock(&obj->lock);
		KASSERT(obj->ref_count > 0);
		bool last = --obj->ref_count == 0;
		irq_unlock(&obj->lock);
		if (!last)
			return;
		/* the last reference: write what a file must keep, free the pages,
		 * let the pager go, drop the hold on the backing object */
		struct vm_object *backing = obj->backing;
		if ((obj->flags & OBJ_FILE) &&
		    vm_pageout_clean_object(obj, 0, obj->size / PAGE_SIZE) < 0)
			log_error("vm_object: dirty pages of a file lost: its pager failed");
		vm_object_free_tree(obj->root);
		vm_pager_dealloc(obj);
		mm_mfree(obj->advice);
		DELETE(obj);
		obj = backing;
	}
}

struct vm_object *vm_object_shadow(struct vm_object *obj)
{
	struct vm_object *s = vm_object_allocate(obj->size);

	if (s != NULL)
		s->backing = obj;
	return s;
}

/*
 * Moves every page of the tree at root into obj unless obj has that index,
 * resident or in its store.  A page that moves is dirty when its old
 * owner had a store (stored: that copy is about to be dropped).
 */
static void vm_object_absorb(struct vm_object *obj, uint32_t root, bool stored)
{
	struct vm_page *m;

	while ((m = vm_object_detach_any(&root)) != NULL) {
		KASSERT(!(m->flags & VM_PAGE_BUSY));
		if (vm_object_page_lookup(obj, m->pindex) == NULL &&
		    (obj->pager == NULL || vm_pager_has_page(obj, m->pindex, NULL) == 0)) {
			if (stored) {
				m->flags |= VM_PAGE_DIRTY;
				if (m->queue == VM_Q_CACHE) /* the cache holds clean pages only */
					vm_page_deactivate(m);
			}
			vm_object_page_insert(obj, m, m->pindex);
		} else {
			/* hidden by the shadow's own copy: nobody can see it any more */
			pmap_page_remove_all(m);
			vm_object_page_release(m);
		}
	}
}

/* vm_pager absorb's hides(): obj has a page of its own at pindex. */
static bool vm_object_hides(void *obj, uint64_t pindex)
{
	return vm_object_page_lookup(obj, pindex) != NULL;
}

/*
 * Resident pages first, judged against obj's store as it stands; then
 * the backing store's copies of what obj now holds resident are dropped
 * and the rest move into obj's store (FreeBSD's swap_pager_copy).  When
 * the store runs out of memory part way, the chain stays as it is, which
 * is still correct: b's remaining copies are of indices obj does not have.
 */
void vm_object_collapse(struct vm_object *obj)
{
	struct vm_object *b;

	while ((b = obj->backing) != NULL && b->ref_count == 1 && !(b->flags & OBJ_FILE) &&
	       vm_pager_can_absorb(obj, b)) {
		uint32_t root = b->root;
		b->root = VM_PAGE_NONE;
		b->resident = 0;
		b->gen++;
		vm_object_absorb(obj, root, b->pager != NULL);
		if (vm_pager_absorb(obj, b, vm_object_hides, obj) < 0)
			return;
		obj->backing = b->backing;
		b->backing = NULL;
		vm_object_deallocate(b);
	}
}

unsigned vm_object_chain_length(const struct vm_object *obj)
{
	unsigned n = 0;

	for (; obj != NULL; obj = obj->backing)
		n++;
	return n;
}

struct vm_page *vm_object_page_find(struct vm_object *obj, uint64_t pindex,
				    struct vm_object_spot *spot)
{
	uint32_t i = obj->root;
	struct vm_page *m;
	unsigned depth = 0;

	while ((m = vm_page_at(i)) != NULL && m->pindex != pindex) {
		/* hashed priorities keep the depth near 2 ln n; a path deeper
		 * than the spot holds is not kept */
		if (spot != NULL && depth < VM_OBJECT_DEPTH_MAX)
			spot->path[depth] = i;
		depth++;
		i = pindex < m->pindex ? m->tleft : m->tright;
	}
	if (spot != NULL) {
		/* where a page is, no other can go; nor can the spot of a path
		 * too deep to keep be used */
		spot->obj = m == NULL && depth <= VM_OBJECT_DEPTH_MAX ? obj : NULL;
		spot->pindex = pindex;
		spot->gen = obj->gen;
		spot->depth = depth;
	}
	return m;
}

struct vm_page *vm_object_page_lookup(struct vm_object *obj, uint64_t pindex)
{
	return vm_object_page_find(obj, pindex, NULL);
}

struct vm_page *vm_object_page_next(struct vm_object *obj, uint64_t pindex)
{
	struct vm_page *best = NULL;

	for (struct vm_page *m = vm_page_at(obj->root); m != NULL;) {
		if (m->pindex == pindex)
			return m;
		if (m->pindex > pindex) {
			best = m;
			m = vm_page_at(m->tleft);
		} else {
			m = vm_page_at(m->tright);
		}
	}
	return best;
}

void vm_object_page_remove_from(struct vm_object *obj, uint64_t pindex)
{
	vm_object_page_remove_range(obj, pindex, obj->size / PAGE_SIZE);
}

void vm_object_page_remove_range(struct vm_object *obj, uint64_t first, uint64_t end)
{
	struct vm_page *m;

	if (first >= end)
		return;
	/* a block given back takes its advice along */
	vm_object_set_advice(obj, first, end, VM_ADVICE_NORMAL);
	vm_pager_free_range(obj, first, end - first);
	while ((m = vm_object_page_next(obj, first)) != NULL && m->pindex < end) {
		KASSERT(!(m->flags & VM_PAGE_BUSY) && m->wire_count == 0);
		pmap_page_remove_all(m);
		vm_object_page_remove(obj, m);
		vm_object_page_release(m);
	}
}

/* The link below the spot's k-th page toward its index (the root for 0). */
static uint32_t *vm_object_spot_link(struct vm_object *obj, const struct vm_object_spot *spot,
				     unsigned k)
{
	if (k == 0)
		return &obj->root;
	struct vm_page *p = vm_page_at(spot->path[k - 1]);
	return spot->pindex < p->pindex ? &p->tleft : &p->tright;
}

/* m hangs where the spot's search ended and rises while it outranks its
 * parent (on average fewer than two levels). */
static void vm_object_insert_at_spot(struct vm_object *obj, uint32_t mi, uint32_t prio,
				     const struct vm_object_spot *spot)
{
	unsigned d = spot->depth;

	*vm_object_spot_link(obj, spot, d) = mi;
	for (; d > 0 && prio > vm_object_priority(spot->path[d - 1]); d--) {
		uint32_t *link = vm_object_spot_link(obj, spot, d - 1);
		if (spot->pindex < vm_page_at(*link)->pindex)
			vm_object_rotate_right(link);
		else
			vm_object_rotate_left(link);
	}
}

/* Without a spot: top-down, m takes the place of the first page it
 * outranks, whose subtree splits by index into m's two; no recursion and
 * no path, so any depth will do. */
static void vm_object_insert_top_down(struct vm_object *obj, struct vm_page *m, uint32_t mi,
				      uint32_t prio)
{
	uint32_t *link = &obj->root;
	struct vm_page *p;

	while ((p = vm_page_at(*link)) != NULL && vm_object_priority(*link) >= prio) {
		KASSERT(p->pindex != m->pindex);
		link = m->pindex < p->pindex ? &p->tleft : &p->tright;
	}
	uint32_t rest = *link, *lo = &m->tleft, *hi = &m->tright;
	*link = mi;
	while ((p = vm_page_at(rest)) != NULL) {
		KASSERT(p->pindex != m->pindex);
		if (p->pindex < m->pindex) {
			*lo = rest;
			lo = &p->tright;
			rest = p->tright;
		} else {
			*hi = rest;
			hi = &p->tleft;
			rest = p->tleft;
		}
	}
	*lo = *hi = VM_PAGE_NONE;
}

void vm_object_page_insert_spot(struct vm_object *obj, struct vm_page *m, uint64_t pindex,
				struct vm_object_spot *spot)
{
	KASSERT(m->object == NULL && pindex < obj->size / PAGE_SIZE);
	irq_lock(&obj->lock);
	m->object = obj;
	m->pindex = pindex;
	m->tleft = m->tright = VM_PAGE_NONE;
	uint32_t mi = vm_page_index(m), prio = vm_object_priority(mi);
	if (spot != NULL && spot->obj == obj && spot->pindex == pindex && spot->gen == obj->gen)
		vm_object_insert_at_spot(obj, mi, prio, spot);
	else
		vm_object_insert_top_down(obj, m, mi, prio);
	obj->resident++;
	obj->gen++;
	irq_unlock(&obj->lock);
}

void vm_object_page_insert(struct vm_object *obj, struct vm_page *m, uint64_t pindex)
{
	vm_object_page_insert_spot(obj, m, pindex, NULL);
}

/* Finds m below *link, then sinks it by rotations toward the higher-priority
 * child until it is a leaf, and unlinks it; no recursion, any depth. */
static void vm_object_remove_at(uint32_t *link, struct vm_page *m)
{
	struct vm_page *p;

	while ((p = vm_page_at(*link)) != m) {
		KASSERT(p != NULL);
		link = m->pindex < p->pindex ? &p->tleft : &p->tright;
	}
	for (;;) {
		struct vm_page *l = vm_page_at(m->tleft), *r = vm_page_at(m->tright);
		if (l == NULL && r == NULL) {
			*link = VM_PAGE_NONE;
			return;
		}
		if (r == NULL || (l != NULL && vm_object_prio(l) > vm_object_prio(r))) {
			vm_object_rotate_right(link);
			link = &vm_page_at(*link)->tright;
		} else {
			vm_object_rotate_left(link);
			link = &vm_page_at(*link)->tleft;
		}
	}
}

void vm_object_page_remove(struct vm_object *obj, struct vm_page *m)
{
	KASSERT(m->object == obj);
	irq_lock(&obj->lock);
	vm_object_remove_at(&obj->root, m);
	m->object = NULL;
	m->tleft = m->tright = VM_PAGE_NONE;
	obj->resident--;
	obj->gen++;
	irq_unlock(&obj->lock);
}

static uint64_t vm_object_check_at(struct vm_object *obj, uint32_t i, uint64_t lo, uint64_t hi,
				   uint32_t max_prio)
{
	struct vm_page *m = vm_page_at(i);

	if (m == NULL)
		return 0;
	if (m->object != obj || m->pindex < lo || m->pindex >= hi ||
	    vm_object_prio(m) > max_prio || m->pindex >= obj->size / PAGE_SIZE)
		panic("vm_object_check: page %llu breaks the treap", (unsigned long long)m->pindex);
	uint32_t pr = vm_object_prio(m);
	return 1 + vm_object_check_at(obj, m->tleft, lo, m->pindex, pr) +
	       vm_object_check_at(obj, m->tright, m->pindex + 1, hi, pr);
}

void vm_object_check(struct vm_object *obj)
{
	irq_lock(&obj->lock);
	uint64_t n = vm_object_check_at(obj, obj->root, 0, UINT64_MAX, UINT32_MAX);
	uint64_t resident = obj->resident;
	irq_unlock(&obj->lock);
	if (n != resident)
		panic("vm_object_check: %llu pages in the treap, %llu counted",
		      (unsigned long long)n, (unsigned long long)resident);
}
