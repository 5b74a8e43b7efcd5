/*
 * vm_advice: how an object's faults read from its pager (contract in
 * vm_object.h): the advice it remembers for ranges of its pages, and its
 * read-around window.
 */
#include "core/mm/malloc.h"
#include "core/mm/vm_object.h"
#include "core/mm/vm_pageout.h"

#define VM_AROUND_MEMORY 64 /* used + wasted halve when they reach it */
#define VM_AROUND_PLENTY 8  /* times the scanner's target (1/32 of memory) */

/*
 * The ranges of obj with [first, end) cut out of them, and advice over
 * [first, end) unless it is NORMAL, in order, into out (room for
 * obj->nadvice + 2).  Returns how many.
 */
static uint32_t vm_advice_splice(const struct vm_object *obj, uint64_t first, uint64_t end,
				 enum vm_advice advice, struct vm_advice_range *out)
{
	uint32_t n = 0;
	bool placed = advice == VM_ADVICE_NORMAL;

	for (uint32_t i = 0; i < obj->nadvice; i++) {
		struct vm_advice_range r = obj->advice[i];
		if (r.first < first)
			out[n++] = (struct vm_advice_range){r.first, MIN(r.end, first), r.advice};
		if (!placed && r.end > first) {
			out[n++] = (struct vm_advice_range){first, end, advice};
			placed = true;
		}
		if (r.end > end)
			out[n++] = (struct vm_advice_range){MAX(r.first, end), r.end, r.advice};
	}
	if (!placed)
		out[n++] = (struct vm_advice_range){first, end, advice};
	return n;
}

int vm_object_set_advice(struct vm_object *obj, uint64_t first, uint64_t end,
			 enum vm_advice advice)
{
	KASSERT(first < end && (advice == VM_ADVICE_NORMAL || advice == VM_ADVICE_RANDOM ||
				advice == VM_ADVICE_SEQUENTIAL));
	if (obj->nadvice == 0 && advice == VM_ADVICE_NORMAL)
		return 0;
	struct vm_advice_range *ranges = mm_malloc((obj->nadvice + 2) * sizeof(*ranges));
	if (ranges == NULL && advice != VM_ADVICE_NORMAL)
		return -ENOMEM;
	uint32_t n = 0;
	if (ranges != NULL) {
		n = vm_advice_splice(obj, first, end, advice, ranges);
		if (n > VM_ADVICE_RANGES && advice != VM_ADVICE_NORMAL) {
			mm_mfree(ranges);
			return -ENOMEM;
		}
	} else { /* forgetting without memory: whole ranges go */
		for (uint32_t i = 0; i < obj->nadvice; i++)
			if (obj->advice[i].end <= first || obj->advice[i].first >= end)
				obj->advice[n++] = obj->advice[i];
		obj->nadvice = n;
		return 0;
	}
	mm_mfree(obj->advice);
	obj->advice = n > 0 ? ranges : NULL;
	if (n == 0)
		mm_mfree(ranges);
	obj->nadvice = n;
	return 0;
}

enum vm_advice vm_object_advice(const struct vm_object *top, uint64_t pindex)
{
	for (const struct vm_object *o = top; o != NULL; o = o->backing)
		for (uint32_t i = 0; i < o->nadvice && o->advice[i].first <= pindex; i++)
			if (pindex < o->advice[i].end)
				return o->advice[i].advice;
	return VM_ADVICE_NORMAL;
}

unsigned vm_object_read_around(struct vm_object *o, uint64_t pindex, enum vm_advice advice)
{
	switch (advice) {
	case VM_ADVICE_RANDOM:
		return 0;
	case VM_ADVICE_SEQUENTIAL:
		return VM_OBJECT_AHEAD;
	default:
		break;
	}
	if (pindex == o->seq_next)
		return VM_OBJECT_AHEAD;
	if (o->around > 0)
		return o->around;
	/* closed: a fault near the last read tries one page, so that the
	 * window can open again when locality comes back */
	return pindex + VM_OBJECT_AHEAD >= o->seq_next && pindex < o->seq_next + VM_OBJECT_AHEAD;
}

/* Old outcomes count for half once the account is full, so the window
 * follows a pattern that changes. */
static void vm_around_decay(struct vm_object *o)
{
	if (o->around_used + o->around_wasted >= VM_AROUND_MEMORY) {
		o->around_used /= 2;
		o->around_wasted /= 2;
	}
}

void vm_object_around_used(struct vm_object *o)
{
	o->around_used++;
	vm_around_decay(o);
	if (o->around_used < 3 * o->around_wasted)
		return;
	/* while a quarter of memory is free a page read along evicts nothing
	 * and the window may double; once memory is full a page read along
	 * evicts another, and the unused ones show up only when they are
	 * evicted in turn, so it grows by one page at a time */
	unsigned grown = vm_page_available_count() > VM_AROUND_PLENTY * vm_wm.target
				 ? 2u * o->around + 1
				 : o->around + 1u;
	o->around = (uint16_t)MIN(grown, VM_OBJECT_AHEAD);
}

void vm_object_around_wasted(struct vm_object *o)
{
	o->around_wasted++;
	vm_around_decay(o);
	if (o->around_used < 3 * o->around_wasted)
		o->around /= 2;
}
