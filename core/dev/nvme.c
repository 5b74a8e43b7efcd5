/*
 * nvme: see nvme.h.  Register and command layouts follow NVM Express Base
 * Specification 1.4 (sections 3.1 registers, 4.2-4.6 queue entries and
 * PRPs, 5 admin commands) and the NVM Command Set (read, write, flush).
 *
 * Every queue is one physically contiguous page or less; the command id of
 * an I/O command is the index of its slot, which owns one PRP list page.
 *
 * A controller that fails (a command times out, a completion names no
 * command) is disabled, CC.EN = 0 until CSTS.RDY = 0, which stops its DMA
 * before the buffers go back; one that stays ready takes every namespace
 * of it offline with the buffers it holds (blk.h).
 */
#include "core/dev/blk.h"
#include "core/dev/blk_wait.h"
#include "core/dev/nvme.h"
#include "core/dev/pci.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

/* Controller registers (3.1) */
#define NVME_CAP 0x00
#define NVME_VS 0x08
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_DOORBELLS 0x1000
#define NVME_CC_EN 0x1
#define NVME_CC_ENTRY_SIZES (6u << 16 | 4u << 20) /* SQ entries 2^6, CQ entries 2^4 bytes */
#define NVME_CSTS_RDY 0x1
#define NVME_CSTS_CFS 0x2

/* Opcodes: admin, then NVM command set */
#define NVME_ADMIN_CREATE_SQ 0x01
#define NVME_ADMIN_CREATE_CQ 0x05
#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_ADMIN_SET_FEATURES 0x09
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ 0x02
#define NVME_CNS_NAMESPACE 0x00
#define NVME_CNS_CONTROLLER 0x01
#define NVME_CNS_ACTIVE_NSIDS 0x02
#define NVME_FEAT_NUM_QUEUES 0x07

#define NVME_QDEPTH 32 /* entries per queue; one fewer can be outstanding */
#define NVME_TIMEOUT_US 5000000
#define NVME_PRP_PER_PAGE (PAGE_SIZE / 8)
/*
 * A transfer of NVME_PRP_PER_PAGE pages that starts inside a page touches
 * one page more: PRP1 plus a full list page, never a chained list.
 */
#define NVME_MAX_XFER (NVME_PRP_PER_PAGE * PAGE_SIZE)

