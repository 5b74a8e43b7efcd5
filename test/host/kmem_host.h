/*
 * The host's kmem (core/mm/kmem.h) for allocator tests: aligned_alloc
 * underneath, a count of outstanding pages, and a cap that makes
 * allocation fail like an exhausted kernel map.
 */
#ifndef PHOBOS_TEST_KMEM_HOST_H
#define PHOBOS_TEST_KMEM_HOST_H

#include "core/env.h"

extern size_t kmem_host_outstanding; /* pages allocated and not freed */
extern size_t kmem_host_cap;         /* fail when outstanding would exceed it; 0 = none */

#endif
