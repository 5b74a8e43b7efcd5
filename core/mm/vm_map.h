/*
 * vm_map: an address-space map.  Its virtual space is managed by the
 * universal buddy allocator; each piece handed out is an entry of one
 * kind:
 *   reserved  space nothing may be allocated in (vm_map_reserve_space);
 *   space     pure space with no memory behind it: faults there fail;
 *   object    a window [offset, offset + size) of a VM object; the page
 *             at va is object page (va - start + offset) / PAGE_SIZE;
 *   submap    a map of its own over the entry's range, sharing the
 *             parent's pmap: allocations inside it stay inside the range.
 *             Lookups and faults recurse into it.
 * Entries are kept in an AVL tree by start address.  Each object entry
 * holds a reference on its object.
 *
 * Errors: -EINVAL (zero or misaligned size or address, window outside the
 * object), -ENOMEM (no space, pages or descriptors), -EBUSY (overlaps an
 * entry or reservation), -ENOENT (no entry starts there), -ERANGE (outside
 * the map), -EFAULT / -EACCES (faults).
 * Lock key: (m) the map's lock.
 * Copy-on-write: vm_map_copy_entry gives the entry and its copy each a
 * fresh shadow of the shared object; reads find shared pages down the
 * chain and map them read-only, the first write copies the page into the
 * writer's own shadow.
 */
#ifndef PHOBOS_MM_VM_MAP_H
#define PHOBOS_MM_VM_MAP_H

#include "core/mm/avl.h"
#include "core/mm/buddy.h"
#include "core/mm/vm_object.h"

enum vm_entry_kind { VM_ENTRY_RESERVED, VM_ENTRY_SPACE, VM_ENTRY_OBJECT, VM_ENTRY_SUBMAP };

#define MAP_ENTRY_WIRED 0x1 /* pages resident and mapped for the entry's life */
#define MAP_ENTRY_USER 0x2  /* accessible from ring 3 */
#define MAP_ENTRY_COW 0x4   /* private: writes go to the entry's own shadow */

struct vm_map_entry {
	struct avl_node node;      /* (m) keyed by start */
	vaddr_t start, end;        /* (m) end exclusive */
	uint8_t kind;              /* (m) enum vm_entry_kind */
	vm_prot_t prot;            /* (m) */
	uint16_t flags;            /* (m) MAP_ENTRY_* */
	struct vm_object *object;  /* (m) object entries: one reference held */
	struct vm_map *submap;     /* (m) submap entries: owned */
	vm_offset_t offset;        /* (m) byte offset of start in the object */
};

struct vm_map {
	vaddr_t start, end;     /* (c) */
	struct pmap *pmap;      /* (c) */
	struct buddy space;     /* (m) */
	struct avl_tree entries; /* (m) */
	struct irq_lock lock;
};

int vm_map_init(struct vm_map *map, struct pmap *pmap, vaddr_t start, vm_size_t size);
/* The kernel's map (SPEC 3: from KERNEL_DYN_BASE up to the kernel image);
 * NULL before vm_map_kernel_init. */
struct vm_map *vm_map_kernel(void);
int vm_map_kernel_init(vaddr_t start, vm_size_t size);

int vm_map_allocate(struct vm_map *map, vm_size_t size, vm_prot_t prot, vaddr_t *out);
int vm_map_allocate_space(struct vm_map *map, vm_size_t size, vaddr_t *out);
int vm_map_insert_object(struct vm_map *map, struct vm_object *obj, vm_offset_t offset,
			 vm_size_t size, vm_prot_t prot, unsigned flags, vaddr_t *out);
int vm_map_insert_object_at(struct vm_map *map, vaddr_t addr, struct vm_object *obj,
			    vm_offset_t offset, vm_size_t size, vm_prot_t prot, unsigned flags);
/*
 * The seed's heap mapping: a window of obj whose offset is its own address
 * (the chunk at address B maps object offset B), at `at` or anywhere when
 * at is 0.  -EINVAL when the range does not fit in the object.
 */
int vm_map_insert_heap(struct vm_map *map, struct vm_object *obj, vaddr_t at, vm_size_t size,
		       vm_prot_t prot, unsigned flags, vaddr_t *out);
