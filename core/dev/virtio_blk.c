/*
 * virtio-blk over modern (1.x) virtio PCI, polled.
 *
 * The device's structures are found through vendor capabilities (common,
 * notify, device config).  One virtqueue: each request is a chain of a
 * header (read by the device), the data split where it is not physically
 * contiguous, and a status byte (written by the device).  A batch goes out
 * in rounds: as many chains as the descriptors hold are queued together,
 * the device is notified once, and the used ring is polled until every
 * chain of the round is back.  A round lays its chains out from descriptor
 * 0 of the idle queue, so no free list is needed and a chain's head index
 * also picks its header and status byte.  A device that makes no progress for
 * VBLK_TIMEOUT_US fails the outstanding requests with -ETIMEDOUT and is
 * not used again: it is reset first (status 0, virtio 1.x 2.1), which stops
 * its DMA, and if it does not finish the reset it is taken offline with
 * the buffers it still holds (blk.h).
 */
#include "core/dev/blk.h"
#include "core/dev/blk_wait.h"
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
#define VBLK_T_IN 0
#define VBLK_T_OUT 1
#define VBLK_T_FLUSH 4
#define VBLK_TIMEOUT_US 5000000
#define VBLK_MAX_SECTORS 256 /* 128 KiB per request keeps chains short */
/* The longest chain: header, a maximal piece starting mid-page (one page more), status. */
#define VBLK_MAX_CHAIN (VBLK_MAX_SECTORS * 512 / PAGE_SIZE + 3)
/* Ring sizes are powers of two so that the free-running 16-bit indices wrap
 * cleanly; 256 lets a round carry 7 maximal chains or 85 of one page. */
#define VBLK_QSIZE_MAX 256
#define VBLK_QSIZE_MIN 64
/* Layout of the ring page; the descriptor table has a page of its own. */
#define VBLK_USED_OFF 1024
#define VBLK_STATUS_OFF 3584

_Static_assert(VBLK_MAX_CHAIN <= VBLK_QSIZE_MIN, "a maximal chain must fit the smallest queue");
_Static_assert(VBLK_USED_OFF >= 6 + 2 * VBLK_QSIZE_MAX &&
		       VBLK_STATUS_OFF >= VBLK_USED_OFF + 6 + 8 * VBLK_QSIZE_MAX &&
		       VBLK_STATUS_OFF + VBLK_QSIZE_MAX <= PAGE_SIZE,
	       "avail ring, used ring and status bytes overlap");

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vblk_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

_Static_assert(sizeof(struct vblk_header) * VBLK_QSIZE_MAX <= PAGE_SIZE, "headers exceed a page");

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
	uint16_t qsize;
	struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[] */
	volatile uint8_t *used;   /* flags, idx, ring[] of {id u32, len u32} */
	volatile uint8_t *status; /* [head]: status byte of the chain at head */
	struct vblk_header *hdr;  /* [head]: header of the chain at head */
	paddr_t ring_pa, hdr_pa;
	uint16_t avail_idx, used_seen;
	uint16_t ndesc, nchains;  /* of the round being built */
	struct blk_req *owner[VBLK_QSIZE_MAX]; /* [head]: request of an outstanding chain */
	bool broken;
};

static unsigned vblk_count;

/*
 * Appends the chain of one piece to the round.  -ENOSPC when the round
 * lacks the descriptors (run it and retry), -EINVAL when the buffer is not
 * mapped.
 */
static int vblk_add(struct vblk *v, uint32_t type, uint64_t sector, void *buf, size_t len,
		    struct blk_req *owner)
{
	uint16_t head = v->ndesc, n = head + 1;
	uint16_t flags = VIRTQ_DESC_F_NEXT | (type == VBLK_T_IN ? VIRTQ_DESC_F_WRITE : 0);
	uint8_t *p = buf;

