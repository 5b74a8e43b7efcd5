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

/*
 * A0, the best online policy under independent references (Coffman and
 * Denning): the frames - 1 most referenced pages of the string stay
 * resident, the last frame takes every other page in turn.  The string's
 * own counts stand in for the probabilities.
 */
long replay_a0(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames)
{
	uint64_t *count = calloc(npages, sizeof(*count));
	bool *pinned = calloc(npages, 1), *seen = calloc(npages, 1);
	uint64_t spare = NONE;
	long faults = 0;

	if (!count || !pinned || !seen || frames == 0)
		faults = -1;
	for (size_t i = 0; faults >= 0 && i < n; i++)
		count[refs[i]]++;
	/* the frames - 1 largest counts: a partial selection, frames is small
	 * next to the pages in every use here */
	for (uint64_t k = 0; faults >= 0 && k + 1 < frames && k < npages; k++) {
		uint64_t best = NONE;
		for (uint64_t p = 0; p < npages; p++)
			if (!pinned[p] && count[p] > 0 && (best == NONE || count[p] > count[best]))
				best = p;
		if (best == NONE)
			break;
		pinned[best] = true;
	}
	for (size_t i = 0; faults >= 0 && i < n; i++) {
		uint64_t p = refs[i];
		if (!pinned[p] && spare != p) {
			faults += seen[p];
			spare = p;
		}
		seen[p] = true;
	}
	free(count);
	free(pinned);
	free(seen);
	return faults;
}

/*
 * CLOCK-Pro (Jiang, Chen and Zhang, USENIX 2005): one clock of hot pages,
 * resident cold pages and non-resident cold pages (ghosts, kept while in
 * their test period), swept by three hands.  A cold page referenced during
 * its test period has a reuse distance shorter than the hot pages' recency
 * and turns hot; the cold target mc grows when that happens and shrinks
 * when a test period ends unused.  Reference bits stand for the hardware's
 * accessed bits: a hit only sets one.
 */
#define CP_IN 0x1   /* on the clock */
#define CP_HOT 0x2
#define CP_RES 0x4  /* resident */
#define CP_TEST 0x8 /* in its test period */
#define CP_REF 0x10
/* A hot page's use count goes up by CP_USES_ADVANCE when the hot hand
 * finds it referenced, down by one when not; it turns cold at 0.  That
 * keeps it hot while it is referenced in more than a quarter of the hand's
 * passes, and makes the clock frequency-aware (on a Zipf(1) draw over
 * twice the frames: 1.28 times A0 without a count, 1.17 with one up and
 * up to 3, 1.13 with three up and up to 15; more gains nothing). */
#define CP_USES_ADVANCE 3
#define CP_USES_MAX 15

struct cp {
	uint64_t *prev, *next;
	uint8_t *st, *uses; /* uses: the hot pages' use counts */
	uint64_t hand_hot, hand_cold, hand_test;
	uint64_t m, mc, nhot, ncold, nghost;
};

/* Unlinks x, moving any hand on it to the next page. */
static void cp_unlink(struct cp *c, uint64_t x)
{
	uint64_t nx = c->next[x] == x ? NONE : c->next[x];
	uint64_t *hands[] = {&c->hand_hot, &c->hand_cold, &c->hand_test};

	for (unsigned i = 0; i < 3; i++)
		if (*hands[i] == x)
			*hands[i] = nx;
	if (nx != NONE) {
		c->next[c->prev[x]] = c->next[x];
		c->prev[c->next[x]] = c->prev[x];
	}
	c->st[x] &= (uint8_t)~CP_IN;
}

/* Links x at the head: just behind the hot hand, the last place it reaches. */
static void cp_link_head(struct cp *c, uint64_t x)
{
	uint64_t h = c->hand_hot;

	if (h == NONE) {
		c->prev[x] = c->next[x] = x;
		c->hand_hot = c->hand_cold = c->hand_test = x;
	} else {
		c->next[x] = h;
		c->prev[x] = c->prev[h];
		c->next[c->prev[h]] = x;
		c->prev[h] = x;
	}
	c->st[x] |= CP_IN;
}

static void cp_move_head(struct cp *c, uint64_t x)
{
	cp_unlink(c, x);
	cp_link_head(c, x);
}

/* A cold page's test period ends: a ghost leaves the clock, and the cold
 * target shrinks (the page was not wanted again in time). */
static void cp_end_test(struct cp *c, uint64_t x)
{
	c->st[x] &= (uint8_t)~CP_TEST;
	if (c->mc > 1)
		c->mc--;
	if (!(c->st[x] & CP_RES)) {
		cp_unlink(c, x);
		c->nghost--;
	}
}

/* Turns unreferenced hot pages cold until the hot pages fit m - mc,
 * ending the test periods of the cold pages it passes. */
