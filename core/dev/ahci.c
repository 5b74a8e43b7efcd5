/*
 * AHCI 1.3 over PCI, polled; see ahci.h.
 *
 * Each port gets one page holding the command list (32 headers of 32
 * bytes at 0), the received-FIS area (256 bytes at 1 KiB) and the IDENTIFY
 * buffer (at 2 KiB), and 32 KiB of command tables, one KiB per slot.  A
 * batch is cut into commands of at most 128 KiB; up to one per slot is
 * issued at once by setting their bits in PxCI, and the HBA clears each
 * bit when its command is done.  The commands are not queued (NCQ): the
 * disk runs them one after the other, but no round trip through the
 * driver sits between them.
 *
 * When a command fails, PxIS reports it but not which slot it was in, and
 * emulators differ in what they leave in PxCI.  So the port is restarted
 * and, if more than one command was in flight, they are all issued again
 * one at a time: reads and writes of the same data are safe to repeat, and
 * the one that fails alone is the request to report.
 *
 * Buffers go back to the caller only once the port has stopped (PxCMD.CR
 * clear).  A port that will not stop is stopped with the whole HBA
 * (GHC.HR), which disables every port of it; if even that does not
 * complete, the disk goes offline with its buffers (blk.h).
 */
#include "core/dev/ahci.h"
#include "core/dev/blk.h"
#include "core/dev/blk_wait.h"
#include "core/dev/pci.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

/* Generic host control registers, from ABAR (BAR5). */
#define AHCI_CAP 0x00
#define AHCI_GHC 0x04
#define AHCI_PI 0x0c
#define AHCI_CAP_S64A (1u << 31)
#define AHCI_GHC_HR (1u << 0)
#define AHCI_GHC_IE (1u << 1)
#define AHCI_GHC_AE (1u << 31)

/* Port registers, from the port's base at ABAR + 0x100 + 0x80 * port. */
enum {
	PX_CLB = 0x00, PX_CLBU = 0x04, PX_FB = 0x08, PX_FBU = 0x0c, PX_IS = 0x10, PX_IE = 0x14,
	PX_CMD = 0x18, PX_TFD = 0x20, PX_SIG = 0x24, PX_SSTS = 0x28, PX_SCTL = 0x2c,
	PX_SERR = 0x30, PX_CI = 0x38,
};
#define PX_CMD_ST (1u << 0)
#define PX_CMD_FRE (1u << 4)
#define PX_CMD_FR (1u << 14)
#define PX_CMD_CR (1u << 15)
/* task file error, host bus fatal/data error, interface fatal: the port halts */
#define PX_IS_FATAL (1u << 30 | 1u << 29 | 1u << 28 | 1u << 27)
#define TFD_DRQ 0x08
#define TFD_BSY 0x80
#define SSTS_DET_PRESENT 3 /* device present, link up */
#define SIG_ATA_DISK 0x00000101

#define ATA_READ_DMA_EXT 0x25
#define ATA_WRITE_DMA_EXT 0x35
#define ATA_FLUSH_CACHE_EXT 0xea
#define ATA_IDENTIFY 0xec

#define AHCI_SLOTS 32
#define AHCI_MAX_BYTES (128 * 1024)
#define AHCI_PRDS 56 /* what fills a 1 KiB table; 128 KiB at any alignment needs 33 */
#define AHCI_TIMEOUT_US 10000000 /* commands and resets: a disk may spin up first */
#define AHCI_STOP_US 500000      /* the spec's limit for CR and FR to clear */
#define AHCI_HBA_RESET_US 1000000 /* the spec's limit for GHC.HR to clear */

struct ahci_cmd_header {
	uint16_t flags; /* FIS length in dwords (bits 0-4), write (bit 6) */
	uint16_t prdtl; /* PRDT entries */
	uint32_t prdbc; /* bytes transferred, written by the HBA */
	uint64_t ctba;  /* command table, 128-byte aligned */
	uint32_t reserved[4];
};

struct ahci_prd {
	uint64_t dba; /* data address, even */
	uint32_t reserved;
	uint32_t dbc; /* byte count - 1, at most 4 MiB - 1 */
};

