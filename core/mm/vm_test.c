/*
 * Maps, objects and faults on the real page tables: the map API with its
 * error paths, demand-zero faults through real #PF traps over more than
 * 16 MiB, wired allocations, and free pages back where they started.
 */
#include "core/ktest.h"
#include "core/mm/malloc.h"
#include "core/mm/slab.h"
#include "core/mm/vm_map.h"

#define MIB (1ull << 20)

/*
 * Free pages plus the pages slabs hold: allocator metadata (entries,
 * buddy descriptors) may settle in other slabs than before, but a page
 * lost anywhere else shows.
 */
static uint64_t vm_test_free_pages(void)
{
	slab_reclaim();
	return vm_page_free_count() + slab_pages_total();
}

KTEST(vm_map_api)
{
	struct vm_map *map = vm_map_kernel();
	struct vm_map_entry e;
	vaddr_t space, wired;
	uint64_t before = vm_test_free_pages();

	KTEST_EQ(vm_map_allocate_space(map, 64 * PAGE_SIZE, &space), 0);
	KTEST_EQ(vm_map_lookup(map, space + 5 * PAGE_SIZE, &e), 0);
	KTEST_EQ(e.kind, VM_ENTRY_SPACE);
	KTEST_EQ(e.start, space);
	/* faults in pure space or reserved space are errors, not pages */
	KTEST_EQ(vm_fault(map, space, VM_PROT_READ, false), -EFAULT);
	KTEST_EQ(vm_map_reserve_space(map, space + PAGE_SIZE, PAGE_SIZE), -EBUSY);
	KTEST_EQ(vm_map_allocate_space(map, 100, &wired), -EINVAL);
	KTEST_EQ(vm_map_free(map, space + PAGE_SIZE), -ENOENT);
	KTEST_EQ(vm_map_free(map, 0x1000), -ERANGE);

	vaddr_t r = space + 64 * PAGE_SIZE + 16 * MIB;
	KTEST_EQ(vm_map_reserve_space(map, r, 8 * PAGE_SIZE), 0);
	KTEST_EQ(vm_fault(map, r, VM_PROT_READ, false), -EFAULT);
	KTEST_EQ(vm_map_unreserve_space(map, r, 4 * PAGE_SIZE), -EINVAL);
	KTEST_EQ(vm_map_free(map, r), -ENOENT);
	KTEST_EQ(vm_map_unreserve_space(map, r, 8 * PAGE_SIZE), 0);
	KTEST_EQ(vm_map_unreserve_space(map, r, 8 * PAGE_SIZE), -ENOENT);

	/* a partial, read-only window of an object at a fixed place */
	struct vm_object *obj = vm_object_allocate(16 * PAGE_SIZE);
	KTEST_ASSERT(obj != NULL);
	KTEST_EQ(vm_map_insert_object_at(map, r, obj, 4 * PAGE_SIZE, 16 * PAGE_SIZE, VM_PROT_READ, 0),
		 -EINVAL);
	KTEST_EQ(vm_map_insert_object_at(map, r, obj, 4 * PAGE_SIZE, 8 * PAGE_SIZE, VM_PROT_READ, 0),
		 0);
	KTEST_EQ(vm_fault(map, r, VM_PROT_WRITE, false), -EACCES);
	KTEST_EQ(*(volatile uint64_t *)(r + 3 * PAGE_SIZE), 0); /* a real fault, read */
	KTEST_ASSERT(vm_object_page_lookup(obj, 7) != NULL);  /* offset 4 pages + 3 */
	KTEST_EQ(obj->resident, 1);
	vm_object_deallocate(obj);
	vm_map_check(map);

	KTEST_EQ(vm_map_allocate(map, 10 * PAGE_SIZE, VM_PROT_RW, &wired), 0);
	KTEST_ASSERT(vm_test_free_pages() <= before - 10);
	memset((void *)wired, 0x5a, 10 * PAGE_SIZE);
	vm_map_check(map);
	KTEST_EQ(vm_map_free(map, wired), 0);
	KTEST_EQ(vm_map_free(map, r), 0);
	KTEST_EQ(vm_map_free(map, space), 0);
	vm_map_check(map);
	KTEST_EQ(vm_test_free_pages(), before);
}

KTEST(vm_demand_zero_20mib)
{
	struct vm_map *map = vm_map_kernel();
	const vm_size_t size = 20 * MIB;
	uint64_t before = vm_test_free_pages();
	vaddr_t va;

	struct vm_object *obj = vm_object_allocate(size);
	KTEST_ASSERT(obj != NULL);
	if (obj == NULL)
		return;
	KTEST_EQ(vm_map_insert_object(map, obj, 0, size, VM_PROT_RW, 0, &va), 0);
	vm_object_deallocate(obj);
	for (vaddr_t a = va; a < va + size; a += PAGE_SIZE) {
		volatile uint64_t *p = (volatile uint64_t *)a;
		if (p[0] != 0 || p[PAGE_SIZE / 8 - 1] != 0) {
			ktest_fail(__FILE__, __LINE__, "page %llx not zero", (unsigned long long)a);
			break;
		}
		p[1] = a ^ 0x5555;
	}
	for (vaddr_t a = va; a < va + size; a += PAGE_SIZE)
		if (((volatile uint64_t *)a)[1] != (a ^ 0x5555)) {
			ktest_fail(__FILE__, __LINE__, "page %llx lost its write", (unsigned long long)a);
			break;
		}
	/* all resident where memory holds them; on a small machine (mem=16M)
	 * some went to swap, and the writes above still all came back */
	if (before > 2 * size / PAGE_SIZE)
		KTEST_EQ(obj->resident, size / PAGE_SIZE);
	else
		KTEST_ASSERT(obj->resident > 0 && obj->resident <= size / PAGE_SIZE);
	vm_map_check(map);
	KTEST_EQ(vm_map_free(map, va), 0);
	KTEST_EQ(vm_test_free_pages(), before);
}

