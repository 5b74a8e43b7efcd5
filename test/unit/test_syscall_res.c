/*
 * The app's reservation calls on the kernel's own code: core/syscall.c,
 * reached through syscall_dispatch, over a real vm_map on the software
 * MMU, laid out as proc.c lays out the app (the kernel's reservation
 * below the app's space, the stack guard and the stack above it).  Random
 * reserve, allocate (anywhere and at an address), free and unreserve
 * sequences are checked against an interval model after every step: each
 * result exactly, then every range of the map for what lies there.  The
 * file system and user copies are not reached by these calls: the stubs
 * below fail if they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "app/include/phobos/abi.h"
#include "core/arch/x86_64/user.h"
#include "core/dev/storage.h"
#include "core/mm/slab.h"
#include "core/mm/vm_map.h"
#include "core/proc.h"
#include "core/syscall.h"
#include "fs/fat_pager.h"
#include "test/sim/pmap_sim.h"

#define PG 4096ull
#define MAP_START PG
#define APP_LO (256 * PG)   /* the image ends here */
#define APP_HI (8192 * PG)  /* the stack guard page */
#define STACK (16 * PG)
#define MAP_END (APP_HI + PG + STACK)
#define NPAGES (MAP_END / PG)
#define MAX_BLOCKS 256
#define MAX_RES 16

/* The stubs: what syscall.c links against besides the VM. */
struct storage storage;
static struct vm_map map;
static struct vm_object *heap;

struct vm_map *proc_map(void)
{
	return &map;
}

struct vm_object *proc_heap(void)
{
	return heap;
}

void proc_app_space(uint64_t *lo, uint64_t *hi)
{
	*lo = APP_LO;
	*hi = APP_HI;
}

_Noreturn void proc_exit(int code)
{
	fail_msg("proc_exit(%d)", code);
	abort();
}

