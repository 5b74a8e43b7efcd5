/*
 * virtio-blk over modern (1.x) virtio PCI, polled.
 *
 * The device's structures are found through vendor capabilities (common,
 * notify, device config).  One virtqueue: each request is a chain of a
 * header (read by the device), the data split at page boundaries, and a
 * status byte (written by the device).  Completion is polled on the used
 * ring with a timeout; a request the device does not finish in time is an
 * -ETIMEDOUT, and the device is not used again.
 */
#include "core/dev/blk.h"
#include "core/dev/pci.h"
#include "core/dev/virtio_blk.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_CAP_COMMON 1
#define VIRTIO_CAP_NOTIFY 2
#define VIRTIO_CAP_DEVICE 4
#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_F_VERSION_1_HI 1u /* feature bit 32: bit 0 of the upper word */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VBLK_QSIZE 64
#define VBLK_TIMEOUT_US 5000000
#define VBLK_MAX_SECTORS 256 /* 128 KiB per request keeps chains short */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vblk_header {
	uint32_t type; /* 0 read, 1 write, 4 flush */
	uint32_t reserved;
	uint64_t sector;
};

/* Offsets in the common configuration structure (virtio 1.x, 4.1.4.3). */
enum {
	VC_DFSELECT = 0x00, VC_DF = 0x04, VC_GFSELECT = 0x08, VC_GF = 0x0c, VC_STATUS = 0x14,
	VC_QSELECT = 0x16, VC_QSIZE = 0x18, VC_QENABLE = 0x1c, VC_QNOTIFYOFF = 0x1e,
	VC_QDESC = 0x20, VC_QDRIVER = 0x28, VC_QDEVICE = 0x30,
};

struct vblk {
	struct blk_dev dev;
	volatile uint8_t *common, *device;
	volatile uint16_t *notify;
	struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[] */
	volatile uint8_t *used;   /* flags, idx, ring[] of {id u32, len u32} */
	uint16_t avail_idx, used_seen;
	struct vblk_header *hdr;  /* one page: header at 0, status byte at 64 */
	paddr_t hdr_pa;
	bool broken;
};

static unsigned vblk_count;

