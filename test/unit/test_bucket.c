/*
 * The app library's bucket allocator over the mmap-backed system calls of
 * test/host/bucket_sys_host.c: classes and alignment, calloc overflow and
 * zeroing, realloc in place, aligned_alloc up to 4 MiB, usable sizes,
 * hysteresis at a run boundary, running out of memory, bad frees that
 * panic, and a model-based random run with contents checked and the
 * invariant checker after every step.  Every test ends with every heap
 * block returned.  Built twice: plain and with BUCKET_DEBUG.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/lib/bucket.h"
#include "test/host/bucket_sys_host.h"

static void expect_all_returned(void)
{
	struct bucket_stats st;

	bucket_check();
	bucket_trim();
	bucket_check();
	bucket_stats(&st);
	assert_int_equal(st.blocks_in_use, 0);
	assert_int_equal(st.heap_bytes, 0);
	assert_int_equal(st.runs, 0);
	assert_int_equal(bucket_sys_host_blocks, 0);
	assert_int_equal(bucket_sys_host_bytes, 0);
}

static void test_classes_and_alignment(void **state)
{
	static const size_t sizes[] = {0,    1,	   15,	 16,	17,    100,   128,     129,
				       255,  256,  257,	 1000,	1024,  1025,  4000,    4096,
				       8191, 8192, 8193, 10000, 65536, 70000, 1 << 20, 3 << 20};
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = bucket_malloc(sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		size_t u = bucket_malloc_usable_size(p[i]);
		assert_true(u >= sizes[i] && u >= 1);
		if (sizes[i] <= 128)
			assert_true(u < sizes[i] + 16 || u == 16);
		else if (sizes[i] <= BUCKET_SMALL_MAX)
			assert_true(u * 4 <= sizes[i] * 5); /* 25 % rounding at most */
		memset(p[i], 0x5c, u);
		bucket_check();
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bucket_free(p[i]);
	bucket_free(NULL);
	assert_int_equal(bucket_malloc_usable_size(NULL), 0);
	expect_all_returned();
}

static void test_calloc_overflow_and_zero(void **state)
{
	assert_null(bucket_calloc(SIZE_MAX / 2 + 1, 2));
	assert_null(bucket_calloc(SIZE_MAX, SIZE_MAX));
	assert_null(bucket_calloc(3, SIZE_MAX / 3 + 1));
	/* junk in reused and fresh blocks must not show through */
	bucket_sys_host_dirty = true;
	for (size_t size = 1; size <= (4u << 20); size = size * 3 + 1) {
		unsigned char *p = bucket_malloc(size);
		memset(p, 0xff, size);
		bucket_free(p);
		unsigned char *q = bucket_calloc(1, size);
		unsigned char *r = bucket_calloc(size, 1);
		assert_non_null(q);
		assert_non_null(r);
		for (size_t i = 0; i < size; i++)
			assert_true(q[i] == 0 && r[i] == 0);
		bucket_free(q);
		bucket_free(r);
	}
	void *z = bucket_calloc(0, 5);
	assert_non_null(z);
	bucket_free(z);
	bucket_sys_host_dirty = false;
	expect_all_returned();
}

static void test_realloc_in_place(void **state)
{
	unsigned char *p = bucket_malloc(100);
	for (int i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	size_t u = bucket_malloc_usable_size(p);
	assert_ptr_equal(bucket_realloc(p, u), p);
	assert_ptr_equal(bucket_realloc(p, u / 2), p);
	unsigned char *q = bucket_realloc(p, 20); /* shrinking below half moves */
	assert_ptr_not_equal(q, p);
	for (int i = 0; i < 20; i++)
		assert_int_equal(q[i], i);
	p = bucket_realloc(q, 5000);
	for (int i = 0; i < 20; i++)
		assert_int_equal(p[i], i);
	p = bucket_realloc(p, 1 << 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(p[i], i);
	uint64_t calls = bucket_sys_host_allocs;
	size_t big = bucket_malloc_usable_size(p);
	assert_true(big >= (1u << 20));
	assert_ptr_equal(bucket_realloc(p, big), p); /* large, in place: no kernel call */
	assert_ptr_equal(bucket_realloc(p, big - 4096), p);
	assert_int_equal(bucket_sys_host_allocs, calls);
	p = bucket_realloc(p, 0);
	assert_non_null(p);
	bucket_free(p);
	p = bucket_realloc(NULL, 33);
	assert_non_null(p);
	bucket_free(p);
	expect_all_returned();
}

static void test_aligned_alloc(void **state)
{
	static const size_t sizes[] = {0, 1, 100, 5000, 9000, 1 << 20};

	assert_null(bucket_aligned_alloc(0, 16));
	assert_null(bucket_aligned_alloc(48, 16));
	for (size_t align = 1; align <= (4u << 20); align *= 2) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *p = bucket_aligned_alloc(align, sizes[i]);
			assert_non_null(p);
			assert_int_equal((uintptr_t)p % align, 0);
			size_t u = bucket_malloc_usable_size(p);
			assert_true(u >= sizes[i]);
			memset(p, 0x3c, u);
			/* an ordinary neighbour in the same (aligned) run still frees right */
			void *n = bucket_malloc(sizes[i]);
			bucket_check();
			bucket_free(p);
			bucket_free(n);
		}
	}
	expect_all_returned();
}