	if (n >= v->qsize)
		return -ENOSPC;
	while (len > 0) {
		size_t chunk = MIN(len, PAGE_SIZE - ((uintptr_t)p & PAGE_MASK));
		paddr_t pa;
		if (!pmap_extract(pmap_kernel(), (vaddr_t)p, &pa))
			return -EINVAL;
		struct virtq_desc *last = &v->desc[n - 1];
		if (n > head + 1 && last->addr + last->len == pa) {
			last->len += (uint32_t)chunk;
		} else {
			if (n + 1 >= v->qsize)
				return -ENOSPC; /* no room for this and the status byte */
			v->desc[n] = (struct virtq_desc){pa, (uint32_t)chunk, flags, (uint16_t)(n + 1)};
			n++;
		}
		p += chunk;
		len -= chunk;
	}
	v->hdr[head] = (struct vblk_header){type, 0, sector};
	v->status[head] = 0xff;
	v->desc[head] = (struct virtq_desc){v->hdr_pa + head * sizeof(struct vblk_header),
					    sizeof(struct vblk_header), VIRTQ_DESC_F_NEXT,
					    (uint16_t)(head + 1)};
	v->desc[n] = (struct virtq_desc){v->ring_pa + VBLK_STATUS_OFF + head, 1, VIRTQ_DESC_F_WRITE, 0};
	v->owner[head] = owner;
	v->avail[2 + (uint16_t)(v->avail_idx + v->nchains) % v->qsize] = head;
	v->ndesc = n + 1;
	v->nchains++;
	return 0;
}

static void vblk_set_status(struct blk_req *r, int err)
{
	if (r->status == 0)
		r->status = err;
}

/* Writes 0 to the device status and waits for it to read 0: the device is reset. */
static int vblk_reset(volatile uint8_t *common)
{
	struct blk_wait w;

	common[VC_STATUS] = 0;
	for (blk_wait_start(&w, VBLK_TIMEOUT_US); common[VC_STATUS] != 0;)
		if (blk_wait_expired(&w))
			return -ETIMEDOUT;
	return 0;
}

/*
 * The device misbehaved: it is reset so that it lets go of the buffers,
 * every outstanding request fails and it is not used again.
 */
static void vblk_fail(struct vblk *v, int err, const char *why)
{
	v->broken = true;
	log_error("virtio-blk: %s: %s; device disabled", v->dev.name, why);
	if (vblk_reset(v->common) < 0)
		blk_set_offline(&v->dev, "virtio-blk: reset did not complete");
	for (unsigned i = 0; i < v->qsize; i++) {
		if (v->owner[i] != NULL)
			vblk_set_status(v->owner[i], err);
		v->owner[i] = NULL;
	}
}

static void vblk_complete(struct vblk *v, uint32_t head)
{
	static const char *const names[] = {[VBLK_T_IN] = "read", [VBLK_T_OUT] = "write",
					    [VBLK_T_FLUSH] = "flush"};
	struct vblk_header *h = &v->hdr[head];

	if (v->status[head] != 0) {
		log_error("virtio-blk: %s: %s of sector %llu failed (status %u)", v->dev.name,
			  names[h->type], (unsigned long long)h->sector, v->status[head]);
		vblk_set_status(v->owner[head], -EIO);
	}
	v->owner[head] = NULL;
}

