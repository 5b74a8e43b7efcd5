/* virtio-blk (virtio 1.x over PCI): finds and registers every device. */
#ifndef PHOBOS_DEV_VIRTIO_BLK_H
#define PHOBOS_DEV_VIRTIO_BLK_H

void virtio_blk_probe(void);

#endif