struct ahci_table {
	uint8_t cfis[64]; /* the command FIS */
	uint8_t acmd[16]; /* ATAPI only */
	uint8_t reserved[48];
	struct ahci_prd prdt[AHCI_PRDS];
};
_Static_assert(sizeof(struct ahci_table) == 1024, "one KiB per slot");

/* One ATA command; req is the request it serves, NULL for the driver's own. */
struct ahci_cmd {
	uint8_t ata;
	uint64_t lba;
	uint32_t count; /* sectors */
	uint8_t *buf;
	size_t len;     /* bytes */
	struct blk_req *req;
};

/*
 * Lock key: Phobos runs one CPU without threads, so calls into a port
 * never overlap; all but broken is (c).
 */
struct ahci_port {
	struct blk_dev dev;
	volatile uint8_t *abar;       /* the HBA's registers */
	volatile uint8_t *regs;       /* the port's registers */
	unsigned slots;               /* commands in flight at most */
	bool dma32;                   /* the HBA reaches only the first 4 GiB */
	struct vm_page *mem, *tables; /* DMA memory: see the top of this file */
	paddr_t mem_pa, tables_pa;
	struct ahci_cmd_header *list;
	struct ahci_table *table;
	bool broken;                  /* stopped for good: every request is -EIO */
};

static unsigned ahci_count;

static uint32_t ahci_rd(struct ahci_port *p, unsigned off)
{
	return *(volatile uint32_t *)(p->regs + off);
}

static void ahci_wr(struct ahci_port *p, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(p->regs + off) = v;
}

/* Polls until (*reg & mask) == want; false when timeout_us passed first. */
static bool ahci_wait_reg(volatile uint8_t *reg, uint32_t mask, uint32_t want,
			  uint64_t timeout_us)
{
	struct blk_wait w;

	for (blk_wait_start(&w, timeout_us); (*(volatile uint32_t *)reg & mask) != want;)
		if (blk_wait_expired(&w))
			return false;
	return true;
}

static bool ahci_wait(struct ahci_port *p, unsigned off, uint32_t mask, uint32_t want,
		      uint64_t timeout_us)
{
	return ahci_wait_reg(p->regs + off, mask, want, timeout_us);
}

/* Stops command processing, then FIS reception (AHCI 10.1.2). */
static int ahci_port_stop(struct ahci_port *p)
{
	ahci_wr(p, PX_CMD, ahci_rd(p, PX_CMD) & ~PX_CMD_ST);
	if (!ahci_wait(p, PX_CMD, PX_CMD_CR, 0, AHCI_STOP_US))
		return -ETIMEDOUT;
	ahci_wr(p, PX_CMD, ahci_rd(p, PX_CMD) & ~PX_CMD_FRE);
	if (!ahci_wait(p, PX_CMD, PX_CMD_FR, 0, AHCI_STOP_US))
		return -ETIMEDOUT;
	return 0;
}

static const struct blk_ops ahci_ops;

/*
 * After a failure: stops the port's DMA so that its buffers can go back,
 * and disables it.  A port that will not stop is stopped with its HBA
 * (AHCI 10.4.3): that resets every port of the HBA, so all of them are
 * disabled.  If even the HBA does not finish its reset, the disk goes
 * offline (blk.h); the other ports have nothing in flight.
 */
static void ahci_port_halt(struct ahci_port *p)
{
	volatile uint32_t *ghc = (volatile uint32_t *)(p->abar + AHCI_GHC);

	p->broken = true;
	if (ahci_port_stop(p) == 0)
		return;
	log_error("ahci: %s: port does not stop; resetting the HBA", p->dev.name);
	*ghc |= AHCI_GHC_HR;
	if (!ahci_wait_reg(p->abar + AHCI_GHC, AHCI_GHC_HR, 0, AHCI_HBA_RESET_US))
		blk_set_offline(&p->dev, "ahci: HBA reset did not complete");
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next) {
		struct ahci_port *q = container_of(d, struct ahci_port, dev);
		if (d->ops == &ahci_ops && q->abar == p->abar && !q->broken) {
			q->broken = true;
			log_error("ahci: %s: disabled by the HBA reset", d->name);
		}
	}
}

