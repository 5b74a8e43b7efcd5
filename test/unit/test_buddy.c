/*
 * The universal buddy allocator against a reference model: one state byte
 * per granule and a table of allocations.  Every step is followed by
 * buddy_check and a comparison of counters; the end state must be fully
 * coalesced.  Descriptors come from malloc through callbacks that can be
 * told to fail, to prove that a failed operation changes nothing.  The AVL
 * tree underneath has its own randomised model: a presence table, with
 * avl_check after every insert (searching or positional) and remove.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/mm/buddy.h"

static long desc_live;     /* descriptors handed out and not returned */
static long desc_fail_at = -1; /* fail the n-th request from now (0 = next) */

static void *desc_alloc(void *ctx)
{
	if (desc_fail_at == 0)
		return NULL;
	if (desc_fail_at > 0)
		desc_fail_at--;
	desc_live++;
	return malloc(BUDDY_DESC_SIZE);
}

static void desc_free(void *ctx, void *d)
{
	desc_live--;
	free(d);
}

static const struct buddy_ops ops = {desc_alloc, desc_free, NULL};

#define G 0x1000ull

static void test_init_errors(void **state)
{
	struct buddy b;

	assert_int_equal(buddy_init(&b, 0, 0, 12, 20, &ops), -EINVAL);
	assert_int_equal(buddy_init(&b, 0x800, G, 12, 20, &ops), -EINVAL);
	assert_int_equal(buddy_init(&b, 0, G + 1, 12, 20, &ops), -EINVAL);
	assert_int_equal(buddy_init(&b, 0, G, 20, 12, &ops), -EINVAL);
	desc_fail_at = 0;
	assert_int_equal(buddy_init(&b, 0, 100 * G, 12, 20, &ops), -ENOMEM);
	desc_fail_at = -1;
	assert_int_equal(desc_live, 0);
}

static void test_basic_ops(void **state)
{
	struct buddy b;
	struct buddy_info info;
	uint64_t a, c;

	/* odd base, size not a power of two */
	assert_int_equal(buddy_init(&b, 3 * G, 1000 * G, 12, 22, &ops), 0);
	buddy_check(&b);
	assert_int_equal(b.free_bytes, 1000 * G);
	assert_int_equal(buddy_alloc(&b, 3 * G, 0, &a), 0);
	assert_true(a % (4 * G) == 0);
	assert_int_equal(b.allocated_bytes, 3 * G);
	assert_int_equal(b.free_bytes, 997 * G); /* the 4th page went back */
	assert_int_equal(buddy_lookup(&b, a + G, &info), 0);
	assert_int_equal(info.state, BUDDY_ALLOCATED);
	assert_int_equal(info.base, a);
	assert_int_equal(info.size, 3 * G);
	assert_int_equal(buddy_alloc(&b, 5 * G, 64 * G, &c), 0);
	assert_true(c % (64 * G) == 0);
	buddy_check(&b);
	/* errors */
	assert_int_equal(buddy_alloc(&b, 0, 0, &c), -EINVAL);
	assert_int_equal(buddy_alloc(&b, G + 1, 0, &c), -EINVAL);
	assert_int_equal(buddy_alloc(&b, G, 3 * G, &c), -EINVAL);
	assert_int_equal(buddy_alloc(&b, 8192 * G, 0, &c), -ENOMEM);
	assert_int_equal(buddy_free(&b, a + G), -ENOENT);
	assert_int_equal(buddy_free(&b, a + 1), -EINVAL);
	assert_int_equal(buddy_free(&b, 0), -ERANGE);
	assert_int_equal(buddy_alloc_at(&b, a, G), -EBUSY);
	assert_int_equal(buddy_reserve(&b, a + 2 * G, 4 * G), -EBUSY);
	assert_int_equal(buddy_reserve(&b, 1003 * G, 2 * G), -ERANGE);
	assert_int_equal(buddy_reserve(&b, G, G), -ERANGE);
	assert_int_equal(buddy_unreserve(&b, 500 * G, G), -ENOENT);
	/* reserve and unreserve */
	assert_int_equal(buddy_reserve(&b, 500 * G, 7 * G), 0);
	assert_int_equal(buddy_lookup(&b, 506 * G, &info), 0);
	assert_int_equal(info.state, BUDDY_RESERVED);
	assert_int_equal(buddy_alloc_at(&b, 505 * G, G), -EBUSY);
	assert_int_equal(buddy_unreserve(&b, 500 * G, 6 * G), -EINVAL);
	assert_int_equal(buddy_free(&b, 500 * G), -ENOENT);
	assert_int_equal(buddy_unreserve(&b, 500 * G, 7 * G), 0);
	assert_int_equal(buddy_alloc_at(&b, 501 * G, 11 * G), 0);
	buddy_check(&b);
	assert_int_equal(buddy_free(&b, 501 * G), 0);
	assert_int_equal(buddy_free(&b, a), 0);
	assert_int_equal(buddy_free(&b, c), 0);
	assert_int_equal(buddy_free(&b, c), -ENOENT);
	buddy_check(&b);
	assert_int_equal(b.free_bytes, 1000 * G);
	buddy_destroy(&b);
	assert_int_equal(desc_live, 0);
}