/* Submission queue entry (4.2) */
struct nvme_sqe {
	uint8_t opcode, flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t reserved, mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* Completion queue entry (4.6) */
struct nvme_cqe {
	uint32_t result, reserved;
	uint16_t sq_head, sq_id;
	uint16_t cid, status; /* status bit 0 is the phase tag */
};

struct nvme_queue {
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	volatile uint32_t *sq_doorbell, *cq_doorbell;
	uint16_t qid, sq_tail, cq_head;
	uint16_t phase; /* the phase tag of entries not yet consumed */
};

struct nvme_ctrl {
	volatile uint8_t *regs;
	uint8_t bus, dev, fn;
	uint64_t bar, bar_size;
	uint32_t stride;   /* doorbell stride, bytes */
	uint64_t ready_us; /* CAP.TO: how long CSTS.RDY may take */
	uint32_t max_xfer; /* bytes per command */
	struct nvme_queue admin, io;
	struct vm_page *mem; /* order 3: admin SQ, admin CQ, I/O SQ, I/O CQ, 2 identify pages */
	struct vm_page *prp; /* order 5: one PRP list page per slot */
	uint8_t *ident, *nslist;
	paddr_t mem_pa, prp_pa;
	struct blk_req *slot[NVME_QDEPTH - 1]; /* request of each command in flight, or NULL */
	bool broken;
};

struct nvme_ns {
	struct blk_dev dev;
	struct nvme_ctrl *ctrl;
	uint32_t nsid;
};

static unsigned nvme_disks;

static uint32_t nvme_rd32(struct nvme_ctrl *c, unsigned off)
{
	return *(volatile uint32_t *)(c->regs + off);
}

static void nvme_wr32(struct nvme_ctrl *c, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(c->regs + off) = v;
}

/* 64-bit registers as two halves, low first, which every controller accepts. */
static uint64_t nvme_rd64(struct nvme_ctrl *c, unsigned off)
{
	return nvme_rd32(c, off) | (uint64_t)nvme_rd32(c, off + 4) << 32;
}

static void nvme_wr64(struct nvme_ctrl *c, unsigned off, uint64_t v)
{
	nvme_wr32(c, off, (uint32_t)v);
	nvme_wr32(c, off + 4, (uint32_t)(v >> 32));
}

/* Status codes worth naming, keyed by SCT << 8 | SC (bits 10:1 of the completion status). */
static const struct {
	uint16_t code;
	const char *text;
} nvme_statuses[] = {
    {0x001, "invalid opcode"},
    {0x002, "invalid field"},
    {0x004, "data transfer error"},
    {0x006, "internal error"},
    {0x007, "aborted"},
    {0x00b, "invalid namespace or format"},
    {0x080, "LBA out of range"},
    {0x081, "capacity exceeded"},
    {0x082, "namespace not ready"},
    {0x101, "invalid queue identifier"},
    {0x102, "invalid queue size"},
    {0x280, "write fault"},
    {0x281, "unrecovered read error"},
    {0x286, "access denied"},
};

/* Logs a failed command's status (without the phase bit) after what. */
static void nvme_log_status(const char *what, unsigned st)
{
	const char *text = "unlisted status";

	for (size_t i = 0; i < ARRAY_SIZE(nvme_statuses); i++)
		if (nvme_statuses[i].code == (st & 0x7ff))
			text = nvme_statuses[i].text;
	log_error("%s failed: status type %u code 0x%02x (%s)", what, st >> 8 & 7, st & 0xff, text);
}

/* Waits until CSTS.RDY equals ready; a fatal status ends the wait at once. */
static int nvme_wait_ready(struct nvme_ctrl *c, bool ready)
{
	struct blk_wait w;

	for (blk_wait_start(&w, c->ready_us);;) {
		uint32_t csts = nvme_rd32(c, NVME_CSTS);
		if (ready && (csts & NVME_CSTS_CFS)) {
			log_error("nvme: %02x:%02x.%u: controller fatal status while enabling",
				  c->bus, c->dev, c->fn);
			return -EIO;
		}
		if (((csts & NVME_CSTS_RDY) != 0) == ready)
			return 0;
		if (blk_wait_expired(&w)) {
			log_error("nvme: %02x:%02x.%u: not %s after %llu ms", c->bus, c->dev, c->fn,
				  ready ? "ready" : "disabled",
				  (unsigned long long)(c->ready_us / 1000));
			return -ETIMEDOUT;
		}
	}
}

/* Stops the controller: it drops its queues and does no more DMA. */
static int nvme_disable(struct nvme_ctrl *c)
{
	nvme_wr32(c, NVME_CC, 0);
	return nvme_wait_ready(c, false);
}

static const struct blk_ops nvme_ops;

/*
 * The controller failed (why): it is disabled and not used again.  One
 * that will not disable may still write anywhere it was pointed, so every
 * namespace of it goes offline.
 */
static void nvme_fail(struct nvme_ctrl *c, const char *why)
{
	c->broken = true;
	log_error("nvme: %02x:%02x.%u: %s; controller disabled", c->bus, c->dev, c->fn, why);
	if (nvme_disable(c) == 0)
		return;
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->ops == &nvme_ops && container_of(d, struct nvme_ns, dev)->ctrl == c)
			blk_set_offline(d, "nvme: controller does not disable");
}

/* Queue qid's submission and completion queues at page sq_page and the next. */
static void nvme_queue_init(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
			    unsigned sq_page)
{
	*q = (struct nvme_queue){.qid = qid, .phase = 1};
	q->sq = pmap_phys_to_virt(c->mem_pa + sq_page * PAGE_SIZE);
	q->cq = pmap_phys_to_virt(c->mem_pa + (sq_page + 1) * PAGE_SIZE);
	/* doorbells: SQ y tail at 1000h + 2y * stride, CQ y head one stride further */
	q->sq_doorbell = pci_map(c->bar + NVME_DOORBELLS + 2u * qid * c->stride, 4);
	q->cq_doorbell = pci_map(c->bar + NVME_DOORBELLS + (2u * qid + 1) * c->stride, 4);
}

/* Copies cmd into the next submission slot; the doorbell is rung separately. */
static void nvme_sq_push(struct nvme_queue *q, const struct nvme_sqe *cmd)
{
	q->sq[q->sq_tail] = *cmd;
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % NVME_QDEPTH);
}