/* COMRESET (AHCI 10.4.2): DET=1 for at least 1 ms, then wait for the link. */
static int ahci_comreset(struct ahci_port *p)
{
	uint32_t sctl = ahci_rd(p, PX_SCTL) & ~0xfu;

	ahci_wr(p, PX_SCTL, sctl | 1);
	blk_wait_delay(1000); /* the shortest hold the spec allows */
	ahci_wr(p, PX_SCTL, sctl);
	if (!ahci_wait(p, PX_SSTS, 0xf, SSTS_DET_PRESENT, AHCI_TIMEOUT_US))
		return -ETIMEDOUT;
	ahci_wr(p, PX_SERR, ~0u);
	return 0;
}

/* Points a stopped port at our memory and starts it (AHCI 10.3.1). */
static int ahci_port_start(struct ahci_port *p)
{
	ahci_wr(p, PX_CLB, (uint32_t)p->mem_pa);
	ahci_wr(p, PX_CLBU, (uint32_t)(p->mem_pa >> 32));
	ahci_wr(p, PX_FB, (uint32_t)(p->mem_pa + 1024));
	ahci_wr(p, PX_FBU, (uint32_t)((p->mem_pa + 1024) >> 32));
	ahci_wr(p, PX_SERR, ~0u);
	ahci_wr(p, PX_IS, ~0u);
	ahci_wr(p, PX_IE, 0); /* polled */
	ahci_wr(p, PX_CMD, ahci_rd(p, PX_CMD) | PX_CMD_FRE);
	/* ST must not be set while the device is busy; a hung device needs a reset */
	if ((ahci_rd(p, PX_TFD) & (TFD_BSY | TFD_DRQ)) && ahci_comreset(p) < 0)
		return -ETIMEDOUT;
	if (!ahci_wait(p, PX_TFD, TFD_BSY | TFD_DRQ, 0, AHCI_TIMEOUT_US))
		return -ETIMEDOUT;
	ahci_wr(p, PX_CMD, ahci_rd(p, PX_CMD) | PX_CMD_ST);
	return 0;
}

/* Writes c into slot: the register FIS, the PRDT (a piece per page), the header. */
static int ahci_prepare(struct ahci_port *p, unsigned slot, const struct ahci_cmd *c)
{
	struct ahci_table *t = &p->table[slot];
	uint8_t *buf = c->buf;
	size_t len = c->len;
	unsigned n = 0;

	while (len > 0) {
		size_t chunk = MIN(len, PAGE_SIZE - ((uintptr_t)buf & PAGE_MASK));
		paddr_t pa;
		if (!pmap_extract(pmap_kernel(), (vaddr_t)buf, &pa) || n == AHCI_PRDS ||
		    (p->dma32 && pa + chunk > ((uint64_t)1 << 32))) {
			log_error("ahci: %s: buffer %p cannot be given to the controller",
				  p->dev.name, (void *)buf);
			return -EINVAL;
		}
		/* buf is even and pages are even, so chunk is even as dbc needs */
		t->prdt[n++] = (struct ahci_prd){pa, 0, (uint32_t)chunk - 1};
		buf += chunk;
		len -= chunk;
	}
	memset(t->cfis, 0, sizeof(t->cfis));
	t->cfis[0] = 0x27; /* register FIS, host to device */
	t->cfis[1] = 0x80; /* this is a command */
	t->cfis[2] = c->ata;
	for (unsigned i = 0; i < 6; i++) /* LBA bytes 0-2 at 4-6, bytes 3-5 at 8-10 */
		t->cfis[i < 3 ? 4 + i : 5 + i] = (uint8_t)(c->lba >> (8 * i));
	t->cfis[7] = 0x40; /* LBA mode; ignored by the commands without an LBA */
	t->cfis[12] = (uint8_t)c->count;
	t->cfis[13] = (uint8_t)(c->count >> 8);
	p->list[slot] = (struct ahci_cmd_header){
		(uint16_t)(5 | (c->ata == ATA_WRITE_DMA_EXT ? 1u << 6 : 0)), (uint16_t)n, 0,
		p->tables_pa + slot * sizeof(struct ahci_table), {0}};
	return 0;
}