static void test_top_of_address_space(void **state)
{
	struct buddy b;
	uint64_t base = 0xffffc00000000000ull, a;
	struct buddy_info info;

	assert_int_equal(buddy_init(&b, base, 0 - base, 12, 39, &ops), 0);
	buddy_check(&b);
	assert_int_equal(buddy_reserve(&b, 0xffffffff80000000ull, 0x80000000ull), 0);
	assert_int_equal(buddy_alloc(&b, 1ull << 39, 0, &a), 0);
	assert_int_equal(buddy_lookup(&b, ~0ull, &info), 0);
	assert_int_equal(info.state, BUDDY_RESERVED);
	assert_int_equal(info.base + (info.size - 1), ~0ull);
	buddy_check(&b);
	assert_int_equal(buddy_unreserve(&b, 0xffffffff80000000ull, 0x80000000ull), 0);
	assert_int_equal(buddy_free(&b, a), 0);
	buddy_check(&b);
	assert_int_equal(b.free_bytes, 0 - base);
	buddy_destroy(&b);
	assert_int_equal(desc_live, 0);
}

/* Counts descriptors in the tree. */
static size_t tree_size(const struct buddy *b)
{
	return b->tree.count;
}

static void test_failed_descriptor_changes_nothing(void **state)
{
	struct buddy b;
	uint64_t a;

	assert_int_equal(buddy_init(&b, 0, 4096 * G, 12, 30, &ops), 0);
	size_t before = tree_size(&b);
	int failures = 0;
	for (int i = 0; i < 4; i++) {
		desc_fail_at = 0;
		/* a fresh allocator holds few spares: splitting 4096 pages needs many */
		int r = buddy_alloc(&b, 3 * G, 0, &a);
		desc_fail_at = -1;
		if (r == 0) {
			assert_int_equal(buddy_free(&b, a), 0);
			continue;
		}
		assert_int_equal(r, -ENOMEM);
		failures++;
		assert_int_equal(tree_size(&b), before);
		assert_int_equal(b.free_bytes, 4096 * G);
		buddy_check(&b);
	}
	assert_true(failures > 0);
	desc_fail_at = 0;
	assert_int_equal(buddy_reserve(&b, 1001 * G, 3 * G), -ENOMEM);
	desc_fail_at = -1;
	assert_int_equal(b.reserved_bytes, 0);
	buddy_check(&b);
	buddy_destroy(&b);
	assert_int_equal(desc_live, 0);
}

/* The model: per granule 0 = free, else an allocation id; 255 = reserved. */
#define NG 2048
static uint16_t model[NG];
static struct {
	uint64_t base, size;
	bool reserved;
} allocs[NG];
static unsigned nallocs;

static bool model_free(uint64_t g, uint64_t n)
{
	if (g + n > NG)
		return false;
	for (uint64_t i = 0; i < n; i++)
		if (model[g + i])
			return false;
	return true;
}

static void model_set(uint64_t g, uint64_t n, uint16_t v)
{
	for (uint64_t i = 0; i < n; i++)
		model[g + i] = v;
}

/*
 * Frees a random piece of the newest allocation: the head keeps its table
 * entry, the tail becomes a new one at the end.
 */
static void buddy_model_free_part(struct buddy *b, uint64_t base, uint64_t *allocated)
{
	unsigned i = nallocs - 1;
	uint64_t ng = allocs[i].size / G, first = (uint64_t)rand() % ng;
	uint64_t n = 1 + (uint64_t)rand() % (ng - first), g0 = (allocs[i].base - base) / G;

	assert_int_equal(buddy_free_part(b, allocs[i].base + first * G, n * G), 0);
	assert_int_equal(buddy_free_part(b, allocs[i].base + first * G, n * G), -ENOENT);
	model_set(g0 + first, n, 0);
	*allocated -= n * G;
	uint64_t tail = ng - first - n;
	if (tail > 0) {
		allocs[nallocs] = (typeof(allocs[0])){allocs[i].base + (first + n) * G, tail * G, false};
		model_set(g0 + first + n, tail, (uint16_t)(++nallocs));
	}
	if (first > 0) {
		allocs[i].size = first * G;
		return;
	}
	/* no head: move the last allocation into slot i */
	nallocs--;
	if (i != nallocs) {
		allocs[i] = allocs[nallocs];
		model_set((allocs[i].base - base) / G, allocs[i].size / G, (uint16_t)(i + 1));
	}
}

