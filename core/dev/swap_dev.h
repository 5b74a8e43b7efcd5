/*
 * swap_dev: the glue between a swap partition (a blk device) and the swap
 * pager's device door (core/mm/swap_pager.h).
 *
 * Owns: one door, for the one swap area Phobos uses; the partition itself
 * stays the block layer's.  Requests never leave the partition: the blk
 * layer refuses them, and the swap pager only asks for pages inside
 * [1, last_page] of a header it checked against the partition's size.
 * Lock key: called once at boot (c), after storage_init found the disks.
 */
#ifndef PHOBOS_DEV_SWAP_DEV_H
#define PHOBOS_DEV_SWAP_DEV_H

#include "core/dev/blk.h"

/*
 * Reads part's header page and sets up swap on it (swap_init).  part may
 * be NULL (no swap partition found).  0; otherwise the system runs without
 * swap and exactly one log line said why: -ENODEV (no partition, or a
 * sector size that does not divide 4 KiB), -EIO (the header could not be
 * read), -EINVAL (not a usable swap header), -ENOMEM.
 */
int swap_dev_attach(struct blk_dev *part);

#endif