/* 1000-byte blocks (class 1024, 8 to an 8 KiB run): filling one run and
 * then hovering one block over the boundary must not call the kernel each
 * time, neither with the new run alone in its class nor behind another. */
static void test_hysteresis(void **state)
{
	void *p[64];
	int n = 0;
	struct bucket_stats st;

	do {
		p[n++] = bucket_malloc(1000);
		bucket_stats(&st);
	} while (st.runs < 2);
	assert_int_equal(n, 9);
	bucket_free(p[--n]);
	uint64_t allocs = bucket_sys_host_allocs, frees = bucket_sys_host_frees;
	for (int i = 0; i < 1000; i++) {
		void *q = bucket_malloc(1000);
		bucket_free(q);
		bucket_check();
	}
	assert_int_equal(bucket_sys_host_allocs, allocs);
	assert_int_equal(bucket_sys_host_frees, frees);
	/* the full run gets room back; the new run's one block now hovers */
	bucket_free(p[0]);
	p[0] = bucket_malloc(1000);
	void *last = bucket_malloc(1000);
	allocs = bucket_sys_host_allocs;
	for (int i = 0; i < 1000; i++) {
		bucket_free(last);
		last = bucket_malloc(1000);
		bucket_free(p[1]);
		p[1] = bucket_malloc(1000);
		bucket_check();
	}
	assert_true(bucket_sys_host_allocs - allocs <= 1);
	assert_true(bucket_sys_host_frees - frees <= 1);
	bucket_free(last);
	for (int i = 0; i < n; i++)
		bucket_free(p[i]);
	expect_all_returned();
}

static void test_out_of_memory(void **state)
{
	void *small = bucket_malloc(64);
	bucket_sys_host_limit = bucket_sys_host_bytes + (64u << 10);
	assert_null(bucket_malloc(1u << 20));
	assert_null(bucket_calloc(1u << 10, 1u << 10));
	assert_null(bucket_aligned_alloc(1u << 20, 100));
	assert_null(bucket_realloc(small, 1u << 20));
	assert_int_equal(bucket_malloc_usable_size(small), 64);
	void *many[4096];
	int n = 0;
	while (n < 4096 && (many[n] = bucket_malloc(4096)) != NULL)
		n++;
	assert_true(n > 0 && n < 4096);
	bucket_check();
	bucket_sys_host_limit = 0;
	for (int i = 0; i < n; i++)
		bucket_free(many[i]);
	bucket_free(small);
	expect_all_returned();
}

static jmp_buf panic_jmp;
static char panic_msg[256];

static void on_panic(const char *why, uint64_t value)
{
	snprintf(panic_msg, sizeof(panic_msg), "%s", why);
	longjmp(panic_jmp, 1);
}

static void expect_panic(void *p, const char *words)
{
	bucket_sys_host_panic_hook = on_panic;
	panic_msg[0] = '\0';
	if (setjmp(panic_jmp) == 0) {
		bucket_free(p);
		bucket_sys_host_panic_hook = NULL;
		fail_msg("no panic freeing %p", p);
	}
	bucket_sys_host_panic_hook = NULL;
	if (strstr(panic_msg, words) == NULL)
		fail_msg("panic \"%s\" does not say \"%s\"", panic_msg, words);
}

/* Caught in every build: a large pointer whose header does not match. */
static void test_bad_large_free_panics(void **state)
{
	char *p = bucket_malloc(100000);
	memset(p, 0, 100000);
	expect_panic(p + 16, "invalid");
	bucket_free(p);
	expect_all_returned();
}

#ifdef BUCKET_DEBUG
static void test_debug_bad_frees_panic(void **state)
{
	char *a = bucket_malloc(100), *b = bucket_malloc(100), *big = bucket_malloc(1u << 20);
	char on_stack[32];

	bucket_free(a);
	expect_panic(a, "double free");
	expect_panic(b + 16, "invalid free");
	expect_panic(b + 4 * bucket_malloc_usable_size(b), "free"); /* never handed out */
	expect_panic(on_stack, "invalid");
	bucket_free(big);
	expect_panic(big, "double free");
	char *al = bucket_aligned_alloc(256, 300);
	bucket_free(al);
	expect_panic(al, "double free");
	bucket_free(b);
	bucket_check();
	expect_all_returned();
}
#endif