static void cp_hand_hot(struct cp *c)
{
	for (uint64_t steps = 0; c->nhot > c->m - c->mc && steps < 4 * c->m + 4; steps++) {
		uint64_t x = c->hand_hot;
		c->hand_hot = c->next[x];
		if (c->st[x] & CP_HOT) {
			if (c->st[x] & CP_REF) {
				c->st[x] &= (uint8_t)~CP_REF;
				c->uses[x] = c->uses[x] + CP_USES_ADVANCE < CP_USES_MAX
						     ? (uint8_t)(c->uses[x] + CP_USES_ADVANCE)
						     : CP_USES_MAX;
			} else if (c->uses[x] > 0) {
				c->uses[x]--;
			} else {
				c->st[x] &= (uint8_t)~CP_HOT;
				c->nhot--;
				c->ncold++;
			}
		} else if (c->st[x] & CP_TEST) {
			cp_end_test(c, x);
		}
	}
}

/* Frees a frame: the first unreferenced resident cold page goes (a ghost
 * while its test period lasts). */
static void cp_hand_cold(struct cp *c)
{
	for (uint64_t steps = 0; steps < 4 * c->m + 4; steps++) {
		uint64_t x = c->hand_cold;
		uint8_t st = c->st[x];
		if ((st & CP_HOT) || !(st & CP_RES)) {
			c->hand_cold = c->next[x];
			continue;
		}
		if (st & CP_REF) {
			c->st[x] &= (uint8_t)~CP_REF;
			if (st & CP_TEST) { /* reused within its test period: hot */
				c->st[x] = (uint8_t)((c->st[x] | CP_HOT) & ~CP_TEST);
				c->ncold--;
				c->nhot++;
				if (c->mc < c->m - 1)
					c->mc++;
			} else {
				c->st[x] |= CP_TEST;
			}
			c->hand_cold = c->next[x];
			cp_move_head(c, x);
			cp_hand_hot(c);
			continue;
		}
		c->hand_cold = c->next[x];
		c->st[x] &= (uint8_t)~CP_RES;
		c->ncold--;
		if (st & CP_TEST) {
			c->nghost++;
		} else {
			cp_unlink(c, x);
		}
		return;
	}
	/* every resident page is hot: the hot hand makes one cold */
	if (c->mc < c->m - 1)
		c->mc++;
	cp_hand_hot(c);
	cp_hand_cold(c);
}

/* Keeps at most m ghosts: the test hand ends the oldest test periods. */
static void cp_hand_test(struct cp *c)
{
	for (uint64_t steps = 0; c->nghost > c->m && steps < 4 * c->m + 4; steps++) {
		uint64_t x = c->hand_test;
		c->hand_test = c->next[x];
		if (!(c->st[x] & CP_HOT) && (c->st[x] & CP_TEST))
			cp_end_test(c, x);
	}
}

long replay_clockpro(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames)
{
	struct cp c = {malloc(npages * sizeof(uint64_t)), malloc(npages * sizeof(uint64_t)),
		       calloc(npages, 1), calloc(npages, 1), NONE, NONE, NONE, frames, 1, 0, 0, 0};
	bool *seen = calloc(npages, 1);
	long faults = 0;

	if (!c.prev || !c.next || !c.st || !c.uses || !seen || frames < 2)
		faults = -1;
	for (size_t i = 0; faults >= 0 && i < n; i++) {
		uint64_t p = refs[i];
		if (c.st[p] & CP_RES) {
			c.st[p] |= CP_REF;
			continue;
		}
		faults += seen[p];
		seen[p] = true;
		if (c.nhot + c.ncold == c.m)
			cp_hand_cold(&c);
		if (c.st[p] & CP_IN) { /* a ghost: its reuse distance beat the hot pages' */
			cp_unlink(&c, p);
			c.nghost--;
			if (c.mc < c.m - 1)
				c.mc++;
			c.st[p] = CP_HOT | CP_RES;
			c.uses[p] = 0;
			cp_link_head(&c, p);
			c.nhot++;
			cp_hand_hot(&c);
		} else if (c.nhot < c.m - c.mc) { /* memory not full of hot pages yet */
			c.st[p] = CP_HOT | CP_RES;
			c.uses[p] = 0;
			cp_link_head(&c, p);
			c.nhot++;
		} else {
			c.st[p] = CP_RES | CP_TEST;
			cp_link_head(&c, p);
			c.ncold++;
		}
		cp_hand_test(&c);
	}
	free(c.prev);
	free(c.next);
	free(c.st);
	free(c.uses);
	free(seen);
	return faults;
}

/*
 * LIRS (Jiang and Zhang, SIGMETRICS 2002): pages with a low inter-reference
 * recency (LIR) hold all but 1 % of the frames; the rest hold the resident
 * high-IRR pages (HIR) in a FIFO queue Q.  The stack S orders pages by
 * recency down to the least recent LIR page; a HIR page found in S when it
 * is referenced again had an IRR below that LIR page's recency, and swaps
 * roles with it.  Non-resident HIR pages stay in S while they are above
 * its bottom.
 */