static const char *ahci_cmd_name(uint8_t ata)
{
	return ata == ATA_READ_DMA_EXT ? "read" : ata == ATA_WRITE_DMA_EXT ? "write"
		: ata == ATA_FLUSH_CACHE_EXT ? "flush" : "identify";
}

/* After an error: says what failed, then restarts the port (AHCI 6.2.2.1). */
static void ahci_recover(struct ahci_port *p, const struct ahci_cmd *c, unsigned n, uint32_t is)
{
	uint32_t tfd = ahci_rd(p, PX_TFD);

	if (n == 1)
		log_error("ahci: %s: %s of %u sectors at %llu failed: status 0x%02x, error 0x%02x, "
			  "PxIS 0x%08x",
			  p->dev.name, ahci_cmd_name(c->ata), c->count, (unsigned long long)c->lba,
			  tfd & 0xff, (tfd >> 8) & 0xff, is);
	else
		log_info("ahci: %s: error in a batch of %u commands (PxIS 0x%08x); "
			 "retrying them one at a time",
			 p->dev.name, n, is);
	if (ahci_port_stop(p) < 0) {
		ahci_port_halt(p);
	} else if (ahci_port_start(p) < 0) {
		p->broken = true;
		log_error("ahci: %s: port did not restart after the error; disk disabled",
			  p->dev.name);
	}
}

/*
 * Runs the commands prepared in slots [0, n) and waits for all of them.
 * -EIO when the port reported an error (it is restarted, or marked broken),
 * -ETIMEDOUT when they did not finish (the port is stopped for good).
 */