/* The random run's model: a live block, its size and the seed of its pattern. */
struct model_block {
	unsigned char *p;
	size_t size, align;
	unsigned seed;
};

#define MODEL_LIVE 200

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t model_size(unsigned *s)
{
	unsigned k = rnd(s) % 100;
	if (k < 70)
		return rnd(s) % 1025;
	if (k < 90)
		return 1024 + rnd(s) % (63u << 10);
	if (k < 98)
		return (64u << 10) + rnd(s) % (960u << 10);
	return (1u << 20) + rnd(s) % (5u << 20);
}

/* Big blocks get their first and last pages and one byte a page. */
static bool model_in_pattern(size_t i, size_t size)
{
	return size <= (64u << 10) || i < 4096 || i >= size - 4096 || i % 4096 == 7;
}

static void model_fill(struct model_block *m)
{
	for (size_t i = 0; i < m->size; i++)
		if (model_in_pattern(i, m->size))
			m->p[i] = (unsigned char)(m->seed + i * 131);
}

static void model_verify(const struct model_block *m, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (model_in_pattern(i, m->size) && m->p[i] != (unsigned char)(m->seed + i * 131))
			fail_msg("block %p byte %zu of %zu overwritten", (void *)m->p, i, m->size);
}

static void model_step(struct model_block *live, unsigned *s)
{
	struct model_block *m = &live[rnd(s) % MODEL_LIVE];
	unsigned op = rnd(s) % 100;

	if (m->p != NULL && op < 40) {
		model_verify(m, m->size);
		bucket_free(m->p);
		m->p = NULL;
		return;
	}
	if (m->p != NULL) {
		size_t size = model_size(s);
		model_verify(m, m->size);
		unsigned char *q = bucket_realloc(m->p, size);
		assert_non_null(q);
		size_t upto = size < m->size ? size : m->size;
		if (m->size > (64u << 10) && upto > 4096)
			upto = 4096; /* the sparse pattern's head, whatever the size */
		struct model_block kept = {q, upto, 16, m->seed};
		model_verify(&kept, kept.size);
		*m = (struct model_block){q, size, 16, rnd(s)};
		model_fill(m);
		return;
	}
	size_t size = model_size(s);
	m->align = 16;
	if (op < 60) {
		m->p = bucket_malloc(size);
	} else if (op < 75) {
		m->p = bucket_calloc(1, size);
		assert_non_null(m->p);
		for (size_t i = 0; i < size; i++)
			if (model_in_pattern(i, size))
				assert_int_equal(m->p[i], 0);
	} else {
		m->align = (size_t)1 << (rnd(s) % (rnd(s) % 8 == 0 ? 23 : 13));
		m->p = bucket_aligned_alloc(m->align, size);
	}
	assert_non_null(m->p);
	assert_int_equal((uintptr_t)m->p % (m->align < 16 ? 16 : m->align), 0);
	assert_true(bucket_malloc_usable_size(m->p) >= size);
	m->size = size;
	m->seed = rnd(s);
	model_fill(m);
}

static void test_random_model(void **state)
{
	static struct model_block live[MODEL_LIVE];
	unsigned s = 20240611;
	int steps = getenv("PHOBOS_STRESS") ? 400000 : 20000;

	bucket_sys_host_dirty = true;
	for (int step = 0; step < steps; step++) {
		model_step(live, &s);
		bucket_check();
		struct bucket_stats st;
		bucket_stats(&st);
		uint64_t n = 0, bytes = 0;
		for (int i = 0; i < MODEL_LIVE; i++)
			if (live[i].p != NULL) {
				n++;
				bytes += live[i].size;
			}
		assert_int_equal(st.blocks_in_use, n);
		assert_true(st.bytes_in_use >= bytes);
		assert_int_equal(st.heap_bytes, bucket_sys_host_bytes);
	}
	for (int i = 0; i < MODEL_LIVE; i++) {
		if (live[i].p != NULL) {
			model_verify(&live[i], live[i].size);
			bucket_free(live[i].p);
			live[i].p = NULL;
		}
		bucket_check();
	}
	bucket_sys_host_dirty = false;
	expect_all_returned();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classes_and_alignment),
	    cmocka_unit_test(test_calloc_overflow_and_zero),
	    cmocka_unit_test(test_realloc_in_place),
	    cmocka_unit_test(test_aligned_alloc),
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_out_of_memory),
	    cmocka_unit_test(test_bad_large_free_panics),
#ifdef BUCKET_DEBUG
	    cmocka_unit_test(test_debug_bad_frees_panic),
#endif
	    cmocka_unit_test(test_random_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