static void nvme_sq_ring(struct nvme_queue *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*q->sq_doorbell = q->sq_tail;
}

/*
 * The next completion of q.  The controller writes each entry with the
 * phase it is on and flips the phase at every wrap, so an entry is new
 * while its phase bit equals q->phase.
 */
static int nvme_cq_wait(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_cqe *out)
{
	volatile struct nvme_cqe *e = &q->cq[q->cq_head];
	struct blk_wait w;

	for (blk_wait_start(&w, NVME_TIMEOUT_US); (e->status & 1) != q->phase;) {
		if (blk_wait_expired(&w)) {
			nvme_fail(c, q->qid == 0 ? "no admin completion in time"
						 : "no I/O completion in time");
			return -ETIMEDOUT;
		}
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*out = (struct nvme_cqe){e->result, 0, e->sq_head, e->sq_id, e->cid, e->status};
	if (++q->cq_head == NVME_QDEPTH) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	*q->cq_doorbell = q->cq_head;
	return 0;
}

/* One command on q with nothing else in flight there; what names it in messages. */
static int nvme_sync(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_sqe *cmd,
		     const char *what)
{
	struct nvme_cqe cqe;

	if (c->broken)
		return -EIO;
	cmd->cid = 0;
	nvme_sq_push(q, cmd);
	nvme_sq_ring(q);
	int err = nvme_cq_wait(c, q, &cqe);
	if (err < 0)
		return err;
	if (cqe.status >> 1 != 0) {
		char msg[80];
		ksnprintf(msg, sizeof(msg), "nvme: %02x:%02x.%u: %s", c->bus, c->dev, c->fn, what);
		nvme_log_status(msg, cqe.status >> 1);
		return -EIO;
	}
	return 0;
}

/*
 * Points cmd at len bytes of buf.  PRP1 may start inside a page; every
 * later entry is a whole page, in PRP2 itself when there is one, otherwise
 * in the slot's list page that PRP2 points at.
 */
static int nvme_prp(struct nvme_ctrl *c, unsigned slot, uint8_t *buf, size_t len,
		    struct nvme_sqe *cmd)
{
	size_t first = PAGE_SIZE - ((uintptr_t)buf & PAGE_MASK);
	uint64_t *list = pmap_phys_to_virt(c->prp_pa + slot * PAGE_SIZE);
	unsigned n = 0;

	if (((uintptr_t)buf & 3) != 0 || !pmap_extract(pmap_kernel(), (vaddr_t)buf, &cmd->prp1))
		return -EINVAL;
	for (size_t off = first; off < len; off += PAGE_SIZE)
		if (!pmap_extract(pmap_kernel(), (vaddr_t)(buf + off), &list[n++]))
			return -EINVAL;
	cmd->prp2 = n == 0 ? 0 : n == 1 ? list[0] : c->prp_pa + slot * PAGE_SIZE;
	return 0;
}

/* Queues (no doorbell) the command for sectors [done, done + count) of r in slot. */
static int nvme_rw_push(struct nvme_ns *ns, unsigned slot, struct blk_req *r, uint32_t done,
			uint32_t count)
{
	uint32_t ss = ns->dev.sector_size;
	uint64_t lba = r->lba + done;
	struct nvme_sqe cmd = {
	    .opcode = r->op == BLK_READ ? NVME_CMD_READ : NVME_CMD_WRITE,
	    .cid = (uint16_t)slot,
	    .nsid = ns->nsid,
	    .cdw10 = (uint32_t)lba,
	    .cdw11 = (uint32_t)(lba >> 32),
	    .cdw12 = count - 1,
	};
	uint8_t *buf = (uint8_t *)r->buf + (size_t)done * ss;
	int err = nvme_prp(ns->ctrl, slot, buf, (size_t)count * ss, &cmd);
	if (err < 0) {
		log_error("nvme: %s: buffer %p is not 4-byte aligned or not mapped", ns->dev.name,
			  buf);
		return err;
	}
	nvme_sq_push(&ns->ctrl->io, &cmd);
	ns->ctrl->slot[slot] = r;
	return 0;
}

/* Records one completion; false if it names no command in flight. */
static bool nvme_rw_complete(struct nvme_ns *ns, const struct nvme_cqe *cqe)
{
	struct nvme_ctrl *c = ns->ctrl;
	struct blk_req *r = cqe->cid < NVME_QDEPTH - 1 ? c->slot[cqe->cid] : NULL;

	if (r == NULL) {
		log_error("nvme: %s: completion for unknown command %u", ns->dev.name, cqe->cid);
		return false;
	}
	c->slot[cqe->cid] = NULL;
	if (cqe->status >> 1 != 0) {
		char msg[96];
		ksnprintf(msg, sizeof(msg), "nvme: %s: %s within sectors %llu+%u", ns->dev.name,
			  r->op == BLK_READ ? "read" : "write", (unsigned long long)r->lba,
			  r->count);
		nvme_log_status(msg, cqe->status >> 1);
		if (r->status == 0)
			r->status = -EIO;
	}
	return true;
}

/* After a lost controller: every request not known to be complete gets err. */
static void nvme_rw_abandon(struct nvme_ctrl *c, struct blk_req *reqs, size_t from, size_t n,
			    int err)
{
	for (unsigned i = 0; i < NVME_QDEPTH - 1; i++) {
		if (c->slot[i] != NULL && c->slot[i]->status == 0)
			c->slot[i]->status = err;
		c->slot[i] = NULL;
	}
	for (size_t i = from; i < n; i++)
		if (reqs[i].status == 0)
			reqs[i].status = err;
}

/*
 * Splits the batch into commands and keeps up to NVME_QDEPTH - 1 of them
 * in flight: fills every free slot, rings once, then takes one completion.
 */
static int nvme_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	struct nvme_ns *ns = container_of(dev, struct nvme_ns, dev);
	struct nvme_ctrl *c = ns->ctrl;
	uint32_t max = c->max_xfer / dev->sector_size;
	size_t next = 0;   /* the request being split */
	uint32_t done = 0; /* its sectors already queued */
	unsigned inflight = 0, slot = 0;
	int err = 0;

	if (c->broken)
		nvme_rw_abandon(c, reqs, 0, n, -EIO);
	while (!c->broken && (next < n || inflight > 0)) {
		bool queued = false;
		for (; next < n && inflight < NVME_QDEPTH - 1;
		     slot = (slot + 1) % (NVME_QDEPTH - 1)) {
			if (c->slot[slot] != NULL)
				continue;
			struct blk_req *r = &reqs[next];
			uint32_t count = MIN(r->count - done, max);
			int e = nvme_rw_push(ns, slot, r, done, count);
			if (e == 0) {
				inflight++;
				queued = true;
			} else if (r->status == 0) {
				r->status = e;
			}
			done += count;
			if (done == r->count) {
				next++;
				done = 0;
			}
		}
		if (queued)
			nvme_sq_ring(&c->io);
		if (inflight == 0)
			continue;
		struct nvme_cqe cqe;
		int e = nvme_cq_wait(c, &c->io, &cqe);
		if (e == 0 && !nvme_rw_complete(ns, &cqe)) {
			nvme_fail(c, "completion for no command in flight");
			e = -EIO;
		}
		if (e < 0)
			nvme_rw_abandon(c, reqs, next, n, e);
		inflight--;
	}
	for (size_t i = 0; i < n && err == 0; i++)
		err = reqs[i].status;
	return err;
}

