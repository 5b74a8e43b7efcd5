/*
 * Slab caches and kernel malloc: size classes and alignment, realloc,
 * NEW/NEWSINGLE/DELETE, exhaustion, reclaim, the double/invalid free
 * panics, and a randomised model of live blocks with patterns checked
 * before each free and the invariant check after every step.  Built twice:
 * plain and with MM_DEBUG (red zones and poison).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/mm/malloc.h"
#include "core/mm/slab.h"
#include "test/host/env_host.h"
#include "test/host/kmem_host.h"

static int setup(void **state)
{
	mm_malloc_init();
	return 0;
}

static void expect_all_returned(void)
{
	mm_malloc_check();
	slab_reclaim();
	assert_int_equal(kmem_host_outstanding, 0);
}

static void test_classes_and_alignment(void **state)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 255, 256, 257, 1000, 1024, 1025,
				       4000, 4096, 10000, 1 << 20};
	void *p[ARRAY_SIZE(sizes)];

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		p[i] = mm_malloc(sizes[i]);
		assert_non_null(p[i]);
		assert_true(IS_ALIGNED((uintptr_t)p[i], 16));
		assert_true(mm_usable_size(p[i]) >= sizes[i]);
		if (sizes[i] >= 16 && sizes[i] <= 1024 && IS_POW2(sizes[i]))
			assert_true(IS_ALIGNED((uintptr_t)p[i], sizes[i]));
		/* waste under 25 % for slab sizes */
		if (sizes[i] > 16 && sizes[i] <= 1024)
			assert_true(mm_usable_size(p[i]) * 4 <= sizes[i] * 5 + 64);
		memset(p[i], 0xa5, sizes[i]);
	}
	mm_malloc_check();
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		mm_mfree(p[i]);
	mm_mfree(NULL);
	expect_all_returned();
}

static void test_realloc_keeps_contents(void **state)
{
	uint8_t *p = mm_malloc(24);

	for (int i = 0; i < 24; i++)
		p[i] = (uint8_t)i;
	p = mm_mrealloc(p, 30); /* same class: in place */
	p = mm_mrealloc(p, 5000);
	for (int i = 0; i < 24; i++)
		assert_int_equal(p[i], i);
	memset(p + 24, 7, 5000 - 24);
	p = mm_mrealloc(p, 100);
	for (int i = 0; i < 24; i++)
		assert_int_equal(p[i], i);
	for (int i = 24; i < 100; i++)
		assert_int_equal(p[i], 7);
	p = mm_mrealloc(p, 8);
	assert_int_equal(p[7], 7);
	mm_mfree(p);
	void *z = mm_mrealloc(NULL, 0); /* realloc of NULL is malloc */
	assert_non_null(z);
	mm_mfree(z);
	expect_all_returned();
}

struct thing {
	uint64_t a, b;
	char name[40];
};

static void test_new_delete(void **state)
{
	struct thing *t = NEW(struct thing);
	struct thing *s = NEWSINGLE(struct thing);

	assert_non_null(t);
	assert_non_null(s);
	assert_null(slab_cache_of(s)); /* NEWSINGLE bypasses the caches */
	assert_non_null(slab_cache_of(t));
	assert_int_equal(t->a | t->b | (uint64_t)t->name[0], 0);
	assert_int_equal(s->a | s->b | (uint64_t)s->name[39], 0);
	DELETE(t);
	DELETE(s);
	expect_all_returned();
}

static void test_exhaustion_returns_null(void **state)
{
	void *held[64];
	int n = 0;

	kmem_host_cap = 3;
	while (n < 64 && (held[n] = mm_malloc(1024)) != NULL)
		n++;
	assert_true(n > 0);
	assert_int_equal(n, 3 * slab_cache_of(held[0])->per_slab); /* all three pages, full */
	assert_null(mm_malloc(2000));
	assert_null(mm_malloc(1 << 20));
	mm_malloc_check();
	kmem_host_cap = 0;
	while (n > 0)
		mm_mfree(held[--n]);
	expect_all_returned();
}

static void test_reclaim_returns_empty_slabs(void **state)
{
	void *p[600];

	for (int i = 0; i < 600; i++)
		p[i] = mm_malloc(64);
	for (int i = 0; i < 600; i++)
		mm_mfree(p[i]);
	/* up to SLAB_KEEP_EMPTY empty slabs stay cached, the rest went back,
	 * but for the slabs of the objects left in the magazine */
	size_t kept = kmem_host_outstanding;
	assert_true(kept > 0 && kept <= SLAB_KEEP_EMPTY + SLAB_MAGAZINE);
	assert_int_equal(slab_reclaim(), kept);
	expect_all_returned();
}

static jmp_buf panic_jmp;
static char panic_msg[512];

static void on_panic(const char *why)
{
	snprintf(panic_msg, sizeof(panic_msg), "%s", why);
	longjmp(panic_jmp, 1);
}

static void expect_panic(void (*fn)(void *), void *arg, const char *words)
{
	env_host_panic_hook = on_panic;
	panic_msg[0] = '\0';
	if (setjmp(panic_jmp) == 0) {
		fn(arg);
		env_host_panic_hook = NULL;
		fail_msg("no panic");
	}
	env_host_panic_hook = NULL;
	assert_non_null(strstr(panic_msg, words));
}

