/*
 * vm_map: see vm_map.h.  Space comes from the map's buddy; the entry tree
 * says what each allocated or reserved piece is.  Both change together
 * under the map lock, the buddy first so that a failure leaves no entry.
 */
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_pageout.h"

static struct vm_map vm_kernel_map_store;
static bool vm_kernel_map_ready;

static uint64_t vm_map_key(const struct avl_node *n)
{
	return container_of(n, struct vm_map_entry, node)->start;
}

static void *vm_map_desc_alloc(void *ctx __unused)
{
	return mm_malloc(BUDDY_DESC_SIZE);
}

static void vm_map_desc_free(void *ctx __unused, void *d)
{
	mm_mfree(d);
}

static const struct buddy_ops vm_map_buddy_ops = {vm_map_desc_alloc, vm_map_desc_free, NULL};

int vm_map_init(struct vm_map *map, struct pmap *pmap, vaddr_t start, vm_size_t size)
{
	memset(map, 0, sizeof(*map));
	map->start = start;
	map->end = start + size;
	map->pmap = pmap;
	irq_lock_init(&map->lock, "vm_map");
	avl_init(&map->entries, vm_map_key);
	/* largest block 2^40: a terabyte per allocation is plenty */
	return buddy_init(&map->space, start, size, PAGE_SHIFT, 40, &vm_map_buddy_ops);
}

struct vm_map *vm_map_kernel(void)
{
	return vm_kernel_map_ready ? &vm_kernel_map_store : NULL;
}

int vm_map_kernel_init(vaddr_t start, vm_size_t size)
{
	int err = vm_map_init(&vm_kernel_map_store, pmap_kernel(), start, size);
	vm_kernel_map_ready = err == 0;
	return err;
}

static struct vm_map_entry *vm_map_entry_at(struct vm_map *map, vaddr_t va)
{
	struct avl_node *n = avl_find_le(&map->entries, va);
	struct vm_map_entry *e = n ? container_of(n, struct vm_map_entry, node) : NULL;

	return e != NULL && va < e->end ? e : NULL;
}

/* Records an entry for space the buddy already gave out. */
static struct vm_map_entry *vm_map_add_entry(struct vm_map *map, vaddr_t start, vm_size_t size,
					     enum vm_entry_kind kind)
{
	struct vm_map_entry *e = NEW(struct vm_map_entry);

	if (e == NULL)
		return NULL;
	e->start = start;
	e->end = start + size;
	e->kind = (uint8_t)kind;
	avl_insert(&map->entries, &e->node);
	return e;
}

static bool vm_map_size_ok(vm_size_t size)
{
	return size > 0 && IS_ALIGNED(size, PAGE_SIZE);
}

/* Takes space (at addr, or anywhere when !fixed) and makes an entry of it. */
static int vm_map_take(struct vm_map *map, bool fixed, vaddr_t addr, vm_size_t size,
		       enum vm_entry_kind kind, struct vm_map_entry **out)
{
	int err;

	if (!vm_map_size_ok(size) || (fixed && !IS_ALIGNED(addr, PAGE_SIZE)))
		return -EINVAL;
	irq_lock(&map->lock);
	if (!fixed)
		err = buddy_alloc(&map->space, size, 0, &addr);
	else if (kind == VM_ENTRY_RESERVED)
		err = buddy_reserve(&map->space, addr, size);
	else
		err = buddy_alloc_at(&map->space, addr, size);
	if (err == 0 && (*out = vm_map_add_entry(map, addr, size, kind)) == NULL) {
		if (kind == VM_ENTRY_RESERVED)
			buddy_unreserve(&map->space, addr, size);
		else
			buddy_free(&map->space, addr);
		err = -ENOMEM;
	}
	irq_unlock(&map->lock);
	return err;
}

int vm_map_allocate_space(struct vm_map *map, vm_size_t size, vaddr_t *out)
{
	struct vm_map_entry *e;
	int err = vm_map_take(map, false, 0, size, VM_ENTRY_SPACE, &e);

	if (err == 0)
		*out = e->start;
	return err;
}

int vm_map_reserve_space(struct vm_map *map, vaddr_t addr, vm_size_t size)
{
	struct vm_map_entry *e;

	return vm_map_take(map, true, addr, size, VM_ENTRY_RESERVED, &e);
}

static int vm_map_insert(struct vm_map *map, bool fixed, vaddr_t addr, struct vm_object *obj,
			 vm_offset_t offset, vm_size_t size, vm_prot_t prot, unsigned flags,
			 vaddr_t *out)
{
	struct vm_map_entry *e;

	if (!IS_ALIGNED(offset, PAGE_SIZE) || offset > obj->size || !vm_map_size_ok(size) ||
	    size > obj->size - offset)
		return -EINVAL;
	int err = vm_map_take(map, fixed, addr, size, VM_ENTRY_OBJECT, &e);
	if (err < 0)
		return err;
	vm_object_reference(obj);
	e->object = obj;
	e->offset = offset;
	e->prot = prot;
	e->flags = (uint16_t)flags;
	if (out != NULL)
		*out = e->start;
	return 0;
}

