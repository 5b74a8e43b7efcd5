/*
 * vm_pager: the checked doors to a pager (see vm_pager.h).  Each wrapper
 * checks the object has a pager with that op, the range lies inside the
 * object, and the pager answered with a code from the contract.
 */
#include "core/mm/vm_object.h"
#include "core/mm/vm_pager.h"

static int vm_pager_check(struct vm_object *obj, unsigned n, uint64_t pindex)
{
	if (obj->pager == NULL || n == 0 || n > VM_PAGER_MAX_PAGES ||
	    pindex + n > obj->size / PAGE_SIZE)
		return -EINVAL;
	return 0;
}

/* Contract violations by a pager are bugs in it, not I/O errors. */
static int vm_pager_answer(const struct vm_object *obj, const char *op, int r)
{
	if (r > 0 ||
	    (r < 0 && r != -ENOENT && r != -EIO && r != -ENOSPC && r != -ENOMEM && r != -EBUSY))
		panic("vm_pager: %s.%s answered %d", obj->pager->ops->name, op, r);
	return r;
}

int vm_pager_has_page(struct vm_object *obj, uint64_t pindex, unsigned *after)
{
	int err = vm_pager_check(obj, 1, pindex);
	unsigned more = 0;

	if (err < 0 || obj->pager->ops->has_page == NULL)
		return err < 0 ? err : -EINVAL;
	int r = obj->pager->ops->has_page(obj->pager, pindex + obj->pager_offset, &more);
	if (r != 0 && r != 1 && r != -EIO)
		panic("vm_pager: %s.has_page answered %d", obj->pager->ops->name, r);
	if (after != NULL) {
		uint64_t room = obj->size / PAGE_SIZE - pindex - 1;
		*after = r == 1 ? (unsigned)MIN((uint64_t)more, MIN(room, VM_PAGER_MAX_PAGES - 1))
				: 0;
	}
	return r;
}

int vm_pager_get_pages(struct vm_object *obj, struct vm_page **pages, unsigned n,
		       uint64_t pindex)
{
	int err = vm_pager_check(obj, n, pindex);

	if (err < 0 || obj->pager->ops->get_pages == NULL)
		return err < 0 ? err : -EINVAL;
	for (unsigned i = 0; i < n; i++)
		KASSERT(pages[i]->object == obj && pages[i]->pindex == pindex + i &&
			(pages[i]->flags & VM_PAGE_BUSY));
	return vm_pager_answer(obj, "get_pages",
			       obj->pager->ops->get_pages(obj->pager, pages, n,
							  pindex + obj->pager_offset));
}

int vm_pager_put_pages(struct vm_object *obj, struct vm_page **pages, unsigned n,
		       uint64_t pindex)
{
	int err = vm_pager_check(obj, n, pindex);

	if (err < 0 || obj->pager->ops->put_pages == NULL)
		return err < 0 ? err : -EINVAL;
	for (unsigned i = 0; i < n; i++)
		KASSERT(pages[i]->object == obj && pages[i]->pindex == pindex + i &&
			(pages[i]->flags & VM_PAGE_BUSY));
	return vm_pager_answer(obj, "put_pages",
			       obj->pager->ops->put_pages(obj->pager, pages, n,
							  pindex + obj->pager_offset));
}

void vm_pager_free_range(struct vm_object *obj, uint64_t pindex, uint64_t n)
{
	if (obj->pager == NULL || obj->pager->ops->free_range == NULL || n == 0)
		return;
	KASSERT(pindex + n <= obj->size / PAGE_SIZE);
	obj->pager->ops->free_range(obj->pager, pindex + obj->pager_offset, n);
}

void vm_pager_dealloc(struct vm_object *obj)
{
	if (obj->pager != NULL && obj->pager->ops->dealloc != NULL)
		obj->pager->ops->dealloc(obj->pager);
	obj->pager = NULL;
}

bool vm_pager_can_absorb(const struct vm_object *obj, const struct vm_object *b)
{
	if (b->pager == NULL)
		return true;
	return b->pager->ops->absorb != NULL &&
	       (obj->pager == NULL || obj->pager->ops == b->pager->ops);
}

int vm_pager_absorb(struct vm_object *obj, struct vm_object *b,
		    bool (*hides)(void *ctx, uint64_t pindex), void *ctx)
{
	if (b->pager == NULL)
		return 0;
	KASSERT(vm_pager_can_absorb(obj, b) && obj->size == b->size);
	if (obj->pager == NULL) {
		obj->pager = b->pager;
		obj->pager_offset = b->pager_offset;
		b->pager = NULL;
		return obj->pager->ops->absorb(obj->pager, NULL, hides, ctx);
	}
	KASSERT(obj->pager_offset == b->pager_offset);
	return obj->pager->ops->absorb(obj->pager, b->pager, hides, ctx);
}
