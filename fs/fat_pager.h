/*
 * fat_pager: the VM objects of FAT files, their pager, and file mappings
 * (the mmap of Phobos).
 *
 * Owns: one VM object per file (OBJ_FILE), made at the file's first
 * mapping and found again by every later mapping while it lives.  Its
 * size is the FAT maximum file size rounded up to a page, so a file may
 * grow under its mappings: a page whose first byte lies inside the file
 * is in the store, any other is past the end of the file, and a fault
 * there fails (-EFAULT, logged by vm_fault).
 * References: the object holds one reference on its fat_file (fat_open's
 * count) for its life, so a handle may be closed as soon as the file is
 * mapped; the file points back at its object weakly (the pager's dealloc
 * clears it).  Each mapping holds a reference on the object (a private
 * one through its shadow).
 * Pager: get_pages reads each page's sectors through fat_bmap runs
 * straight into the page, in one device batch for every page of the call
 * (the read-ahead vm_fault asks for through has_page's *after: the pages
 * that follow on disk), and zero-fills past the end of the file;
 * put_pages writes the pages' sectors up to the one holding the end of
 * the file, that one with zeros past the end, in batches; it never
 * changes the file's size.
 * Write-back of shared mappings: vm_map_sync, the object's last
 * reference, page-out, and fat_unmount (a clean exit).
 * Coherence (fat_impl.h, fat_vm_ops): fat_read returns what the resident
 * pages hold, fat_write updates them, fat_truncate drops the pages past
 * the new end and zeroes the tail of a partial last page.  Pages a private
 * mapping copied stay its own.
 * Lock key: the volume's (the caller serialises every fat call; the
 * pager's are made by the VM without VM locks held).
 * Errors: the pager answers -EIO for any failure of the device or damage
 * of the chain (logged).  fat_map: see below.
 */
#ifndef PHOBOS_FS_FAT_PAGER_H
#define PHOBOS_FS_FAT_PAGER_H

#include "core/mm/vm_map.h"
#include "fs/fat.h"

/*
 * Maps [offset, offset + size) of file f into map anywhere (*va gets the
 * address): shared, stores reach the file (written back as said above);
 * private (!shared), stores copy the page into the mapping's own shadow
 * and never reach the file.  size is rounded up to a page; the window may
 * reach past the end of the file (faults there fail until it grows).
 * The mapping holds the file: f may be closed after.  flags: more
 * MAP_ENTRY_* flags for the entry (MAP_ENTRY_USER for an app's mapping).
 * 0, -EINVAL (size 0, offset not page aligned, past the largest FAT
 * file), -EROFS (shared and writable on a read-only volume), -ENOMEM, or
 * vm_map_insert_object's errors.
 */
int fat_map(struct vm_map *map, struct fat_file *f, uint64_t offset, uint64_t size,
	    vm_prot_t prot, bool shared, unsigned flags, vaddr_t *va);

#endif
