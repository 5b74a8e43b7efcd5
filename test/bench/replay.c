/* LRU and OPT replays: see replay.h. */
#include <stdbool.h>
#include <stdlib.h>

#include "test/bench/replay.h"

#define NONE UINT64_MAX

/* LRU: a list of resident pages, most recent first, through arrays. */
long replay_lru(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames)
{
	uint64_t *prev = malloc(npages * sizeof(*prev)), *next = malloc(npages * sizeof(*next));
	bool *resident = calloc(npages, 1), *seen = calloc(npages, 1);
	uint64_t head = NONE, tail = NONE, count = 0;
	long faults = 0;

	if (prev == NULL || next == NULL || resident == NULL || seen == NULL)
		faults = -1;
	for (size_t i = 0; faults >= 0 && i < n; i++) {
		uint64_t p = refs[i];
		if (resident[p]) { /* unlink, to be pushed at the head */
			*(prev[p] == NONE ? &head : &next[prev[p]]) = next[p];
			*(next[p] == NONE ? &tail : &prev[next[p]]) = prev[p];
		} else {
			faults += seen[p];
			seen[p] = resident[p] = true;
			if (count == frames) { /* the least recent goes */
				uint64_t v = tail;
				tail = prev[v];
				*(tail == NONE ? &head : &next[tail]) = NONE;
				resident[v] = false;
			} else {
				count++;
			}
		}
		prev[p] = NONE;
		next[p] = head;
		*(head == NONE ? &tail : &prev[head]) = p;
		head = p;
	}
	free(prev);
	free(next);
	free(resident);
	free(seen);
	return faults;
}

struct heap_item {
	uint64_t when, page; /* the page's next use, when pushed */
};

static void heap_push(struct heap_item *h, size_t *n, struct heap_item x)
{
	size_t i = (*n)++;

	for (; i > 0 && h[(i - 1) / 2].when < x.when; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = x;
}

static struct heap_item heap_pop(struct heap_item *h, size_t *n)
{
	struct heap_item top = h[0], x = h[--*n];
	size_t i = 0;

	for (size_t c; (c = 2 * i + 1) < *n; i = c) {
		if (c + 1 < *n && h[c + 1].when > h[c].when)
			c++;
		if (h[c].when <= x.when)
			break;
		h[i] = h[c];
	}
	h[i] = x;
	return top;
}

/* OPT: evict the resident page used again last (or never); a max-heap of
 * next uses, entries made stale by a later use skipped when popped. */
long replay_opt(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames)
{
	uint64_t *nextuse = malloc(n * sizeof(*nextuse)), *last = malloc(npages * sizeof(*last));
	uint64_t *cur = malloc(npages * sizeof(*cur)), count = 0;
	struct heap_item *heap = malloc((n + 1) * sizeof(*heap));
	bool *resident = calloc(npages, 1), *seen = calloc(npages, 1);
	size_t nheap = 0;
	long faults = 0;

	if (!nextuse || !last || !cur || !heap || !resident || !seen)
		faults = -1;
	for (uint64_t p = 0; faults >= 0 && p < npages; p++)
		last[p] = NONE;
	for (size_t i = n; faults >= 0 && i-- > 0;) {
		nextuse[i] = last[refs[i]];
		last[refs[i]] = i;
	}
	for (size_t i = 0; faults >= 0 && i < n; i++) {
		uint64_t p = refs[i];
		if (!resident[p]) {
			faults += seen[p];
			seen[p] = true;
			/* p is not resident yet: none of its old entries can be chosen */
			if (count == frames) {
				struct heap_item v;
				do
					v = heap_pop(heap, &nheap);
				while (!resident[v.page] || cur[v.page] != v.when);
				resident[v.page] = false;
			} else {
				count++;
			}
			resident[p] = true;
		}
		cur[p] = nextuse[i];
		heap_push(heap, &nheap, (struct heap_item){nextuse[i], p});
	}
	free(nextuse);
	free(last);
	free(cur);
	free(heap);
	free(resident);
	free(seen);
	return faults;
}