static void test_free_part(void **state)
{
	struct buddy b;
	struct buddy_info info;
	uint64_t a, r;

	assert_int_equal(buddy_init(&b, 0, 64 * G, 12, 20, &ops), 0);
	assert_int_equal(buddy_alloc(&b, 8 * G, 0, &a), 0);
	assert_int_equal(buddy_reserve(&b, 40 * G, G), 0);
	assert_int_equal(buddy_free_part(&b, a + 7 * G, 2 * G), -ENOENT);
	assert_int_equal(buddy_free_part(&b, 40 * G, G), -ENOENT);
	assert_int_equal(buddy_free_part(&b, 20 * G, G), -ENOENT);
	assert_int_equal(buddy_free_part(&b, a + 1, G), -EINVAL);
	assert_int_equal(buddy_free_part(&b, 63 * G, 2 * G), -ERANGE);
	desc_fail_at = 0;
	assert_int_equal(buddy_free_part(&b, a + 3 * G, G), -ENOMEM);
	desc_fail_at = -1;
	buddy_check(&b);
	assert_int_equal(b.allocated_bytes, 8 * G);
	/* a hole in the middle: head and tail are allocations of their own */
	assert_int_equal(buddy_free_part(&b, a + 3 * G, 2 * G), 0);
	buddy_check(&b);
	assert_int_equal(b.allocated_bytes, 6 * G);
	assert_int_equal(buddy_lookup(&b, a + 6 * G, &info), 0);
	assert_true(info.state == BUDDY_ALLOCATED && info.base == a + 5 * G && info.size == 3 * G);
	assert_int_equal(buddy_lookup(&b, a + 3 * G, &info), 0);
	assert_int_equal(info.state, BUDDY_FREE);
	assert_int_equal(buddy_alloc_at(&b, a + 3 * G, G), 0);
	assert_int_equal(buddy_free(&b, a + 3 * G), 0);
	assert_int_equal(buddy_free_part(&b, a, G), 0);         /* no head */
	assert_int_equal(buddy_free_part(&b, a + 7 * G, G), 0); /* no tail */
	assert_int_equal(buddy_free(&b, a + G), 0);
	assert_int_equal(buddy_free(&b, a + 5 * G), 0);
	assert_int_equal(buddy_unreserve(&b, 40 * G, G), 0);
	buddy_check(&b);
	assert_int_equal(b.allocated_bytes, 0);
	assert_int_equal(buddy_largest_free(&b), 64 * G);
	assert_int_equal(buddy_alloc(&b, 64 * G, 0, &r), 0);
	buddy_destroy(&b);
	assert_int_equal(desc_live, 0);
}