static void do_free(void *p)
{
	mm_mfree(p);
}

#ifndef MM_DEBUG
static void do_malloc48(void *arg)
{
	(void)arg;
	mm_malloc(48);
}
#endif

static void test_bad_frees_panic(void **state)
{
	uint8_t *p = mm_malloc(48);
	uint8_t *q = mm_malloc(48);

	mm_mfree(p);
	expect_panic(do_free, p, "double free");
	expect_panic(do_free, q + 8, "invalid free");
	/* the message names who freed: this test function */
	assert_non_null(strstr(panic_msg, "0x"));
	/* a double free is caught in the magazine and once past it, in the slab */
	uint8_t *r[SLAB_MAGAZINE + 2];
	for (unsigned i = 0; i < ARRAY_SIZE(r); i++)
		r[i] = mm_malloc(48);
	for (unsigned i = 0; i < ARRAY_SIZE(r); i++)
		mm_mfree(r[i]);
	expect_panic(do_free, r[0], "double free");
	expect_panic(do_free, r[ARRAY_SIZE(r) - 1], "double free");
	/* and so is one of an object the magazine took back from its slab
	 * without handing it out */
	slab_reclaim();
	uint8_t *x = mm_malloc(48);
	struct slab_cache *c = slab_cache_of(x);
	assert_true(c->nmag > 0);
	expect_panic(do_free, c->mag[0], "double free");
	mm_mfree(x);
#ifndef MM_DEBUG
	/* a write after the free clears the mark, so the second free gets
	 * into the magazine; the first copy handed out takes the mark along,
	 * and the second panics when it is popped, before two owners share it */
	uint8_t *y = mm_malloc(48);
	mm_mfree(y);
	memset(y, 0, sizeof(void *));
	mm_mfree(y);
	assert_ptr_equal(mm_malloc(48), y);
	expect_panic(do_malloc48, NULL, "lost its mark");
	mm_mfree(y);
#endif
	mm_mfree(q);
	expect_all_returned();
}

#ifdef MM_DEBUG
static void test_debug_catches_overruns(void **state)
{
	uint8_t *p = mm_malloc(40);

	uint8_t saved = p[48];
	p[48] = 1; /* past the 48-byte class into the red zone */
	expect_panic(do_free, p, "red zone overwritten");
	p[48] = saved;
	mm_mfree(p);
	uint8_t *q = mm_malloc(100);
	mm_mfree(q);
	q[50] = 9; /* write after free */
	env_host_panic_hook = on_panic;
	if (setjmp(panic_jmp) == 0) {
		mm_malloc_check();
		fail_msg("use after free not noticed");
	}
	env_host_panic_hook = NULL;
	assert_non_null(strstr(panic_msg, "freed memory overwritten"));
	q[50] = 0x6b; /* put the poison back so later checks pass */
	expect_all_returned();
}
#endif

static void test_random_model(void **state)
{
	enum { MAXLIVE = 2000 };
	static struct {
		uint8_t *p;
		size_t size;
		uint8_t tag;
	} live[MAXLIVE];
	unsigned n = 0, seed = 99, steps = getenv("PHOBOS_STRESS") ? 3000000 : 100000;

	srand(seed);
	printf("# slab random model: seed %u, %u steps\n", seed, steps);
	for (unsigned step = 0; step < steps; step++) {
		int op = rand() % 10;
		if (op < 5 && n < MAXLIVE) {
			size_t size = rand() % 8 ? (size_t)(rand() % 300) : (size_t)(rand() % 9000);
			uint8_t *p = mm_malloc(size);
			assert_non_null(p);
			uint8_t tag = (uint8_t)rand();
			memset(p, tag, size);
			live[n++] = (typeof(live[0])){p, size, tag};
		} else if (op < 9 && n > 0) {
			unsigned i = (unsigned)rand() % n;
			for (size_t k = 0; k < live[i].size; k++)
				if (live[i].p[k] != live[i].tag)
					fail_msg("block %p byte %zu changed", (void *)live[i].p, k);
			mm_mfree(live[i].p);
			live[i] = live[--n];
		} else if (n > 0) {
			unsigned i = (unsigned)rand() % n;
			size_t size = (size_t)(rand() % 3000);
			uint8_t *p = mm_mrealloc(live[i].p, size);
			assert_non_null(p);
			for (size_t k = 0; k < MIN(size, live[i].size); k++)
				assert_int_equal(p[k], live[i].tag);
			memset(p, live[i].tag, size);
			live[i].p = p;
			live[i].size = size;
		}
		if (step % 16 == 0 || getenv("PHOBOS_STRESS") == NULL)
			mm_malloc_check();
	}
	while (n > 0)
		mm_mfree(live[--n].p);
	expect_all_returned();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_and_alignment),
		cmocka_unit_test(test_realloc_keeps_contents),
		cmocka_unit_test(test_new_delete),
		cmocka_unit_test(test_exhaustion_returns_null),
		cmocka_unit_test(test_reclaim_returns_empty_slabs),
		cmocka_unit_test(test_bad_frees_panic),
#ifdef MM_DEBUG
		cmocka_unit_test(test_debug_catches_overruns),
#endif
		cmocka_unit_test(test_random_model),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
