/*
 * The kernel malloc interface on the C library, for host tests and fuzzers
 * of code above the MM (FAT, GPT): every object is its own libc block, so
 * AddressSanitizer sees each overflow and leak at its source.
 */
#include <stdlib.h>

#include "core/mm/malloc.h"

void *mm_malloc(size_t size)
{
	return malloc(size);
}

void mm_mfree(void *p)
{
	free(p);
}

void *mm_op_new(size_t size, bool single)
{
	(void)single;
	return calloc(1, size);
}

void mm_op_delete(void *p)
{
	free(p);
}