static void test_random_model(void **state)
{
	struct buddy b;
	const uint64_t base = 7 * G; /* odd granule: blocks cannot align to the base */
	unsigned seed = 42, steps = getenv("PHOBOS_STRESS") ? 2000000 : 100000;
	uint64_t allocated = 0, reserved = 0;

	srand(seed);
	printf("# buddy random model: seed %u, %u steps\n", seed, steps);
	assert_int_equal(buddy_init(&b, base, NG * G, 12, 20, &ops), 0);
	memset(model, 0, sizeof(model));
	nallocs = 0;
	for (unsigned step = 0; step < steps; step++) {
		int op = rand() % 12;
		uint64_t n = 1 + (uint64_t)(rand() % (rand() % 4 == 0 ? 200 : 12));
		uint64_t g = (uint64_t)rand() % NG;
		uint64_t a;
		if (op < 4) {
			int r = buddy_alloc(&b, n * G, 0, &a);
			if (r == 0) {
				assert_true(model_free((a - base) / G, n));
				allocs[nallocs] = (typeof(allocs[0])){a, n * G, false};
				model_set((a - base) / G, n, (uint16_t)(++nallocs));
				allocated += n * G;
			} else {
				assert_int_equal(r, -ENOMEM);
				/* no aligned free run of the needed order exists in the model */
				assert_true(buddy_largest_free(&b) < n * G ||
					    buddy_largest_free(&b) >> 1 < n * G);
			}
		} else if (op < 6) {
			bool reserve = op == 5;
			int r = (reserve ? buddy_reserve : buddy_alloc_at)(&b, base + g * G, n * G);
			if (model_free(g, n)) {
				assert_int_equal(r, 0);
				allocs[nallocs] = (typeof(allocs[0])){base + g * G, n * G, reserve};
				model_set(g, n, (uint16_t)(++nallocs));
				if (reserve)
					reserved += n * G;
				else
					allocated += n * G;
			} else {
				assert_int_equal(r, g + n > NG ? -ERANGE : -EBUSY);
			}
		} else if (op == 9 && nallocs > 0 && !allocs[nallocs - 1].reserved) {
			buddy_model_free_part(&b, base, &allocated);
		} else if (op < 10 && nallocs > 0) {
			unsigned i = (unsigned)rand() % nallocs;
			uint64_t ab = allocs[i].base, as = allocs[i].size;
			bool res = allocs[i].reserved;
			int r = res ? buddy_unreserve(&b, ab, as) : buddy_free(&b, ab);
			assert_int_equal(r, 0);
			model_set((ab - base) / G, as / G, 0);
			*(res ? &reserved : &allocated) -= as;
			/* move the last allocation into slot i and renumber it */
			nallocs--;
			if (i != nallocs) {
				allocs[i] = allocs[nallocs];
				model_set((allocs[i].base - base) / G, allocs[i].size / G, (uint16_t)(i + 1));
			}
		} else {
			struct buddy_info info;
			assert_int_equal(buddy_lookup(&b, base + g * G + 5, &info), 0);
			if (model[g] == 0) {
				assert_int_equal(info.state, BUDDY_FREE);
			} else {
				unsigned i = model[g] - 1u;
				assert_int_equal(info.state, allocs[i].reserved ? BUDDY_RESERVED : BUDDY_ALLOCATED);
				assert_int_equal(info.base, allocs[i].base);
				assert_int_equal(info.size, allocs[i].size);
				if (model[g] && !allocs[i].reserved && info.base != base + g * G)
					assert_int_equal(buddy_free(&b, base + g * G), -ENOENT);
			}
		}
		buddy_check(&b);
		assert_int_equal(b.allocated_bytes, allocated);
		assert_int_equal(b.reserved_bytes, reserved);
		assert_int_equal(b.free_bytes, NG * G - allocated - reserved);
	}
	while (nallocs > 0) {
		nallocs--;
		if (allocs[nallocs].reserved)
			assert_int_equal(buddy_unreserve(&b, allocs[nallocs].base, allocs[nallocs].size), 0);
		else
			assert_int_equal(buddy_free(&b, allocs[nallocs].base), 0);
	}
	buddy_check(&b);
	/* fully coalesced: exactly the maximal blocks of a fresh allocator */
	struct buddy fresh;
	assert_int_equal(buddy_init(&fresh, base, NG * G, 12, 20, &ops), 0);
	assert_int_equal(tree_size(&b), tree_size(&fresh));
	buddy_destroy(&fresh);
	buddy_destroy(&b);
	assert_int_equal(desc_live, 0);
}

/* AVL nodes keyed by their index in one array (key = 3 * index + 1). */
#define NAVL 512
static struct avl_node avl_nodes[NAVL];
static bool avl_in[NAVL];

static uint64_t avl_test_key(const struct avl_node *n)
{
	return 3 * (uint64_t)(n - avl_nodes) + 1;
}

/* The linked node after index i, by the presence table, or NULL. */
static struct avl_node *avl_model_next(int i)
{
	for (int j = i + 1; j < NAVL; j++)
		if (avl_in[j])
			return &avl_nodes[j];
	return NULL;
}

static void test_avl_random(void **state)
{
	struct avl_tree t;
	unsigned seed = 7, steps = getenv("PHOBOS_STRESS") ? 2000000 : 100000;

	srand(seed);
	printf("# avl random model: seed %u, %u steps\n", seed, steps);
	avl_init(&t, avl_test_key);
	for (unsigned step = 0; step < steps; step++) {
		int i = rand() % NAVL;
		if (avl_in[i]) {
			avl_remove(&t, &avl_nodes[i]);
		} else if (rand() % 2) {
			avl_insert(&t, &avl_nodes[i]);
		} else {
			avl_insert_before(&t, avl_model_next(i), &avl_nodes[i]);
		}
		avl_in[i] = !avl_in[i];
		assert_int_equal(avl_check(&t), t.count);
		/* neighbours and searches agree with the table around i */
		struct avl_node *next = avl_model_next(i);
		uint64_t k = avl_test_key(&avl_nodes[i]);
		assert_ptr_equal(avl_find_ge(&t, k + 1), next);
		if (avl_in[i]) {
			assert_ptr_equal(avl_next(&avl_nodes[i]), next);
			assert_ptr_equal(avl_find_le(&t, k), &avl_nodes[i]);
			if (next != NULL)
				assert_ptr_equal(avl_prev(next), &avl_nodes[i]);
		}
	}
	for (int i = 0; i < NAVL; i++)
		if (avl_in[i]) {
			avl_remove(&t, &avl_nodes[i]);
			avl_in[i] = false;
		}
	assert_int_equal(avl_check(&t), 0);
	assert_null(t.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_basic_ops),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_failed_descriptor_changes_nothing),
		cmocka_unit_test(test_free_part),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_avl_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