static int nvme_flush(struct blk_dev *dev)
{
	struct nvme_ns *ns = container_of(dev, struct nvme_ns, dev);
	struct nvme_sqe cmd = {.opcode = NVME_CMD_FLUSH, .nsid = ns->nsid};

	return nvme_sync(ns->ctrl, &ns->ctrl->io, &cmd, "flush");
}

static const struct blk_ops nvme_ops = {nvme_submit, nvme_flush};

static int nvme_identify(struct nvme_ctrl *c, uint32_t nsid, uint32_t cns, uint8_t *buf)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = cns};

	cmd.prp1 = pmap_virt_to_phys(buf);
	return nvme_sync(c, &c->admin, &cmd, "identify");
}

/* Registers namespace nsid if its format is one the blk layer takes. */
static void nvme_ns_attach(struct nvme_ctrl *c, uint32_t nsid)
{
	uint8_t *id = c->ident;

	if (nvme_identify(c, nsid, NVME_CNS_NAMESPACE, id) < 0)
		return;
	uint64_t nsze;
	memcpy(&nsze, id, 8);
	/* FLBAS: format index in bits 3:0, its upper bits in 6:5; formats from byte 128 */
	unsigned fmt = (id[26] & 0xf) | (id[26] >> 5 & 3) << 4;
	uint32_t lbaf;
	memcpy(&lbaf, id + 128 + 4 * fmt, 4);
	/* LBADS is a power of two of up to 255 bits' worth: shift only what can be a sector */
	unsigned lbads = lbaf >> 16 & 0xff;
	if (lbads < 9 || lbads > 12) {
		log_error("nvme: %02x:%02x.%u namespace %u: sector size 2^%u bytes: not used",
			  c->bus, c->dev, c->fn, nsid, lbads);
		return;
	}
	uint32_t ss = 1u << lbads, ms = lbaf & 0xffff;
	if ((ss != 512 && ss != 4096) || ms != 0 || nsze == 0) {
		log_error("nvme: %02x:%02x.%u namespace %u: %u-byte sectors with %u metadata "
			  "bytes, %llu sectors: not used",
			  c->bus, c->dev, c->fn, nsid, ss, ms, (unsigned long long)nsze);
		return;
	}
	struct nvme_ns *ns = NEW(struct nvme_ns);
	if (ns == NULL) {
		log_error("nvme: %02x:%02x.%u namespace %u: out of memory", c->bus, c->dev, c->fn,
			  nsid);
		return;
	}
	ns->ctrl = c;
	ns->nsid = nsid;
	ksnprintf(ns->dev.name, sizeof(ns->dev.name), "nvme%u", nvme_disks++);
	ns->dev.sector_size = ss;
	ns->dev.sectors = nsze;
	ns->dev.ops = &nvme_ops;
	ns->dev.priv = ns;
	blk_register(&ns->dev);
	log_info("nvme: %s is namespace %u at %02x:%02x.%u, %u-byte sectors, %llu MiB, %u KiB per "
		 "command",
		 ns->dev.name, nsid, c->bus, c->dev, c->fn, ss,
		 (unsigned long long)((nsze * ss) >> 20), c->max_xfer >> 10);
}

