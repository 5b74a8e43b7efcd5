/*
 * nvme: NVM Express controllers on PCI (class 01h, subclass 08h, prog-if
 * 02h), polled, no interrupts.
 *
 * nvme_probe resets every controller it finds, gives it one admin queue
 * pair and one I/O queue pair, and registers each active namespace whose
 * LBA format carries 512- or 4096-byte sectors and no metadata as a whole
 * disk named "nvme<N>", N counting namespaces across all controllers in
 * probe order (so partitions read "nvme0p1").  A controller that fails to
 * come up is logged and skipped; a namespace that cannot be identified is
 * logged and skipped.
 *
 * I/O: the requests of a batch are split into commands that respect the
 * controller's maximum transfer size and one PRP list page, and up to the
 * queue depth of them are in flight at once.  Buffers need only be 4-byte
 * aligned (the PRP rule) and mapped in the kernel pmap.  A command the
 * controller fails is -EIO, logged with its status decoded; a controller
 * that does not answer within the timeout is -ETIMEDOUT, and is disabled
 * so that it stops touching memory: every later request on it is -EIO.
 *
 * Lock key: devices are (c) after probe; a controller's queues are used by
 * one caller at a time (one CPU, and block I/O is never issued from an
 * interrupt handler), and every call drains them before returning.
 */
#ifndef PHOBOS_DEV_NVME_H
#define PHOBOS_DEV_NVME_H

void nvme_probe(void);

#endif