static int ahci_issue(struct ahci_port *p, const struct ahci_cmd *cmds, unsigned n)
{
	uint32_t mask = n == 32 ? ~0u : (1u << n) - 1;

	if (p->broken)
		return -EIO;
	ahci_wr(p, PX_IS, ~0u);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* tables in memory before the HBA reads them */
	ahci_wr(p, PX_CI, mask);
	struct blk_wait w;
	for (blk_wait_start(&w, AHCI_TIMEOUT_US);;) {
		/*
		 * PxCI first: by the time a bit clears, an error of its command
		 * is already in PxIS.  PxTFD is no witness: it may still hold an
		 * earlier command's error, while PxIS was cleared above.
		 */
		bool idle = !(ahci_rd(p, PX_CI) & mask);
		uint32_t is = ahci_rd(p, PX_IS);
		if (is & PX_IS_FATAL) {
			ahci_recover(p, cmds, n, is);
			return -EIO;
		}
		if (idle)
			break;
		if (blk_wait_expired(&w)) {
			log_error("ahci: %s: %u commands timed out (PxCI 0x%08x, status 0x%02x); "
				  "disk disabled",
				  p->dev.name, n, ahci_rd(p, PX_CI), ahci_rd(p, PX_TFD) & 0xff);
			ahci_port_halt(p); /* no DMA into buffers that are handed back */
			return -ETIMEDOUT;
		}
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* read the data only after PxCI said done */
	return 0;
}

/* One command on its own, in slot 0. */
static int ahci_exec(struct ahci_port *p, const struct ahci_cmd *c)
{
	int err = ahci_prepare(p, 0, c);

	return err < 0 ? err : ahci_issue(p, c, 1);
}

static void ahci_done(const struct ahci_cmd *c, int err)
{
	if (err < 0 && c->req->status == 0)
		c->req->status = err;
}

/* Prepares sectors [first, first + count) of r in slot as c; a failure goes to r. */
static bool ahci_add(struct ahci_port *p, unsigned slot, struct ahci_cmd *c, struct blk_req *r,
		     uint32_t first, uint32_t count)
{
	size_t ss = p->dev.sector_size;

	*c = (struct ahci_cmd){r->op == BLK_READ ? ATA_READ_DMA_EXT : ATA_WRITE_DMA_EXT,
			       r->lba + first, count, (uint8_t *)r->buf + first * ss, count * ss,
			       r};
	int err = ahci_prepare(p, slot, c);
	ahci_done(c, err);
	return err == 0;
}

/* Cuts the requests into commands and runs them a slotful at a time. */
static int ahci_submit(struct blk_dev *dev, struct blk_req *reqs, size_t nreq)
{
	struct ahci_port *p = container_of(dev, struct ahci_port, dev);
	uint32_t max = AHCI_MAX_BYTES / dev->sector_size, done = 0;
	struct ahci_cmd cmds[AHCI_SLOTS];
	size_t i = 0;
	int err = 0;

	for (size_t k = 0; k < nreq; k++)
		reqs[k].status = ((uintptr_t)reqs[k].buf & 1) ? -EINVAL : 0; /* PRDs need even */
	while (i < nreq) {
		unsigned n = 0;
		while (n < p->slots && i < nreq) {
			struct blk_req *r = &reqs[i];
			uint32_t count = MIN(r->count - done, max);
			if (r->status == 0 && ahci_add(p, n, &cmds[n], r, done, count))
				n++;
			done += count;
			/* a request that failed already is not continued */
			if (done == r->count || r->status != 0) {
				i++;
				done = 0;
			}
		}
		int e = n == 0 ? 0 : ahci_issue(p, cmds, n);
		/* after an error in a batch each command goes again alone (see the top) */
		for (unsigned j = 0; j < n; j++)
			ahci_done(&cmds[j], e == -EIO && n > 1 ? ahci_exec(p, &cmds[j]) : e);
	}
	for (size_t k = 0; k < nreq; k++)
		if (reqs[k].status < 0 && err == 0)
			err = reqs[k].status;
	return err;
}

static int ahci_flush(struct blk_dev *dev)
{
	struct ahci_cmd c = {ATA_FLUSH_CACHE_EXT, 0, 0, NULL, 0, NULL};

	return ahci_exec(container_of(dev, struct ahci_port, dev), &c);
}

static const struct blk_ops ahci_ops = {ahci_submit, ahci_flush};

/* Capacity and logical sector size from IDENTIFY DEVICE (ATA8-ACS 7.16). */
static int ahci_identify(struct ahci_port *p)
{
	uint16_t *id = (uint16_t *)((uint8_t *)p->list + 2048);
	struct ahci_cmd c = {ATA_IDENTIFY, 0, 0, (uint8_t *)id, 512, NULL};
	int err = ahci_exec(p, &c);

	if (err < 0)
		return err;
	if (!(id[83] & (1u << 10))) {
		log_error("ahci: port without 48-bit LBA support; skipped");
		return -ENODEV;
	}
	p->dev.sectors = (uint64_t)id[100] | (uint64_t)id[101] << 16 | (uint64_t)id[102] << 32 |
			 (uint64_t)id[103] << 48;
	p->dev.sector_size = 512;
	/* word 106 valid (bits 15:14 = 01) and "logical sector longer than 256 words" */
	if ((id[106] & 0xd000) == 0x5000)
		p->dev.sector_size = 2 * ((uint32_t)id[117] | (uint32_t)id[118] << 16);
	if (p->dev.sector_size != 512 && p->dev.sector_size != 4096) {
		log_error("ahci: %u-byte sectors are not supported", p->dev.sector_size);
		return -ENODEV;
	}
	return 0;
}

/* Takes the port over from the firmware, gives it our memory, asks the disk. */
static int ahci_port_setup(struct ahci_port *p)
{
	unsigned flags = VM_ALLOC_ZERO | (p->dma32 ? VM_ALLOC_DMA32 : 0);
	int err = ahci_port_stop(p);

	if (err < 0)
		return err;
	p->mem = vm_page_alloc(flags);
	p->tables = vm_page_alloc_contig(3, flags); /* 8 pages: 32 tables of 1 KiB */
	if (p->mem == NULL || p->tables == NULL)
		return -ENOMEM;
	p->mem_pa = vm_page_phys(p->mem);
	p->tables_pa = vm_page_phys(p->tables);
	p->list = pmap_phys_to_virt(p->mem_pa);
	p->table = pmap_phys_to_virt(p->tables_pa);
	err = ahci_port_start(p);
	if (err < 0)
		return err;
	ksnprintf(p->dev.name, sizeof(p->dev.name), "ahci%u", ahci_count); /* for messages */
	return ahci_identify(p);
}

static int ahci_port_attach(const struct pci_dev *d, volatile uint8_t *abar, unsigned port)
{
	uint32_t cap = *(volatile uint32_t *)(abar + AHCI_CAP);
	struct ahci_port *p = NEW(struct ahci_port);

	if (p == NULL)
		return -ENOMEM;
	p->abar = abar;
	p->regs = abar + 0x100 + 0x80 * port;
	p->slots = ((cap >> 8) & 0x1f) + 1; /* CAP.NCS is zero-based */
	p->dma32 = !(cap & AHCI_CAP_S64A);
	int err = ahci_port_setup(p);
	if (err < 0) {
		/* memory the HBA may still write to is never given back */
		if (blk_offline(&p->dev) || ahci_port_stop(p) < 0) {
			log_error("ahci: %02x:%02x.%u port %u does not stop; its memory is never "
				  "reused", d->bus, d->dev, d->fn, port);
			return err;
		}
		if (p->mem != NULL)
			vm_page_free(p->mem);
		if (p->tables != NULL)
			vm_page_free_contig(p->tables, 3);
		DELETE(p); /* never registered: nothing refers to it */
		return err;
	}
	ahci_count++;
	p->dev.ops = &ahci_ops;
	p->dev.priv = p;
	blk_register(&p->dev);
	log_info("ahci: %s at %02x:%02x.%u port %u, %llu MiB, %u-byte sectors, %u slots",
		 p->dev.name, d->bus, d->dev, d->fn, port,
		 (unsigned long long)(p->dev.sectors * p->dev.sector_size >> 20),
		 p->dev.sector_size, p->slots);
	return 0;
}

static bool ahci_probe_one(const struct pci_dev *d, void *ctx)
{
	(void)ctx;
	if (d->class_code != 0x01 || d->subclass != 0x06 || d->prog_if != 0x01)
		return false;
	uint64_t size, bar = pci_bar(d, 5, &size);
	if (bar == 0 || size < 0x100 + 0x80) {
		log_error("ahci: %02x:%02x.%u has no memory BAR5; skipped", d->bus, d->dev, d->fn);
		return false;
	}
	pci_enable(d);
	/* the ports' registers follow the global ones; a small ABAR holds fewer ports */
	unsigned ports = (unsigned)MIN((size - 0x100) / 0x80, 32ull);
	volatile uint8_t *abar = pci_map(bar, 0x100 + 0x80 * ports);
	volatile uint32_t *ghc = (volatile uint32_t *)(abar + AHCI_GHC);
	*ghc = (*ghc | AHCI_GHC_AE) & ~AHCI_GHC_IE; /* AHCI mode, no interrupts: we poll */
	uint32_t pi = *(volatile uint32_t *)(abar + AHCI_PI);
	for (unsigned port = 0; port < ports; port++) {
		if (!(pi & (1u << port)))
			continue;
		volatile uint8_t *r = abar + 0x100 + 0x80 * port;
		uint32_t ssts = *(volatile uint32_t *)(r + PX_SSTS);
		uint32_t sig = *(volatile uint32_t *)(r + PX_SIG);
		if ((ssts & 0xf) != SSTS_DET_PRESENT)
			continue; /* nothing attached */
		if (sig != SIG_ATA_DISK) {
			log_info("ahci: %02x:%02x.%u port %u: not a disk (signature 0x%08x)",
				 d->bus, d->dev, d->fn, port, sig);
			continue;
		}
		int err = ahci_port_attach(d, abar, port);
		if (err < 0)
			log_error("ahci: %02x:%02x.%u port %u not usable: %s", d->bus, d->dev,
				  d->fn, port, err_name(err));
	}
	return false;
}

void ahci_probe(void)
{
	pci_for_each(ahci_probe_one, NULL);
}