/* Hands the round to the device and polls until all of it is back. */
static void vblk_run(struct vblk *v)
{
	if (v->nchains == 0)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	v->avail_idx += v->nchains;
	v->avail[1] = v->avail_idx;
	v->ndesc = v->nchains = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*v->notify = 0;
	struct blk_wait progress;
	blk_wait_start(&progress, VBLK_TIMEOUT_US);
	while (v->used_seen != v->avail_idx) {
		if (*(volatile uint16_t *)(v->used + 2) == v->used_seen) {
			if (blk_wait_expired(&progress)) {
				vblk_fail(v, -ETIMEDOUT, "request timed out");
				return;
			}
			continue;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		uint32_t head = *(volatile uint32_t *)(v->used + 4 + 8 * (v->used_seen % v->qsize));
		v->used_seen++;
		if (head >= v->qsize || v->owner[head] == NULL) {
			vblk_fail(v, -EIO, "completion for a chain not in flight");
			return;
		}
		vblk_complete(v, head);
		blk_wait_start(&progress, VBLK_TIMEOUT_US);
	}
}

static int vblk_submit(struct blk_dev *dev, struct blk_req *reqs, size_t nreq)
{
	struct vblk *v = container_of(dev, struct vblk, dev);
	int err = 0;

	for (size_t i = 0; i < nreq; i++)
		reqs[i].status = 0;
	for (size_t i = 0; i < nreq; i++) {
		struct blk_req *r = &reqs[i];
		for (uint32_t done = 0; done < r->count && r->status == 0;) {
			uint32_t n = MIN(r->count - done, (uint32_t)VBLK_MAX_SECTORS);
			int e = v->broken ? -EIO
					  : vblk_add(v, r->op == BLK_READ ? VBLK_T_IN : VBLK_T_OUT,
						     r->lba + done, (uint8_t *)r->buf + (size_t)done * 512,
						     (size_t)n * 512, r);
			if (e == -ENOSPC)
				vblk_run(v); /* an idle queue holds any chain: the retry fits */
			else if (e < 0)
				r->status = e;
			else
				done += n;
		}
	}
	vblk_run(v);
	for (size_t i = 0; i < nreq && err == 0; i++)
		err = reqs[i].status;
	return err;
}

static int vblk_flush(struct blk_dev *dev)
{
	struct vblk *v = container_of(dev, struct vblk, dev);
	struct blk_req r = {.status = 0};

	if (v->broken)
		return -EIO;
	vblk_add(v, VBLK_T_FLUSH, 0, NULL, 0, &r); /* the queue is idle: it fits */
	vblk_run(v);
	return r.status;
}

static const struct blk_ops vblk_ops = {vblk_submit, vblk_flush};

/* Finds the capability of cfg_type and maps what it points at. */
static volatile uint8_t *vblk_cap(const struct pci_dev *d, uint8_t type, uint32_t *notify_mult)
{
	if (!(pci_read16(d, 6) & 0x10))
		return NULL; /* no capability list */
	/* 48 capabilities fill the 192 bytes they may live in: a longer list loops */
	unsigned seen = 0;
	for (uint8_t off = pci_read8(d, 0x34) & 0xfc; off != 0 && seen++ < 48;
	     off = pci_read8(d, off + 1) & 0xfc) {
		if (pci_read8(d, off) != 0x09 || pci_read8(d, off + 3) != type)
			continue;
		uint64_t size, bar = pci_bar(d, pci_read8(d, off + 4), &size);
		uint32_t offset = pci_read32(d, off + 8), length = pci_read32(d, off + 12);
		if (notify_mult != NULL)
			*notify_mult = pci_read32(d, off + 16);
		return bar == 0 || (uint64_t)offset + length > size ? NULL : pci_map(bar + offset, length);
	}
	return NULL;
}

static int vblk_queue_setup(struct vblk *v)
{
	volatile uint8_t *c = v->common;
	struct vm_page *pages[3]; /* descriptor table, rings and status bytes, headers */
	paddr_t pa[3];

	*(volatile uint16_t *)(c + VC_QSELECT) = 0;
	uint16_t max = *(volatile uint16_t *)(c + VC_QSIZE);
	for (v->qsize = VBLK_QSIZE_MAX; v->qsize > max; v->qsize /= 2)
		;
	if (v->qsize < VBLK_QSIZE_MIN) {
		log_error("virtio-blk: queue of %u entries is too small", max);
		return -EIO;
	}
	for (int i = 0; i < 3; i++) {
		pages[i] = vm_page_alloc(VM_ALLOC_ZERO);
		if (pages[i] == NULL) {
			while (i-- > 0)
				vm_page_free(pages[i]);
			return -ENOMEM;
		}
		pa[i] = vm_page_phys(pages[i]);
	}
	v->desc = pmap_phys_to_virt(pa[0]);
	v->ring_pa = pa[1];
	uint8_t *ring = pmap_phys_to_virt(pa[1]);
	v->avail = (volatile uint16_t *)ring;
	v->used = ring + VBLK_USED_OFF;
	v->status = ring + VBLK_STATUS_OFF;
	v->hdr_pa = pa[2];
	v->hdr = pmap_phys_to_virt(pa[2]);
	*(volatile uint16_t *)(c + VC_QSIZE) = v->qsize;
	*(volatile uint64_t *)(c + VC_QDESC) = pa[0];
	*(volatile uint64_t *)(c + VC_QDRIVER) = pa[1];
	*(volatile uint64_t *)(c + VC_QDEVICE) = pa[1] + VBLK_USED_OFF;
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
	if (vblk_reset(c) < 0)
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
	log_info("virtio-blk: %s at %02x:%02x.%u, %llu MiB, queue of %u", v->dev.name, d->bus,
		 d->dev, d->fn, (unsigned long long)(v->dev.sectors >> 11), v->qsize);
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