static int vblk_chain_data(struct vblk *v, unsigned *n, void *buf, size_t len, bool device_writes)
{
	uint8_t *p = buf;

	while (len > 0) {
		size_t chunk = MIN(len, PAGE_SIZE - ((uintptr_t)p & PAGE_MASK));
		paddr_t pa;
		if (!pmap_extract(pmap_kernel(), (vaddr_t)p, &pa) || *n >= VBLK_QSIZE - 1)
			return -EINVAL;
		v->desc[*n] = (struct virtq_desc){pa, (uint32_t)chunk,
						  (uint16_t)(VIRTQ_DESC_F_NEXT |
							     (device_writes ? VIRTQ_DESC_F_WRITE : 0)),
						  (uint16_t)(*n + 1)};
		(*n)++;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

/* One request, start to finish. */
static int vblk_do(struct vblk *v, uint32_t type, uint64_t sector, void *buf, size_t len)
{
	volatile uint8_t *status = (volatile uint8_t *)v->hdr + 64;
	unsigned n = 1;

	if (v->broken)
		return -EIO;
	*v->hdr = (struct vblk_header){type, 0, sector};
	*status = 0xff;
	v->desc[0] = (struct virtq_desc){v->hdr_pa, sizeof(struct vblk_header), VIRTQ_DESC_F_NEXT, 1};
	if (len > 0 && vblk_chain_data(v, &n, buf, len, type == 0) < 0)
		return -EINVAL;
	v->desc[n] = (struct virtq_desc){v->hdr_pa + 64, 1, VIRTQ_DESC_F_WRITE, 0};
	v->avail[2 + v->avail_idx % VBLK_QSIZE] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	v->avail[1] = ++v->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*v->notify = 0;
	uint64_t start = clock_us();
	while (*(volatile uint16_t *)(v->used + 2) == v->used_seen) {
		if (clock_us() - start > VBLK_TIMEOUT_US) {
			v->broken = true;
			log_error("virtio-blk: %s: request timed out; device disabled", v->dev.name);
			return -ETIMEDOUT;
		}
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	v->used_seen++;
	if (*status != 0) {
		log_error("virtio-blk: %s: %s of sector %llu failed (status %u)", v->dev.name,
			  type == 0 ? "read" : "write", (unsigned long long)sector, *status);
		return -EIO;
	}
	return 0;
}

static int vblk_submit(struct blk_dev *dev, struct blk_req *reqs, size_t nreq)
{
	struct vblk *v = container_of(dev, struct vblk, dev);
	int err = 0;

	for (size_t i = 0; i < nreq; i++) {
		struct blk_req *r = &reqs[i];
		r->status = 0;
		for (uint32_t done = 0; done < r->count && r->status == 0;) {
			uint32_t n = MIN(r->count - done, (uint32_t)VBLK_MAX_SECTORS);
			r->status = vblk_do(v, r->op == BLK_READ ? 0 : 1, r->lba + done,
					    (uint8_t *)r->buf + (size_t)done * 512, (size_t)n * 512);
			done += n;
		}
		if (r->status < 0 && err == 0)
			err = r->status;
	}
	return err;
}

static int vblk_flush(struct blk_dev *dev)
{
	return vblk_do(container_of(dev, struct vblk, dev), 4, 0, NULL, 0);
}

static const struct blk_ops vblk_ops = {vblk_submit, vblk_flush};

/* Finds the capability of cfg_type and maps what it points at. */
static volatile uint8_t *vblk_cap(const struct pci_dev *d, uint8_t type, uint32_t *notify_mult)
{
	if (!(pci_read16(d, 6) & 0x10))
		return NULL; /* no capability list */
	for (uint8_t off = pci_read8(d, 0x34) & 0xfc; off != 0; off = pci_read8(d, off + 1) & 0xfc) {
		if (pci_read8(d, off) != 0x09 || pci_read8(d, off + 3) != type)
			continue;
		uint64_t bar = pci_bar(d, pci_read8(d, off + 4));
		uint32_t offset = pci_read32(d, off + 8), length = pci_read32(d, off + 12);
		if (notify_mult != NULL)
			*notify_mult = pci_read32(d, off + 16);
		return bar == 0 ? NULL : pci_map(bar + offset, length);
	}
	return NULL;
}

static int vblk_queue_setup(struct vblk *v)
{
	volatile uint8_t *c = v->common;
	/* desc 16*64 = 1 KiB, avail 4+2*64, used 4+8*64: one page holds all three */
	struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO);
	struct vm_page *h = vm_page_alloc(VM_ALLOC_ZERO);

	if (m == NULL || h == NULL) {
		if (m != NULL)
			vm_page_free(m);
		if (h != NULL)
			vm_page_free(h);
		return -ENOMEM;
	}
	paddr_t pa = vm_page_phys(m);
	uint8_t *q = pmap_phys_to_virt(pa);
	v->desc = (struct virtq_desc *)q;
	v->avail = (volatile uint16_t *)(q + 1024);
	v->used = q + 2048;
	v->hdr_pa = vm_page_phys(h);
	v->hdr = pmap_phys_to_virt(v->hdr_pa);
	*(volatile uint16_t *)(c + VC_QSELECT) = 0;
	uint16_t max = *(volatile uint16_t *)(c + VC_QSIZE);
	if (max < VBLK_QSIZE)
		return -EIO;
	*(volatile uint16_t *)(c + VC_QSIZE) = VBLK_QSIZE;
	*(volatile uint64_t *)(c + VC_QDESC) = pa;
	*(volatile uint64_t *)(c + VC_QDRIVER) = pa + 1024;
	*(volatile uint64_t *)(c + VC_QDEVICE) = pa + 2048;
	*(volatile uint16_t *)(c + VC_QENABLE) = 1;
	return 0;
}

/* Brings one device up (virtio 1.x, 3.1.1) and registers it. */
static int vblk_attach_to(struct vblk *v, const struct pci_dev *d)
{
	uint32_t mult = 0;

	pci_enable(d);
	v->common = vblk_cap(d, VIRTIO_CAP_COMMON, NULL);
	v->device = vblk_cap(d, VIRTIO_CAP_DEVICE, NULL);
	volatile uint8_t *notify = vblk_cap(d, VIRTIO_CAP_NOTIFY, &mult);
	if (v->common == NULL || v->device == NULL || notify == NULL)
		return -ENODEV; /* legacy-only device */
	volatile uint8_t *c = v->common;
	c[VC_STATUS] = 0;
	for (uint64_t t = clock_us(); c[VC_STATUS] != 0; )
		if (clock_us() - t > VBLK_TIMEOUT_US)
			return -ETIMEDOUT;
	c[VC_STATUS] = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER;
	*(volatile uint32_t *)(c + VC_DFSELECT) = 1;
	if (!(*(volatile uint32_t *)(c + VC_DF) & VIRTIO_F_VERSION_1_HI))
		return -ENODEV;
	*(volatile uint32_t *)(c + VC_GFSELECT) = 0;
	*(volatile uint32_t *)(c + VC_GF) = 0;
	*(volatile uint32_t *)(c + VC_GFSELECT) = 1;
	*(volatile uint32_t *)(c + VC_GF) = VIRTIO_F_VERSION_1_HI;
	c[VC_STATUS] |= VIRTIO_STATUS_FEATURES_OK;
	if (!(c[VC_STATUS] & VIRTIO_STATUS_FEATURES_OK))
		return -ENODEV;
	int err = vblk_queue_setup(v);
	if (err < 0)
		return err;
	*(volatile uint16_t *)(c + VC_QSELECT) = 0;
	v->notify = (volatile uint16_t *)(notify + *(volatile uint16_t *)(c + VC_QNOTIFYOFF) * mult);
	c[VC_STATUS] |= VIRTIO_STATUS_DRIVER_OK;
	ksnprintf(v->dev.name, sizeof(v->dev.name), "virtio%u", vblk_count++);
	v->dev.sector_size = 512;
	v->dev.sectors = *(volatile uint64_t *)v->device; /* capacity, in 512-byte sectors */
	v->dev.ops = &vblk_ops;
	v->dev.priv = v;
	blk_register(&v->dev);
	log_info("virtio-blk: %s at %02x:%02x.%u, %llu MiB", v->dev.name, d->bus, d->dev, d->fn,
		 (unsigned long long)(v->dev.sectors >> 11));
	return 0;
}

static int vblk_attach(const struct pci_dev *d)
{
	struct vblk *v = NEW(struct vblk);

	if (v == NULL)
		return -ENOMEM;
	int err = vblk_attach_to(v, d);
	if (err < 0)
		DELETE(v); /* never registered: nothing refers to it */
	return err;
}

static bool vblk_probe_one(const struct pci_dev *d, void *ctx)
{
	(void)ctx;
	/* 0x1001 transitional and 0x1042 modern virtio-blk both offer the 1.x interface */
	if (d->vendor == VIRTIO_VENDOR && (d->device == 0x1001 || d->device == 0x1042)) {
		int err = vblk_attach(d);
		if (err < 0)
			log_error("virtio-blk: %02x:%02x.%u not usable: %s", d->bus, d->dev, d->fn,
				  err_name(err));
	}
	return false;
}

void virtio_blk_probe(void)
{
	pci_for_each(vblk_probe_one, NULL);
}