#define LIRS_LIR 0x1
#define LIRS_RES 0x2
#define LIRS_IN_S 0x4
#define LIRS_IN_Q 0x8

struct lirs_list {
	uint64_t head, tail; /* head: most recent (S) or next to go (Q) */
	uint64_t *prev, *next;
};

static void lirs_remove(struct lirs_list *l, uint64_t x)
{
	*(l->prev[x] == NONE ? &l->head : &l->next[l->prev[x]]) = l->next[x];
	*(l->next[x] == NONE ? &l->tail : &l->prev[l->next[x]]) = l->prev[x];
}

/* S pushes at the head (top), Q appends at the tail. */
static void lirs_push_head(struct lirs_list *l, uint64_t x)
{
	l->prev[x] = NONE;
	l->next[x] = l->head;
	*(l->head == NONE ? &l->tail : &l->prev[l->head]) = x;
	l->head = x;
}

static void lirs_push_tail(struct lirs_list *l, uint64_t x)
{
	l->next[x] = NONE;
	l->prev[x] = l->tail;
	*(l->tail == NONE ? &l->head : &l->next[l->tail]) = x;
	l->tail = x;
}

struct lirs {
	struct lirs_list s, q;
	uint8_t *st;
};

/* Stack pruning: HIR pages below the least recent LIR page leave S. */
static void lirs_prune(struct lirs *z)
{
	while (z->s.tail != NONE && !(z->st[z->s.tail] & LIRS_LIR)) {
		uint64_t x = z->s.tail;
		lirs_remove(&z->s, x);
		z->st[x] &= (uint8_t)~LIRS_IN_S;
	}
}

static void lirs_to_top(struct lirs *z, uint64_t x)
{
	if (z->st[x] & LIRS_IN_S)
		lirs_remove(&z->s, x);
	lirs_push_head(&z->s, x);
	z->st[x] |= LIRS_IN_S;
}

/* The least recent LIR page turns HIR, resident, at the end of Q. */
static void lirs_demote_bottom(struct lirs *z)
{
	uint64_t b = z->s.tail;

	lirs_remove(&z->s, b);
	z->st[b] = (uint8_t)((z->st[b] & ~(LIRS_LIR | LIRS_IN_S)) | LIRS_IN_Q);
	lirs_push_tail(&z->q, b);
	lirs_prune(z);
}

long replay_lirs(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames)
{
	uint64_t hirs = frames / 100 > 0 ? frames / 100 : 1, lirs = frames - hirs, nlir = 0, res = 0;
	uint64_t *mem = malloc(4 * npages * sizeof(*mem));
	struct lirs z = {{NONE, NONE, mem, mem + npages},
			 {NONE, NONE, mem + 2 * npages, mem + 3 * npages},
			 calloc(npages, 1)};
	bool *seen = calloc(npages, 1);
	long faults = 0;

	if (mem == NULL || z.st == NULL || seen == NULL || frames < 2)
		faults = -1;
	for (size_t i = 0; faults >= 0 && i < n; i++) {
		uint64_t x = refs[i];
		uint8_t st = z.st[x];
		if (st & LIRS_LIR) {
			bool bottom = z.s.tail == x;
			lirs_to_top(&z, x);
			if (bottom)
				lirs_prune(&z);
			continue;
		}
		if (!(st & LIRS_RES)) {
			faults += seen[x];
			seen[x] = true;
			if (nlir < lirs) { /* the LIR set fills first */
				z.st[x] |= LIRS_LIR | LIRS_RES;
				nlir++;
				res++;
				lirs_to_top(&z, x);
				continue;
			}
			if (res == frames) { /* the front of Q goes */
				uint64_t v = z.q.head;
				lirs_remove(&z.q, v);
				z.st[v] &= (uint8_t)~(LIRS_RES | LIRS_IN_Q);
				res--;
			}
			res++;
			z.st[x] |= LIRS_RES;
		} else {
			lirs_remove(&z.q, x);
			z.st[x] &= (uint8_t)~LIRS_IN_Q;
		}
		if (z.st[x] & LIRS_IN_S) { /* its IRR beat the bottom LIR page's recency */
			z.st[x] |= LIRS_LIR;
			lirs_to_top(&z, x);
			lirs_demote_bottom(&z);
		} else {
			lirs_to_top(&z, x);
			z.st[x] |= LIRS_IN_Q;
			lirs_push_tail(&z.q, x);
		}
	}
	free(mem);
	free(z.st);
	free(seen);
	return faults;
}

void replay_zipf_cdf(double *cdf, uint64_t n)
{
	double sum = 0;

	for (uint64_t r = 0; r < n; r++)
		cdf[r] = (sum += 1.0 / (double)(r + 1));
}

uint64_t replay_zipf_draw(const double *cdf, uint64_t n, uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	double u = (double)(*seed >> 11) / 9007199254740992.0 * cdf[n - 1];
	uint64_t lo = 0, hi = n - 1;

	while (lo < hi) { /* the first rank whose cumulative weight passes u */
		uint64_t mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
