/*
 * Kernel malloc over the slab caches and kmem (see malloc.h).
 *
 * Size classes step by about a quarter between powers of two, so internal
 * waste stays under 25 % while the number of caches stays small.
 * A large block is [header][caller's bytes...] in whole pages, the header
 * holding a magic and the page count; the caller's pointer is page start +
 * 16, so the page start of any pointer tells slab objects (struct slab
 * magic) and large blocks (MM_LARGE_MAGIC) apart.
 */
#include "core/mm/kmem.h"
#include "core/mm/malloc.h"
#include "core/mm/slab.h"

#define MM_LARGE_MAGIC 0x4c415247u /* "LARG" */
#define MM_LARGE_HEADER 16u

struct mm_large {
	uint32_t magic;
	uint32_t pad;
	uint64_t pages;
};

static const uint16_t mm_classes[] = {16,  32,  48,  64,  80,  96,  128, 160, 192,
				      256, 320, 384, 512, 640, 768, 1024};
static struct slab_cache mm_caches[ARRAY_SIZE(mm_classes)];
/*
 * Every class is a multiple of 16, so sizes with the same (size + 15) / 16
 * share a class: mm_class_at maps that quotient to the class, one load
 * instead of a scan.  Size 0 lands on index 0, the 16-byte class.
 */
static uint8_t mm_class_at[SLAB_MAX_SIZE / 16 + 1];

_Static_assert(SLAB_MAX_SIZE == 1024, "mm_classes ends at SLAB_MAX_SIZE");

void mm_malloc_init(void)
{
	static char names[ARRAY_SIZE(mm_classes)][16];
	size_t c = 0;

	for (size_t i = 0; i < ARRAY_SIZE(mm_classes); i++) {
		size_t sz = mm_classes[i];
		KASSERT(sz % 16 == 0);
		ksnprintf(names[i], sizeof(names[i]), "malloc-%zu", sz);
		slab_cache_init(&mm_caches[i], names[i], sz, IS_POW2(sz) ? sz : 16);
	}
	for (size_t q = 0; q < ARRAY_SIZE(mm_class_at); q++) {
		while (mm_classes[c] < q * 16)
			c++;
		mm_class_at[q] = (uint8_t)c;
	}
}

static struct slab_cache *mm_cache_for(size_t size)
{
	return size <= SLAB_MAX_SIZE ? &mm_caches[mm_class_at[(size + 15) / 16]] : NULL;
}

static void *mm_large_alloc(size_t size)
{
	if (size > SIZE_MAX - MM_LARGE_HEADER - PAGE_SIZE)
		return NULL;
	uint64_t pages = (size + MM_LARGE_HEADER + PAGE_SIZE - 1) / PAGE_SIZE;
	struct mm_large *h = kmem_map_alloc_pages(pages);
	if (h == NULL)
		return NULL;
	h->magic = MM_LARGE_MAGIC;
	h->pages = pages;
	return (uint8_t *)h + MM_LARGE_HEADER;
}

void *mm_malloc(size_t size)
{
	struct slab_cache *c = mm_cache_for(size);
	return likely(c != NULL) ? slab_alloc(c) : mm_large_alloc(size);
}

/* The large-block header of p, which is no slab object; panics if p is neither. */
static struct mm_large *mm_large_of(const void *p, uintptr_t caller)
{
	struct mm_large *h = (struct mm_large *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);
	char who[64];

	if (h->magic == MM_LARGE_MAGIC && (const uint8_t *)p == (uint8_t *)h + MM_LARGE_HEADER)
		return h;
	ksymbolize(caller, who, sizeof(who));
	panic("mm_mfree: invalid free of %p by %s", p, who);
}

/* The large-block header of p, or NULL if p is a slab object; panics otherwise. */
static struct mm_large *mm_classify(const void *p, uintptr_t caller)
{
	return slab_of(p) != NULL ? NULL : mm_large_of(p, caller);
}

/* The page header is read once: slab_free_in checks obj against the slab. */
static void mm_free_from(void *p, uintptr_t caller)
{
	if (p == NULL)
		return;
	struct slab *s = slab_of(p);
	if (likely(s != NULL)) {
		slab_free_in(s, p, caller);
		return;
	}
	struct mm_large *h = mm_large_of(p, caller);
	h->magic = 0; /* a second free of this block is now an invalid free */
	kmem_map_free_pages(h, h->pages);
}

/*
 * The entry points that name their caller in a panic are never inlined:
 * inlined (the kernel is built with LTO), the return address they read
 * would be their caller's caller's.
 */
__attribute__((noinline)) void mm_mfree(void *p)
{
	mm_free_from(p, (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) size_t mm_usable_size(const void *p)
{
	struct mm_large *h = mm_classify(p, (uintptr_t)__builtin_return_address(0));

	return h == NULL ? slab_cache_of(p)->size : h->pages * PAGE_SIZE - MM_LARGE_HEADER;
}

__attribute__((noinline)) void *mm_mrealloc(void *p, size_t size)
{
	if (p == NULL)
		return mm_malloc(size);
	size_t have = mm_usable_size(p);
	struct slab_cache *c = slab_cache_of(p);
	/* stay in place when the block already is the right size class */
	if (c != NULL ? mm_cache_for(size) == c
		      : size <= have && size + PAGE_SIZE > have)
		return p;
	void *q = mm_malloc(size);
	if (q == NULL)
		return NULL;
	memcpy(q, p, MIN(have, size));
	mm_free_from(p, (uintptr_t)__builtin_return_address(0));
	return q;
}

void *mm_op_new(size_t size, bool single)
{
	void *p = single ? mm_large_alloc(size) : mm_malloc(size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

__attribute__((noinline)) void mm_op_delete(void *p)
{
	mm_free_from(p, (uintptr_t)__builtin_return_address(0));
}

void mm_malloc_check(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(mm_caches); i++)
		slab_check(&mm_caches[i]);
}