int vm_map_free(struct vm_map *map, vaddr_t addr);
/* Removes every entry (submaps must be gone): the end of an address space. */
void vm_map_remove_all(struct vm_map *map);
int vm_map_reserve_space(struct vm_map *map, vaddr_t addr, vm_size_t size);
int vm_map_unreserve_space(struct vm_map *map, vaddr_t addr, vm_size_t size);
/*
 * A copy-on-write copy of the object entry starting at addr in src, placed
 * anywhere in dst (which may be src); both become MAP_ENTRY_COW.
 */
int vm_map_copy_entry(struct vm_map *src, vaddr_t addr, struct vm_map *dst, vaddr_t *out);

/* A copy of the innermost entry containing va (submaps are entered);
 * -ENOENT if none, -ERANGE outside. */
int vm_map_lookup(struct vm_map *map, vaddr_t va, struct vm_map_entry *out);
/* The same for an object entry, with a reference on its object that the
 * caller drops (vm_object_deallocate); -EFAULT for other kinds. */
int vm_map_lookup_object(struct vm_map *map, vaddr_t va, struct vm_map_entry *out);

/*
 * A submap over size bytes of parent, at *addr when fixed, else anywhere
 * (*addr gets the base).  vm_map_remove_submap needs it empty (-EBUSY).
 */
int vm_map_create_submap(struct vm_map *parent, vaddr_t *addr, vm_size_t size, bool fixed,
			 struct vm_map **out);
int vm_map_remove_submap(struct vm_map *parent, struct vm_map *sub);

/*
 * Resolves a fault at va for access (VM_PROT_*) from user or kernel mode
 * (vm_fault.c).  -EFAULT no object there, or past the end of a mapped
 * file; -EACCES the entry forbids the access; -ENOMEM no page even after
 * page-out (logged); -EIO the pager failed.  A busy page (its I/O not
 * over, which only a fault inside that I/O can see) panics.
 */
int vm_fault(struct vm_map *map, vaddr_t va, vm_prot_t access, bool user);
/*
 * The page at pindex of obj itself (no chain, no mapping), read from its
 * pager or zero-filled and made if need be, for the kernel to write
 * through the direct map (an app's image, its arguments): the only door
 * for such stores, since they set no modified bit.  The page comes back
 * dirty, its store's copy let go, and wired, so no page-out takes it
 * while the kernel writes; vm_fault_object_release lets go of it.
 * Errors as vm_fault.
 */
int vm_fault_object_hold(struct vm_object *obj, uint64_t pindex, struct vm_page **out);
void vm_fault_object_release(struct vm_page *m);
/*
 * WILLNEED: reads the pages of [first, end) that the chain from top holds
 * in a store and not in memory, as faults would (one request per run),
 * onto the inactive queue, unmapped; it stops while free memory is under
 * the scanner's target, since reading more would evict what it read.
 * 0 or the pager's error.
 */
int vm_fault_willneed(struct vm_object *top, uint64_t first, uint64_t end);

/*
 * The advice of posix_madvise for [addr, addr + size) (enum vm_advice):
 * RANDOM and SEQUENTIAL are remembered by each object entry's object for
 * the part mapped, NORMAL forgets them; WILLNEED reads the part now
 * (vm_fault_willneed); DONTNEED drops each entry's own resident pages,
 * writing dirty ones to their store first (vm_pageout_dontneed); data is
 * never lost.  Unmapped parts are skipped.  0; -EINVAL misaligned or empty
 * range, or an unknown advice; -ENOMEM too many remembered ranges; a
 * pager's error (WILLNEED, DONTNEED).
 */
int vm_map_advise(struct vm_map *map, vaddr_t addr, vm_size_t size, unsigned advice);

/*
 * The msync of Phobos: writes back the dirty pages that the object entries
 * in [addr, addr + size) map of file objects (OBJ_FILE; private mappings
 * write to their own shadows and are left alone).  Pages stay resident and
 * mapped, write-protected, so the next store marks them dirty again.
 * 0, -EINVAL (misaligned or empty range), or the first pager error (those
 * pages stay dirty).
 */
int vm_map_sync(struct vm_map *map, vaddr_t addr, vm_size_t size);

/* Entries ordered, disjoint, agreeing with the buddy; objects checked. */
void vm_map_check(struct vm_map *map);

#endif
