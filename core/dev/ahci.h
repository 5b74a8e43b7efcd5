/*
 * ahci: SATA disks behind AHCI controllers (PCI class 01h, subclass 06h,
 * prog-if 01h), polled.
 *
 * ahci_probe finds every controller, takes over every port that has a
 * SATA disk attached (the firmware may have left it running on its own
 * memory) and registers the disk as "ahci0", "ahci1", ... in the order
 * found.  Ports with nothing attached, ATAPI drives and port multipliers
 * are skipped; a disk that does not come up is logged and left out.
 *
 * I/O: READ/WRITE DMA EXT and FLUSH CACHE EXT, several commands in flight
 * per batch, each at most 128 KiB.  Buffers need only be 2-byte aligned
 * (-EINVAL otherwise) and are translated page by page.  A device error is
 * -EIO for the request it hit; the port is then restarted, or marked broken
 * (later requests -EIO) if it will not restart.  A command that does not
 * finish in time is -ETIMEDOUT and the port is stopped for good.
 *
 * Lock key: each disk is used by one caller at a time (the block layer's
 * rule); nothing is shared between ports.
 */
#ifndef PHOBOS_DEV_AHCI_H
#define PHOBOS_DEV_AHCI_H

void ahci_probe(void);

#endif