#define UNREACHED(ret, name, ...)                                                                  \
	ret name(__VA_ARGS__)                                                                      \
	{                                                                                          \
		fail_msg("%s reached", #name);                                                     \
		abort();                                                                           \
	}
UNREACHED(int, user_copy_in, void *d, uint64_t s, size_t n)
UNREACHED(int, user_copy_out, uint64_t d, const void *s, size_t n)
UNREACHED(int, user_copy_str, char *d, uint64_t s, size_t max)
UNREACHED(int, fat_open, struct fat_vol *v, const char *p, unsigned f, struct fat_file **out)
UNREACHED(void, fat_close, struct fat_file *f)
UNREACHED(uint32_t, fat_size, const struct fat_file *f)
UNREACHED(long, fat_read, struct fat_file *f, uint64_t o, void *b, size_t n)
UNREACHED(long, fat_write, struct fat_file *f, uint64_t o, const void *b, size_t n)
UNREACHED(int, fat_truncate, struct fat_file *f, uint64_t s)
UNREACHED(int, fat_stat, struct fat_vol *v, const char *p, struct fat_dirent *out)
UNREACHED(int, fat_mkdir, struct fat_vol *v, const char *p)
UNREACHED(int, console_write_to, unsigned sink, const char *s, size_t n)
UNREACHED(int, fat_list, struct fat_vol *v, const char *p,
	  int (*fn)(const struct fat_dirent *e, void *ctx), void *ctx)
UNREACHED(int, fat_map, struct vm_map *m, struct fat_file *f, uint64_t o, uint64_t s, vm_prot_t p,
	  bool sh, unsigned fl, vaddr_t *va)

static int64_t call(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct syscall_frame f = {.nr = (uint64_t)nr, .a = {a0, a1, a2, a3}};

	return syscall_dispatch(&f);
}

static int64_t reserve(uint64_t size)
{
	return call(PHOBOS_SYS_RESERVE_SPACE, size, 0, 0, 0);
}

static int64_t unreserve(uint64_t a)
{
	return call(PHOBOS_SYS_UNRESERVE_SPACE, a, 0, 0, 0);
}

static int64_t allocate(uint64_t size, uint64_t at)
{
	return call(PHOBOS_SYS_ALLOCATE_HEAP, size, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE, at, 1);
}

static int64_t free_block(uint64_t a)
{
	return call(PHOBOS_SYS_FREE_HEAP, a, 0, 0, 0);
}

/*
 * The model: what each page of the map is.  KERNEL for the kernel's
 * reservations and the stack, FREE, RES + i for reservation i's reserved
 * pages, BLOCK + j for block j.
 */
enum { FREE = 0, KERNEL = 1, RES = 2, BLOCK = RES + MAX_RES };

static uint16_t page[NPAGES];
static struct { uint64_t start, end; } res[MAX_RES], blk[MAX_BLOCKS];
static int res_of_block[MAX_BLOCKS]; /* -1: outside every reservation */
static uint64_t free_at_start;

static void model_set(uint64_t start, uint64_t end, uint16_t what)
{
	for (uint64_t p = start / PG; p < end / PG; p++)
		page[p] = what;
}

static int setup(void **state)
{
	(void)state;
	pmap_sim_init(64u << 20);
	free_at_start = vm_page_free_count();
	return 0;
}

static void layout(struct pmap **pmap)
{
	vaddr_t va;

	assert_int_equal(pmap_create(pmap), 0);
	assert_int_equal(vm_map_init(&map, *pmap, MAP_START, MAP_END - MAP_START), 0);
	heap = vm_object_allocate(PHOBOS_GATE_ADDRESS);
	assert_non_null(heap);
	assert_int_equal(vm_map_reserve_space(&map, MAP_START, APP_LO - MAP_START), 0);
	assert_int_equal(vm_map_reserve_space(&map, APP_HI, PG), 0);
	assert_int_equal(vm_map_insert_heap(&map, heap, APP_HI + PG, STACK, VM_PROT_RW,
					    MAP_ENTRY_USER, &va), 0);
	memset(page, 0, sizeof(page));
	memset(res, 0, sizeof(res));
	memset(blk, 0, sizeof(blk));
	model_set(0, APP_LO, KERNEL);
	model_set(APP_HI, MAP_END, KERNEL);
}

static void teardown_map(struct pmap *pmap)
{
	syscall_proc_end();
	vm_map_remove_all(&map);
	buddy_destroy(&map.space);
	pmap_destroy(pmap);
	vm_object_deallocate(heap);
	slab_reclaim();
	assert_int_equal(vm_page_free_count(), free_at_start);
}

/* Every run of equal model pages against the map's entries. */
static void model_check(void)
{
	struct vm_map_entry e;

	vm_map_check(&map);
	for (uint64_t p = MAP_START / PG; p < NPAGES;) {
		uint64_t q = p;
		while (q < NPAGES && page[q] == page[p])
			q++;
		uint64_t a = p * PG, b = q * PG;
		uint16_t what = page[p];
		if (what == FREE) {
			assert_int_equal(vm_map_lookup(&map, a, &e), -ENOENT);
			assert_int_equal(vm_map_lookup(&map, b - PG, &e), -ENOENT);
			assert_int_equal(vm_map_lookup(&map, a + (b - a) / 2 / PG * PG, &e), -ENOENT);
		} else if (what >= BLOCK) {
			assert_int_equal(vm_map_lookup(&map, a, &e), 0);
			assert_int_equal(e.kind, VM_ENTRY_OBJECT);
			assert_true(e.start == blk[what - BLOCK].start && e.end == blk[what - BLOCK].end);
		} else if (what >= RES) {
			/* pieces of one reservation, none reaching past the run */
			for (uint64_t x = a; x < b; x = e.end) {
				assert_int_equal(vm_map_lookup(&map, x, &e), 0);
				assert_int_equal(e.kind, VM_ENTRY_RESERVED);
				assert_true(e.start >= a && e.end <= b);
			}
		}
		p = q;
	}
}

static bool model_all(uint64_t start, uint64_t end, uint16_t what)
{
	for (uint64_t p = start / PG; p < end / PG; p++)
		if (page[p] != what)
			return false;
	return true;
}

static int model_free_block_slot(void)
{
	for (int j = 0; j < MAX_BLOCKS; j++)
		if (blk[j].end == 0)
			return j;
	return -1;
}

static void step_reserve(void)
{
	uint64_t size = (1 + (uint64_t)rand() % 64) * PG;
	int i = 0;

	while (i < MAX_RES && res[i].end != 0)
		i++;
	int64_t r = reserve(size - (uint64_t)rand() % 2); /* sizes round up to pages */
	if (i == MAX_RES) {
		assert_int_equal(r, -ENOMEM);
		return;
	}
	if (r == -ENOMEM)
		return; /* no room left in the app's space */
	assert_true(r > 0);
	assert_true(model_all((uint64_t)r, (uint64_t)r + size, FREE));
	res[i].start = (uint64_t)r;
	res[i].end = (uint64_t)r + size;
	model_set(res[i].start, res[i].end, (uint16_t)(RES + i));
}

/* at: inside a reservation, anywhere in the map, just above a reservation,
 * or in the kernel's parts. */
static uint64_t pick_address(uint64_t size)
{
	int i = rand() % MAX_RES;

	switch (rand() % 4) {
	case 0:
		if (res[i].end != 0)
			return res[i].start + (uint64_t)rand() % ((res[i].end - res[i].start) / PG) * PG;
		break;
	case 1:
		if (res[i].end != 0)
			return res[i].end - (rand() % 2 ? 0 : size) + (uint64_t)(rand() % 2) * PG;
		break;
	case 2:
		return (MAP_START / PG + (uint64_t)rand() % (APP_LO / PG)) * PG;
	}
	return (APP_LO / PG + (uint64_t)rand() % ((MAP_END - APP_LO) / PG)) * PG;
}

static void step_allocate(bool anywhere)
{
	uint64_t size = (1 + (uint64_t)rand() % 8) * PG;
	uint64_t at = anywhere ? 0 : pick_address(size);
	int j = model_free_block_slot();

	if (j < 0)
		return;
	int64_t r = allocate(size, at);
	if (anywhere) {
		if (r == -ENOMEM)
			return;
		assert_true(r > 0 && model_all((uint64_t)r, (uint64_t)r + size, FREE));
		res_of_block[j] = -1;
	} else {
		/* the model's answer: inside one reservation's reserved pages, or
		 * on free pages; else refused */
		int owner = at + size <= MAP_END ? page[at / PG] : KERNEL;
		bool in_res = owner >= RES && owner < BLOCK && model_all(at, at + size, (uint16_t)owner);
		bool on_free = at + size <= MAP_END && model_all(at, at + size, FREE);
		if (!in_res && !on_free) {
			assert_true(r == -EBUSY || (at + size > MAP_END && r == -ERANGE));
			return;
		}
		assert_int_equal(r, (int64_t)at);
		res_of_block[j] = in_res ? owner - RES : -1;
	}
	blk[j].start = (uint64_t)r;
	blk[j].end = (uint64_t)r + size;
	model_set(blk[j].start, blk[j].end, (uint16_t)(BLOCK + j));
}

static void step_free(void)
{
	int j = rand() % MAX_BLOCKS;

	if (blk[j].end == 0) {
		/* the kernel's mappings and reservations, and free space, are refused */
		uint64_t a = pick_address(PG);
		if (page[a / PG] < BLOCK || blk[page[a / PG] - BLOCK].start != a)
			assert_int_equal(free_block(a), -EINVAL);
		return;
	}
	assert_int_equal(free_block(blk[j].start), 0);
	int owner = res_of_block[j];
	model_set(blk[j].start, blk[j].end, owner < 0 ? FREE : (uint16_t)(RES + owner));
	blk[j].end = 0;
}

static void step_unreserve(void)
{
	int i = rand() % MAX_RES;

	if (res[i].end == 0) {
		assert_int_equal(unreserve(APP_HI), -EINVAL);
		return;
	}
	bool empty = model_all(res[i].start, res[i].end, (uint16_t)(RES + i));
	assert_int_equal(unreserve(res[i].start), empty ? 0 : -EBUSY);
	if (empty) {
		model_set(res[i].start, res[i].end, FREE);
		res[i].end = 0;
	}
}

/* The cases of issue 16 item 1, one by one. */
static void test_reservation_bounds(void **state)
{
	struct pmap *pmap;

	(void)state;
	layout(&pmap);
	int64_t r = reserve(64 * PG);
	assert_true(r > 0);
	/* above the reservation: the kernel's guard page stays the kernel's */
	assert_int_equal(allocate(PG, APP_HI), -EBUSY);
	assert_int_equal(allocate(PG, APP_LO - PG), -EBUSY);
	/* a block freed above a reservation can be had back after unreserve */
	int64_t b = allocate(128 * PG, 0);
	assert_true(b > r);
	assert_int_equal(free_block((uint64_t)b), 0);
	assert_int_equal(unreserve((uint64_t)r), 0);
	assert_int_equal(allocate(128 * PG, (uint64_t)b), b);
	assert_int_equal(free_block((uint64_t)b), 0);
	/* the kernel's stack and reservations are not the app's to free */
	assert_int_equal(free_block(APP_HI + PG), -EINVAL);
	assert_int_equal(unreserve(MAP_START), -EINVAL);
	teardown_map(pmap);
}

/* A reservation right below the kernel's guard page: a block at its top
 * cuts only its own piece, and unreserving it leaves the guard alone. */
static void test_reservation_next_to_kernel(void **state)
{
	struct pmap *pmap;
	struct vm_map_entry e;

	(void)state;
	layout(&pmap);
	int64_t fill = allocate(APP_HI - APP_LO - 4 * PG, APP_LO);
	assert_int_equal(fill, (int64_t)APP_LO);
	int64_t r = reserve(4 * PG);
	assert_int_equal(r, (int64_t)(APP_HI - 4 * PG));
	assert_int_equal(allocate(PG, APP_HI - PG), (int64_t)(APP_HI - PG));
	assert_int_equal(free_block(APP_HI - PG), 0);
	assert_int_equal(allocate(2 * PG, APP_HI - PG), -EBUSY);
	assert_int_equal(unreserve((uint64_t)r), 0);
	assert_int_equal(vm_map_lookup(&map, APP_HI, &e), 0);
	assert_true(e.kind == VM_ENTRY_RESERVED && e.start == APP_HI && e.end == APP_HI + PG);
	assert_int_equal(free_block((uint64_t)fill), 0);
	teardown_map(pmap);
}

static void test_reservation_model(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 40; seed++) {
		struct pmap *pmap;
		srand(seed);
		layout(&pmap);
		for (int step = 0; step < 400; step++) {
			switch (rand() % 6) {
			case 0:
				step_reserve();
				break;
			case 1:
				step_allocate(true);
				break;
			case 2:
			case 3:
				step_allocate(false);
				break;
			case 4:
				step_free();
				break;
			default:
				step_unreserve();
			}
			model_check();
		}
		teardown_map(pmap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reservation_bounds),
		cmocka_unit_test(test_reservation_next_to_kernel),
		cmocka_unit_test(test_reservation_model),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