/* Fills page i of [va, va + n pages) with its own tag. */
static void vm_test_fill(vaddr_t va, unsigned n, uint64_t tag)
{
	for (unsigned i = 0; i < n; i++)
		*(volatile uint64_t *)(va + i * PAGE_SIZE) = tag + i;
}

KTEST(vm_cow_fork_page_by_page)
{
	struct vm_map *map = vm_map_kernel();
	enum { N = 16 };
	uint64_t want_a[N], want_b[N];
	vaddr_t a, b;
	uint64_t before = vm_test_free_pages();

	struct vm_object *obj = vm_object_allocate(N * PAGE_SIZE);
	KTEST_EQ(vm_map_insert_object(map, obj, 0, N * PAGE_SIZE, VM_PROT_RW, 0, &a), 0);
	vm_object_deallocate(obj);
	vm_test_fill(a, N, 0x1000);
	KTEST_EQ(vm_map_copy_entry(map, a, map, &b), 0);
	uint64_t after_fork = vm_page_free_count();
	for (unsigned i = 0; i < N; i++)
		want_a[i] = want_b[i] = 0x1000 + i;
	/* reads share: no page is copied */
	for (unsigned i = 0; i < N; i++)
		KTEST_EQ(*(volatile uint64_t *)(b + i * PAGE_SIZE), want_b[i]);
	KTEST_ASSERT(vm_page_free_count() + 8 >= after_fork); /* page tables only */
	/* writes copy, each side sees only its own */
	*(volatile uint64_t *)(a + 3 * PAGE_SIZE) = want_a[3] = 0xaaaa;
	*(volatile uint64_t *)(b + 5 * PAGE_SIZE) = want_b[5] = 0xbbbb;
	*(volatile uint64_t *)(b + 3 * PAGE_SIZE + 8) = 0xcccc;
	for (unsigned i = 0; i < N; i++) {
		KTEST_EQ(*(volatile uint64_t *)(a + i * PAGE_SIZE), want_a[i]);
		KTEST_EQ(*(volatile uint64_t *)(b + i * PAGE_SIZE), want_b[i]);
	}
	KTEST_EQ(*(volatile uint64_t *)(a + 3 * PAGE_SIZE + 8), 0);
	struct vm_map_entry ea;
	KTEST_EQ(vm_map_lookup(map, a, &ea), 0);
	KTEST_EQ(vm_object_chain_length(ea.object), 2);
	KTEST_EQ(ea.object->resident, 1); /* only the page a wrote */
	/* repeated forks whose copies die do not grow the chain */
	for (int round = 0; round < 10; round++) {
		vaddr_t c;
		KTEST_EQ(vm_map_copy_entry(map, a, map, &c), 0);
		KTEST_EQ(*(volatile uint64_t *)(c + 7 * PAGE_SIZE), want_a[7]);
		KTEST_EQ(vm_map_free(map, c), 0);
		*(volatile uint64_t *)(a + 9 * PAGE_SIZE) = want_a[9] = 0x9000 + (uint64_t)round;
	}
	KTEST_EQ(vm_map_lookup(map, a, &ea), 0);
	KTEST_ASSERT(vm_object_chain_length(ea.object) <= 3);
	KTEST_EQ(vm_map_free(map, b), 0);
	*(volatile uint64_t *)(a + 11 * PAGE_SIZE) = want_a[11] = 0x1111;
	KTEST_EQ(vm_map_lookup(map, a, &ea), 0);
	KTEST_EQ(vm_object_chain_length(ea.object), 1); /* collapsed once alone */
	for (unsigned i = 0; i < N; i++)
		KTEST_EQ(*(volatile uint64_t *)(a + i * PAGE_SIZE), want_a[i]);
	vm_map_check(map);
	KTEST_EQ(vm_map_free(map, a), 0);
	KTEST_EQ(vm_test_free_pages(), before);
}


/* On request only: a kernel write to a read-only entry cannot be resolved
 * and must end in a PANIC naming the address, the access and the entry. */
KTEST_DEFINE(vm_fault_unresolved, KTEST_ON_REQUEST)
{
	vaddr_t va;
	struct vm_object *obj = vm_object_allocate(PAGE_SIZE);

	KTEST_EQ(vm_map_insert_object(vm_map_kernel(), obj, 0, PAGE_SIZE, VM_PROT_READ, 0, &va), 0);
	vm_object_deallocate(obj);
	*(volatile uint64_t *)(va + 0x18) = 1;
	ktest_fail(__FILE__, __LINE__, "a write to a read-only entry did not fault");
}