/* Resets the controller and brings up the admin queue (3.5.1). */
static int nvme_enable(struct nvme_ctrl *c)
{
	uint64_t cap = nvme_rd64(c, NVME_CAP);

	c->stride = 4u << (cap >> 32 & 0xf);
	c->ready_us = MAX(cap >> 24 & 0xff, 1ull) * 500000; /* CAP.TO counts 500 ms */
	if (c->bar_size < NVME_DOORBELLS + 4ull * c->stride) {
		log_error("nvme: %02x:%02x.%u: BAR0 too small for two queue pairs' doorbells",
			  c->bus, c->dev, c->fn);
		return -ENODEV;
	}
	if ((cap >> 48 & 0xf) != 0 || (cap & 0xffff) + 1 < NVME_QDEPTH) {
		log_error("nvme: %02x:%02x.%u: needs 4 KiB memory pages and %u-entry queues",
			  c->bus, c->dev, c->fn, NVME_QDEPTH);
		return -ENODEV;
	}
	int err = nvme_disable(c);
	if (err < 0)
		return err;
	nvme_queue_init(c, &c->admin, 0, 0);
	nvme_queue_init(c, &c->io, 1, 2);
	nvme_wr32(c, NVME_AQA, (NVME_QDEPTH - 1) << 16 | (NVME_QDEPTH - 1));
	nvme_wr64(c, NVME_ASQ, c->mem_pa);
	nvme_wr64(c, NVME_ACQ, c->mem_pa + PAGE_SIZE);
	nvme_wr32(c, NVME_CC, NVME_CC_ENTRY_SIZES | NVME_CC_EN); /* NVM command set, 4 KiB pages */
	return nvme_wait_ready(c, true);
}