int vm_map_insert_object(struct vm_map *map, struct vm_object *obj, vm_offset_t offset,
			 vm_size_t size, vm_prot_t prot, unsigned flags, vaddr_t *out)
{
	return vm_map_insert(map, false, 0, obj, offset, size, prot, flags, out);
}

int vm_map_insert_object_at(struct vm_map *map, vaddr_t addr, struct vm_object *obj,
			    vm_offset_t offset, vm_size_t size, vm_prot_t prot, unsigned flags)
{
	return vm_map_insert(map, true, addr, obj, offset, size, prot, flags, NULL);
}

/* Takes an entry out of the map (under its lock): unmaps it, frees its
 * space.  vm_map_drop_done finishes it once the lock is dropped. */
static void vm_map_drop(struct vm_map *map, struct vm_map_entry *e)
{
	irq_lock_assert_held(&map->lock);
	pmap_remove(map->pmap, e->start, e->end);
	avl_remove(&map->entries, &e->node);
	if (e->kind == VM_ENTRY_RESERVED)
		buddy_unreserve(&map->space, e->start, e->end - e->start);
	else
		buddy_free(&map->space, e->start);
}

/* The object's last reference may write a file back, free swap slots and
 * kernel memory, which can come from this very map: never under its lock. */
static void vm_map_drop_done(struct vm_map_entry *e)
{
	if (e->object != NULL)
		vm_object_deallocate(e->object);
	DELETE(e);
}

static void vm_map_release_entry(struct vm_map *map, struct vm_map_entry *e)
{
	irq_lock(&map->lock);
	vm_map_drop(map, e);
	irq_unlock(&map->lock);
	vm_map_drop_done(e);
}

int vm_map_insert_heap(struct vm_map *map, struct vm_object *obj, vaddr_t at, vm_size_t size,
		       vm_prot_t prot, unsigned flags, vaddr_t *out)
{
	struct vm_map_entry *e;

	if (!vm_map_size_ok(size) || size > obj->size)
		return -EINVAL;
	int err = vm_map_take(map, at != 0, at, size, VM_ENTRY_OBJECT, &e);
	if (err < 0)
		return err;
	if (e->end > obj->size) {
		vm_map_release_entry(map, e);
		return -EINVAL;
	}
	vm_object_reference(obj);
	e->object = obj;
	e->offset = e->start;
	e->prot = prot;
	e->flags = (uint16_t)flags;
	*out = e->start;
	return 0;
}

int vm_map_allocate(struct vm_map *map, vm_size_t size, vm_prot_t prot, vaddr_t *out)
{
	if (!vm_map_size_ok(size))
		return -EINVAL;
	struct vm_object *obj = vm_object_allocate(size);
	if (obj == NULL)
		return -ENOMEM;
	vaddr_t va;
	int err = vm_map_insert_object(map, obj, 0, size, prot, MAP_ENTRY_WIRED, &va);
	vm_object_deallocate(obj); /* the entry holds the reference now */
	if (err < 0)
		return err;
	for (vaddr_t a = va; err == 0 && a < va + size; a += PAGE_SIZE)
		err = vm_fault(map, a, prot, false);
	if (err < 0) {
		vm_map_free(map, va); /* all or nothing: drop the pages made so far */
		return err;
	}
	*out = va;
	return 0;
}

static int vm_map_release(struct vm_map *map, vaddr_t addr, bool reserved, vm_size_t size)
{
	irq_lock(&map->lock);
	struct vm_map_entry *e = vm_map_entry_at(map, addr);
	int err = 0;
	if (addr < map->start || addr >= map->end)
		err = -ERANGE;
	else if (e == NULL || e->start != addr || (e->kind == VM_ENTRY_RESERVED) != reserved)
		err = -ENOENT;
	else if (e->kind == VM_ENTRY_SUBMAP)
		err = -EBUSY; /* vm_map_remove_submap */
	else if (reserved && e->end - e->start != size)
		err = -EINVAL;
	if (err == 0)
		vm_map_drop(map, e);
	irq_unlock(&map->lock);
	if (err == 0)
		vm_map_drop_done(e);
	return err;
}

