/* The app's system calls over mmap: see bucket_sys_host.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "app/include/phobos/abi.h"
#include "app/lib/sys.h"
#include "test/host/bucket_sys_host.h"

uint64_t bucket_sys_host_allocs, bucket_sys_host_frees, bucket_sys_host_reserves;
uint64_t bucket_sys_host_blocks, bucket_sys_host_bytes, bucket_sys_host_peak;
uint64_t bucket_sys_host_limit;
bool bucket_sys_host_dirty;
void (*bucket_sys_host_panic_hook)(const char *why, uint64_t value);

struct bucket_sys_range {
	uint64_t start, size;
};

/* Few enough for linear search: the allocator calls the kernel rarely. */
static struct bucket_sys_range *blocks, *reserves;
static size_t nblocks, cap_blocks, nreserves;

static const struct bucket_sys_range *bucket_sys_reserve_of(uint64_t start, uint64_t size)
{
	for (size_t i = 0; i < nreserves; i++)
		if (start >= reserves[i].start &&
		    start + size <= reserves[i].start + reserves[i].size)
			return &reserves[i];
	return NULL;
}

long sys_reserve_space(uint64_t size)
{
	if (size == 0 || size % PHOBOS_PAGE_SIZE != 0)
		return -PHOBOS_EINVAL;
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -PHOBOS_ENOMEM;
	reserves = realloc(reserves, (nreserves + 1) * sizeof(*reserves));
	reserves[nreserves++] = (struct bucket_sys_range){(uint64_t)p, size};
	bucket_sys_host_reserves++;
	return (long)p;
}

long sys_allocate_heap(uint64_t size, unsigned prot, uint64_t location, int zeroed)
{
	void *p;

	if (size == 0 || size % PHOBOS_PAGE_SIZE != 0 || location % PHOBOS_PAGE_SIZE != 0 ||
	    prot != (PHOBOS_PROT_READ | PHOBOS_PROT_WRITE))
		return -PHOBOS_EINVAL;
	if (bucket_sys_host_limit != 0 && bucket_sys_host_bytes + size > bucket_sys_host_limit)
		return -PHOBOS_ENOMEM;
	if (location != PHOBOS_HEAP_ANYWHERE) {
		if (bucket_sys_reserve_of(location, size) == NULL)
			return -PHOBOS_EINVAL;
		for (size_t i = 0; i < nblocks; i++)
			if (location < blocks[i].start + blocks[i].size &&
			    blocks[i].start < location + size)
				return -PHOBOS_EBUSY;
		p = mmap((void *)location, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (p == MAP_FAILED)
		return -PHOBOS_ENOMEM;
	if (!zeroed && bucket_sys_host_dirty)
		memset(p, 0xa5, size);
	if (nblocks == cap_blocks) {
		cap_blocks = cap_blocks ? cap_blocks * 2 : 64;
		blocks = realloc(blocks, cap_blocks * sizeof(*blocks));
	}
	blocks[nblocks++] = (struct bucket_sys_range){(uint64_t)p, size};
	bucket_sys_host_allocs++;
	bucket_sys_host_blocks++;
	bucket_sys_host_bytes += size;
	if (bucket_sys_host_bytes > bucket_sys_host_peak)
		bucket_sys_host_peak = bucket_sys_host_bytes;
	return (long)p;
}

/* A block inside a reservation goes back to reserved space, as the kernel does. */
long sys_free_heap(uint64_t addr)
{
	for (size_t i = 0; i < nblocks; i++) {
		if (blocks[i].start != addr)
			continue;
		uint64_t size = blocks[i].size;
		if (bucket_sys_reserve_of(addr, size) != NULL)
			mmap((void *)addr, size, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		else
			munmap((void *)addr, size);
		blocks[i] = blocks[--nblocks];
		bucket_sys_host_frees++;
		bucket_sys_host_blocks--;
		bucket_sys_host_bytes -= size;
		return 0;
	}
	return -PHOBOS_EINVAL;
}

void sys_panic(const char *why, uint64_t value)
{
	fflush(stdout);
	fprintf(stderr, "PANIC: %s 0x%llx\n", why, (unsigned long long)value);
	if (bucket_sys_host_panic_hook != NULL)
		bucket_sys_host_panic_hook(why, value);
	abort();
}