/* Maps and enables the controller, creates the I/O queue pair, attaches the namespaces. */
static int nvme_attach_to(struct nvme_ctrl *c, const struct pci_dev *d)
{
	pci_enable(d);
	c->regs = pci_map(c->bar, NVME_DOORBELLS);
	c->mem_pa = vm_page_phys(c->mem);
	c->prp_pa = vm_page_phys(c->prp);
	c->ident = pmap_phys_to_virt(c->mem_pa + 4 * PAGE_SIZE);
	c->nslist = pmap_phys_to_virt(c->mem_pa + 5 * PAGE_SIZE);
	int err = nvme_enable(c);
	if (err < 0 || (err = nvme_identify(c, 0, NVME_CNS_CONTROLLER, c->ident)) < 0)
		return err;
	uint8_t mdts = c->ident[77]; /* 2^mdts minimum pages (4 KiB here); 0: no limit */
	c->max_xfer = mdts != 0 && mdts < 9 ? (uint32_t)PAGE_SIZE << mdts : NVME_MAX_XFER;
	struct nvme_sqe nq = {.opcode = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES};
	struct nvme_sqe cq = {.opcode = NVME_ADMIN_CREATE_CQ,
			      .prp1 = c->mem_pa + 3 * PAGE_SIZE,
			      .cdw10 = (NVME_QDEPTH - 1) << 16 | 1,
			      .cdw11 = 1}; /* physically contiguous, interrupts off */
	struct nvme_sqe sq = {.opcode = NVME_ADMIN_CREATE_SQ,
			      .prp1 = c->mem_pa + 2 * PAGE_SIZE,
			      .cdw10 = (NVME_QDEPTH - 1) << 16 | 1,
			      .cdw11 = 1u << 16 | 1}; /* completions to CQ 1, contiguous */
	if ((err = nvme_sync(c, &c->admin, &nq, "set number of queues")) < 0 ||
	    (err = nvme_sync(c, &c->admin, &cq, "create I/O completion queue")) < 0 ||
	    (err = nvme_sync(c, &c->admin, &sq, "create I/O submission queue")) < 0)
		return err;
	/* the active namespace list came with NVMe 1.1; before it, take namespace 1 */
	if (nvme_rd32(c, NVME_VS) < 0x10100) {
		nvme_ns_attach(c, 1);
		return 0;
	}
	if ((err = nvme_identify(c, 0, NVME_CNS_ACTIVE_NSIDS, c->nslist)) < 0)
		return err;
	for (unsigned i = 0; i < PAGE_SIZE / 4; i++) {
		uint32_t nsid;
		memcpy(&nsid, c->nslist + 4 * i, 4);
		if (nsid == 0)
			break;
		nvme_ns_attach(c, nsid);
	}
	return 0;
}

static int nvme_attach(const struct pci_dev *d)
{
	struct nvme_ctrl *c = NEW(struct nvme_ctrl);

	if (c == NULL)
		return -ENOMEM;
	*c = (struct nvme_ctrl){.bus = d->bus, .dev = d->dev, .fn = d->fn};
	c->bar = pci_bar(d, 0, &c->bar_size);
	c->mem = vm_page_alloc_contig(3, VM_ALLOC_ZERO);
	c->prp = vm_page_alloc_contig(5, 0);
	int err = -ENOMEM;
	if (c->bar == 0 || c->bar_size < NVME_DOORBELLS)
		err = -ENODEV;
	else if (c->mem != NULL && c->prp != NULL)
		err = nvme_attach_to(c, d);
	/* failing before any namespace is registered; a controller that will not
	 * stop may still write to its queues, so those stay allocated */
	if (err < 0 && c->regs != NULL && nvme_disable(c) < 0) {
		log_error("nvme: %02x:%02x.%u: controller does not disable; its memory is never "
			  "reused", d->bus, d->dev, d->fn);
		return err;
	}
	if (err < 0) {
		if (c->mem != NULL)
			vm_page_free_contig(c->mem, 3);
		if (c->prp != NULL)
			vm_page_free_contig(c->prp, 5);
		DELETE(c);
	}
	return err;
}

static bool nvme_probe_one(const struct pci_dev *d, void *ctx)
{
	(void)ctx;
	if (d->class_code == 0x01 && d->subclass == 0x08 && d->prog_if == 0x02) {
		int err = nvme_attach(d);
		if (err < 0)
			log_error("nvme: %02x:%02x.%u not usable: %s", d->bus, d->dev, d->fn,
				  err_name(err));
	}
	return false;
}

void nvme_probe(void)
{
	pci_for_each(nvme_probe_one, NULL);
}