void vm_map_remove_all(struct vm_map *map)
{
	for (;;) {
		irq_lock(&map->lock);
		struct avl_node *n = avl_find_le(&map->entries, UINT64_MAX);
		struct vm_map_entry *e = n ? container_of(n, struct vm_map_entry, node) : NULL;
		if (e == NULL) {
			irq_unlock(&map->lock);
			return;
		}
		KASSERT(e->kind != VM_ENTRY_SUBMAP);
		vm_map_drop(map, e);
		irq_unlock(&map->lock);
		vm_map_drop_done(e);
	}
}

int vm_map_free(struct vm_map *map, vaddr_t addr)
{
	return vm_map_release(map, addr, false, 0);
}

int vm_map_unreserve_space(struct vm_map *map, vaddr_t addr, vm_size_t size)
{
	return vm_map_release(map, addr, true, size);
}

/* The copy is taken, and the object referenced, under the map lock, so
 * the object outlives a later removal of the entry. */
static int vm_map_lookup_ref(struct vm_map *map, vaddr_t va, struct vm_map_entry *out, bool ref)
{
	if (va < map->start || va >= map->end)
		return -ERANGE;
	irq_lock(&map->lock);
	struct vm_map_entry *e = vm_map_entry_at(map, va);
	if (e != NULL) {
		*out = *e;
		if (ref && e->kind == VM_ENTRY_OBJECT)
			vm_object_reference(e->object);
	}
	irq_unlock(&map->lock);
	if (e == NULL)
		return -ENOENT;
	return out->kind == VM_ENTRY_SUBMAP ? vm_map_lookup_ref(out->submap, va, out, ref) : 0;
}

int vm_map_lookup(struct vm_map *map, vaddr_t va, struct vm_map_entry *out)
{
	return vm_map_lookup_ref(map, va, out, false);
}

int vm_map_lookup_object(struct vm_map *map, vaddr_t va, struct vm_map_entry *out)
{
	int err = vm_map_lookup_ref(map, va, out, true);

	if (err == 0 && out->kind != VM_ENTRY_OBJECT)
		err = -EFAULT;
	return err;
}

int vm_map_create_submap(struct vm_map *parent, vaddr_t *addr, vm_size_t size, bool fixed,
			 struct vm_map **out)
{
	struct vm_map *sub = NEW(struct vm_map);
	struct vm_map_entry *e;

	if (sub == NULL)
		return -ENOMEM;
	int err = vm_map_take(parent, fixed, *addr, size, VM_ENTRY_SUBMAP, &e);
	if (err == 0 && (err = vm_map_init(sub, parent->pmap, e->start, size)) < 0)
		vm_map_release_entry(parent, e);
	if (err < 0) {
		DELETE(sub);
		return err;
	}
	e->submap = sub;
	e->prot = VM_PROT_ALL;
	*addr = e->start;
	*out = sub;
	return 0;
}

int vm_map_remove_submap(struct vm_map *parent, struct vm_map *sub)
{
	irq_lock(&parent->lock);
	struct vm_map_entry *e = vm_map_entry_at(parent, sub->start);
	int err = e == NULL || e->kind != VM_ENTRY_SUBMAP || e->submap != sub ? -ENOENT
		  : sub->entries.count != 0					   ? -EBUSY
										   : 0;
	irq_unlock(&parent->lock);
	if (err < 0)
		return err;
	buddy_destroy(&sub->space);
	DELETE(sub);
	e->submap = NULL;
	vm_map_release_entry(parent, e);
	return 0;
}

/*
 * Calls fn for the part of each object entry inside [addr, addr + size),
 * as (its object, first page index, end index, arg), entry by entry, each
 * looked up afresh: the map lock is not held while a pager does I/O.
 * Returns the first error fn returned; fn is called for every part.
 */
static int vm_map_each_object(struct vm_map *map, vaddr_t addr, vm_size_t size,
			      int (*fn)(struct vm_object *obj, uint64_t first, uint64_t end,
					void *arg),
			      void *arg)
{
	struct vm_map_entry e;
	int err = 0;

	if (!vm_map_size_ok(size) || !IS_ALIGNED(addr, PAGE_SIZE) || addr + size < addr)
		return -EINVAL;
	for (vaddr_t va = addr; va < addr + size;) {
		if (vm_map_lookup_object(map, va, &e) < 0) {
			va += PAGE_SIZE;
			continue;
		}
		vaddr_t end = MIN(e.end, addr + size);
		uint64_t first = (va - e.start + e.offset) / PAGE_SIZE;
		int r = fn(e.object, first, first + (end - va) / PAGE_SIZE, arg);
		if (err == 0)
			err = r;
		vm_object_deallocate(e.object);
		va = end;
	}
	return err;
}

static int vm_map_sync_object(struct vm_object *obj, uint64_t first, uint64_t end, void *arg)
{
	(void)arg;
	return obj->flags & OBJ_FILE ? vm_pageout_clean_object(obj, first, end - first) : 0;
}

int vm_map_sync(struct vm_map *map, vaddr_t addr, vm_size_t size)
{
	return vm_map_each_object(map, addr, size, vm_map_sync_object, NULL);
}

static int vm_map_advise_object(struct vm_object *obj, uint64_t first, uint64_t end, void *arg)
{
	enum vm_advice advice = *(const enum vm_advice *)arg;

	switch (advice) {
	case VM_ADVICE_WILLNEED:
		return vm_fault_willneed(obj, first, end);
	case VM_ADVICE_DONTNEED:
		return vm_pageout_dontneed(obj, first, end);
	default:
		return vm_object_set_advice(obj, first, end, advice);
	}
}

int vm_map_advise(struct vm_map *map, vaddr_t addr, vm_size_t size, unsigned advice)
{
	if (advice > VM_ADVICE_DONTNEED)
		return -EINVAL;
	enum vm_advice a = (enum vm_advice)advice;
	return vm_map_each_object(map, addr, size, vm_map_advise_object, &a);
}

int vm_map_copy_entry(struct vm_map *src, vaddr_t addr, struct vm_map *dst, vaddr_t *out)
{
	irq_lock(&src->lock);
	struct vm_map_entry *e = vm_map_entry_at(src, addr);
	if (e == NULL || e->start != addr || e->kind != VM_ENTRY_OBJECT) {
		irq_unlock(&src->lock);
		return -ENOENT;
	}
	struct vm_object *shared = e->object;
	struct vm_object *mine = vm_object_shadow(shared);
	if (mine == NULL) {
		irq_unlock(&src->lock);
		return -ENOMEM;
	}
	/* the entry's reference on the shared object moves to its new shadow */
	e->object = mine;
	e->flags |= MAP_ENTRY_COW;
	struct vm_map_entry copy = *e;
	pmap_protect(src->pmap, e->start, e->end, (vm_prot_t)(e->prot & ~VM_PROT_WRITE));
	irq_unlock(&src->lock);

	vm_object_reference(shared);
	struct vm_object *theirs = vm_object_shadow(shared);
	int err = theirs == NULL ? -ENOMEM
				 : vm_map_insert_object(dst, theirs, copy.offset, copy.end - copy.start,
							copy.prot, copy.flags, out);
	if (theirs != NULL)
		vm_object_deallocate(theirs); /* the new entry holds it */
	else
		vm_object_deallocate(shared);
	return err;
}

struct vm_map_walk {
	struct vm_map *map;
	vaddr_t prev_end;
	uint64_t bytes; /* in entries */
};

static void vm_map_check_at(struct vm_map_walk *w, struct avl_node *n)
{
	if (n == NULL)
		return;
	vm_map_check_at(w, n->left);
	struct vm_map_entry *e = container_of(n, struct vm_map_entry, node);
	struct buddy_info info;
	if (e->start < w->prev_end || e->end <= e->start || e->end > w->map->end)
		panic("vm_map_check: entry %llx-%llx out of order or overlapping",
		      (unsigned long long)e->start, (unsigned long long)e->end);
	if (buddy_lookup(&w->map->space, e->start, &info) < 0 || info.base != e->start ||
	    info.size != e->end - e->start ||
	    info.state != (e->kind == VM_ENTRY_RESERVED ? BUDDY_RESERVED : BUDDY_ALLOCATED))
		panic("vm_map_check: entry %llx disagrees with the space allocator",
		      (unsigned long long)e->start);
	if (e->kind == VM_ENTRY_OBJECT) {
		if (e->object == NULL || e->offset + (e->end - e->start) > e->object->size)
			panic("vm_map_check: entry %llx maps past its object", (unsigned long long)e->start);
		vm_object_check(e->object);
	}
	if (e->kind == VM_ENTRY_SUBMAP) {
		if (e->submap == NULL || e->submap->start != e->start || e->submap->end != e->end)
			panic("vm_map_check: submap entry %llx does not match its map",
			      (unsigned long long)e->start);
		vm_map_check(e->submap);
	}
	w->prev_end = e->end;
	w->bytes += e->end - e->start;
	vm_map_check_at(w, n->right);
}

void vm_map_check(struct vm_map *map)
{
	struct vm_map_walk w = {map, map->start, 0};

	irq_lock(&map->lock);
	buddy_check(&map->space);
	avl_check(&map->entries);
	vm_map_check_at(&w, map->entries.root);
	/* every allocated or reserved byte of space belongs to an entry */
	bool same = w.bytes == map->space.allocated_bytes + map->space.reserved_bytes;
	irq_unlock(&map->lock);
	if (!same)
		panic("vm_map_check: entries cover %llu bytes, the space allocator %llu",
		      (unsigned long long)w.bytes,
		      (unsigned long long)(map->space.allocated_bytes + map->space.reserved_bytes));
}
