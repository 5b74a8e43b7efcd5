/*
 * xhci: the controller, its rings, commands and events, and the root
 * ports; see xhci.h and xhci_impl.h.  Section numbers are those of xHCI
 * 1.2.
 *
 * Bring-up (4.2): the firmware is asked to let go (the USB legacy support
 * capability, 7.1), the controller halted and reset before it may master
 * the bus, an Intel PCH's shared ports taken from EHCI, the device context
 * base array (with scratchpad buffers when the controller wants them),
 * the command ring and one event ring segment installed, and the
 * controller run with interrupts off.  Root ports with a device are reset
 * one by one (4.3.1); a USB 3 port that trained its link is reset too,
 * which is a hot reset there and harmless.
 */
#include "core/dev/blk_wait.h"
#include "core/dev/pci.h"
#include "core/dev/usb/xhci.h"
#include "core/dev/usb/usb_port.h"
#include "core/dev/usb/xhci_impl.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"

/* Capability registers (5.3) */
#define CAP_LENGTH 0x00
#define CAP_HCSPARAMS1 0x04
#define CAP_HCSPARAMS2 0x08
#define CAP_HCCPARAMS1 0x10
#define CAP_DBOFF 0x14
#define CAP_RTSOFF 0x18
#define HCC_AC64 (1u << 0)
#define HCC_CSZ (1u << 2)
#define HCC_PPC (1u << 3)
/* Operational registers (5.4) */
#define OP_USBCMD 0x00
#define OP_USBSTS 0x04
#define OP_PAGESIZE 0x08
#define OP_CRCR 0x18
#define OP_DCBAAP 0x30
#define OP_CONFIG 0x38
#define OP_PORTSC(n) (0x400 + 0x10 * ((n)-1))
#define CMD_RS (1u << 0)
#define CMD_HCRST (1u << 1)
#define STS_HCH (1u << 0)
#define STS_CNR (1u << 11)
/* PORTSC (5.4.8) */
#define PORT_CCS (1u << 0)
#define PORT_PED (1u << 1)
#define PORT_PR (1u << 4)
#define PORT_PLS(v) ((v) >> 5 & 0xf)
#define PORT_PP (1u << 9)
#define PORT_SPEED(v) ((v) >> 10 & 0xf)
#define PORT_CHANGES (0x7fu << 17) /* CSC PEC WRC OCC PRC PLC CEC: write 1 to clear */
#define PORT_WRC (1u << 19)
#define PORT_PRC (1u << 21)
#define PORT_WPR (1u << 31)
/* Bits a write must carry over: PP, PIC, and the wake enables; PED and
 * the change bits clear when written with 1, so they are written as 0. */
#define PORT_KEEP (PORT_PP | 3u << 14 | 7u << 25)
/* Interrupter 0 in the runtime registers (5.5.2) */
#define RT_IR0 0x20
#define IR_ERSTSZ 0x08
#define IR_ERSTBA 0x10
#define IR_ERDP 0x18
#define ERDP_EHB (1u << 3)
/* Extended capabilities (7) */
#define XCAP_LEGACY 1
#define XCAP_PROTOCOL 2
#define LEGACY_BIOS_OWNED (1u << 16)
#define LEGACY_OS_OWNED (1u << 24)

/* PCI configuration space */
#define PCI_COMMAND 0x04
#define PCI_CMD_MEMORY (1u << 1)
/*
 * Intel 7, 8 and 9-series PCH xHCI: which controller owns the shared
 * ports, EHCI or xHCI (PCH datasheets, xHCI configuration registers).
 * A 1 in XUSB2PR routes that USB 2 port to xHCI, a 1 in USB3_PSSEN
 * gives the port its SuperSpeed pins; the *PRM registers say which bits
 * the firmware lets the OS set.
 */
#define INTEL_XUSB2PR 0xd0
#define INTEL_USB2PRM 0xd4
#define INTEL_USB3_PSSEN 0xd8
#define INTEL_USB3PRM 0xdc

#define XHCI_HANDOFF_US 1000000
#define XHCI_RESET_US 1000000
#define XHCI_PORT_RESET_US 500000
/* No port counts as empty before this after the controller reset: USB 3
 * links retrain, and a USB 2 device on a port powered anew attaches up to
 * 100 ms after its power is good (USB 2.0 7.1.7.3, TSIGATT).  A stick there
 * from the start waits for it too, once per boot */
#define XHCI_CONNECT_US 500000

static uint32_t xhci_rd(volatile uint8_t *base, unsigned off)
{
	return *(volatile uint32_t *)(base + off);
}

static void xhci_wr(volatile uint8_t *base, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

/* 64-bit registers as two halves, low first (5.1). */
static void xhci_wr64(volatile uint8_t *base, unsigned off, uint64_t v)
{
	xhci_wr(base, off, (uint32_t)v);
	xhci_wr(base, off + 4, (uint32_t)(v >> 32));
}

/* Waits until (reg & mask) == want. */
static int xhci_wait_reg(volatile uint8_t *base, unsigned off, uint32_t mask, uint32_t want,
			 uint64_t timeout_us)
{
	struct blk_wait w;

	for (blk_wait_start(&w, timeout_us); (xhci_rd(base, off) & mask) != want;)
		if (blk_wait_expired(&w))
			return -ETIMEDOUT;
	return 0;
}

int xhci_ring_init(struct xhci_ring *r)
{
	r->page = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	if (r->page == NULL)
		return -ENOMEM;
	r->pa = vm_page_phys(r->page);
	r->trbs = pmap_phys_to_virt(r->pa);
	r->enq = 0;
	r->cycle = 1;
	return 0;
}

void xhci_ring_free(struct xhci_ring *r)
{
	if (r->page != NULL)
		vm_page_free(r->page);
	*r = (struct xhci_ring){0};
}

unsigned xhci_ring_put(struct xhci_ring *r, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t ctl,
		       bool hold)
{
	unsigned i = r->enq;
	volatile struct xhci_trb *t = &r->trbs[i];

	t->d[0] = d0;
	t->d[1] = d1;
	t->d[2] = d2;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->d[3] = ctl | (hold ? r->cycle ^ 1 : r->cycle);
	if (++r->enq == XHCI_RING_TRBS - 1) {
		/* the link belongs to the TD it interrupts: it carries the chain bit (4.11.5.1) */
		volatile struct xhci_trb *l = &r->trbs[XHCI_RING_TRBS - 1];
		l->d[0] = (uint32_t)r->pa;
		l->d[1] = (uint32_t)(r->pa >> 32);
		l->d[2] = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		l->d[3] = TRB_TYPE(TRB_LINK) | TRB_TC | (ctl & TRB_CH) | r->cycle;
		r->enq = 0;
		r->cycle ^= 1;
	}
	return i;
}

void xhci_ring_reserve(struct xhci_ring *r, unsigned n)
{
	KASSERT(n < XHCI_RING_TRBS - 1);
	if (r->enq + n > XHCI_RING_TRBS - 1)
		while (r->enq != 0)
			xhci_ring_put(r, 0, 0, 0, TRB_TYPE(TRB_NOOP), false);
}

void xhci_ring_commit(struct xhci_ring *r, unsigned first)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r->trbs[first].d[3] ^= TRB_C;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void xhci_ring_doorbell(struct xhci_ctrl *c, unsigned slot, unsigned target)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	c->db[slot] = target;
}

/* The next event, if the controller has written one (its cycle bit is ours). */
static bool xhci_event_next(struct xhci_ctrl *c, struct xhci_trb *ev)
{
	volatile struct xhci_trb *t = &c->evt[c->evt_deq];

	if ((t->d[3] & TRB_C) != c->evt_cycle)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < 4; i++)
		ev->d[i] = t->d[i];
	if (++c->evt_deq == XHCI_RING_TRBS) {
		c->evt_deq = 0;
		c->evt_cycle ^= 1;
	}
	xhci_wr64(c->rt, RT_IR0 + IR_ERDP,
		  (c->evt_pa + c->evt_deq * sizeof(struct xhci_trb)) | ERDP_EHB);
	return true;
}

static uint64_t xhci_trb_ptr(const struct xhci_trb *ev)
{
	return ev->d[0] | (uint64_t)ev->d[1] << 32;
}

void xhci_fail(struct xhci_ctrl *c, const char *why)
{
	if (c->broken)
		return;
	c->broken = true;
	log_error("xhci: %02x:%02x.%u: %s; controller halted", c->bus, c->dev, c->fn, why);
	xhci_wr(c->op, OP_USBCMD, xhci_rd(c->op, OP_USBCMD) & ~CMD_RS);
	if (xhci_wait_reg(c->op, OP_USBSTS, STS_HCH, STS_HCH, XHCI_RESET_US) == 0)
		return;
	for (unsigned i = 1; i <= XHCI_MAX_SLOTS; i++)
		if (c->slots[i] != NULL)
			c->slots[i]->udev.lost = true;
}

int xhci_command(struct xhci_ctrl *c, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t ctl,
		 struct xhci_trb *ev)
{
	struct blk_wait w;

	if (c->broken)
		return -EIO;
	unsigned i = xhci_ring_put(&c->cmd, d0, d1, d2, ctl, true);
	xhci_ring_commit(&c->cmd, i);
	xhci_ring_doorbell(c, 0, 0);
	paddr_t want = c->cmd.pa + i * sizeof(struct xhci_trb);
	for (blk_wait_start(&w, XHCI_CMD_TIMEOUT_US);;) {
		if (xhci_event_next(c, ev)) {
			if (TRB_TYPE_OF(ev->d[3]) == TRB_EV_COMMAND && xhci_trb_ptr(ev) == want)
				break;
		} else if (blk_wait_expired(&w)) {
			xhci_fail(c, "command timed out");
			return -ETIMEDOUT;
		}
	}
	unsigned code = ev->d[2] >> 24;
	if (code != CC_SUCCESS) {
		log_error("xhci: %02x:%02x.%u: command %u failed with completion code %u", c->bus,
			  c->dev, c->fn, TRB_TYPE_OF(ctl), code);
		return -EIO;
	}
	return 0;
}

int xhci_transfer_event(struct xhci_ctrl *c, unsigned slot, unsigned dci, struct xhci_ring *r,
			unsigned first, unsigned n, unsigned *pos, struct xhci_trb *ev)
{
	const unsigned usable = XHCI_RING_TRBS - 1;
	struct blk_wait w;

	for (blk_wait_start(&w, XHCI_XFER_TIMEOUT_US);;) {
		if (c->broken)
			return -EIO;
		if (!xhci_event_next(c, ev)) {
			/* a stick pulled out never completes: no need to wait the whole timeout */
			if (!xhci_port_connected(c, c->slots[slot]->root_port))
				return -ENODEV;
			if (blk_wait_expired(&w))
				return -ETIMEDOUT;
			continue;
		}
		if (TRB_TYPE_OF(ev->d[3]) != TRB_EV_TRANSFER || ev->d[3] >> 24 != slot ||
		    (ev->d[3] >> 16 & 0x1f) != dci)
			continue;
		uint64_t off = xhci_trb_ptr(ev) - r->pa;
		if (off >= usable * sizeof(struct xhci_trb))
			continue;
		/* the TD may wrap past the link: count its TRBs in ring order */
		unsigned dist =
		    ((unsigned)(off / sizeof(struct xhci_trb)) + usable - first) % usable;
		if (dist < n) {
			*pos = dist;
			return 0;
		}
		/* an event of an earlier TD, e.g. a second one after a short packet: dropped */
	}
}

/* Takes the controller from the firmware (7.1.1) and silences its SMIs. */
static void xhci_handoff(struct xhci_ctrl *c, unsigned off)
{
	struct blk_wait w;
	uint32_t v = xhci_rd(c->cap, off);

	if (v & LEGACY_BIOS_OWNED) {
		xhci_wr(c->cap, off, v | LEGACY_OS_OWNED);
		blk_wait_start(&w, XHCI_HANDOFF_US);
		while ((xhci_rd(c->cap, off) & LEGACY_BIOS_OWNED) && !blk_wait_expired(&w))
			;
		if (xhci_rd(c->cap, off) & LEGACY_BIOS_OWNED) {
			log_error("xhci: %02x:%02x.%u: firmware keeps the controller; taking it",
				  c->bus, c->dev, c->fn);
			xhci_wr(c->cap, off,
				(xhci_rd(c->cap, off) & ~LEGACY_BIOS_OWNED) | LEGACY_OS_OWNED);
		}
	} else {
		xhci_wr(c->cap, off, v | LEGACY_OS_OWNED);
	}
	/* USBLEGCTLSTS: SMI enables (bits 0, 4, 13-15) off, SMI events (29-31) cleared */
	uint32_t ctl = xhci_rd(c->cap, off + 4);
	xhci_wr(c->cap, off + 4, (ctl & ~(1u | 1u << 4 | 7u << 13)) | 7u << 29);
}

/*
 * The usb_speed of each protocol speed ID of the Supported Protocol
 * capability at off (7.2.1): from its bit rate, PSIM * 1000^PSIE bit/s.
 * Without PSI dwords the IDs are the defaults of 7.2.2.1.1, which are
 * the usb_speed values themselves.
 */
static void xhci_psi_speeds(struct xhci_ctrl *c, unsigned off, uint64_t bar_size,
			    uint8_t speeds[16])
{
	unsigned psic = xhci_rd(c->cap, off + 8) >> 28;

	for (unsigned i = 0; i < 16; i++)
		speeds[i] = (uint8_t)(i <= USB_SPEED_SUPER_PLUS ? i : 0);
	for (unsigned i = 0; i < psic && off + 16 + 4 * i + 4 <= bar_size; i++) {
		uint32_t psi = xhci_rd(c->cap, off + 16 + 4 * i);
		uint64_t bps = psi >> 16;
		for (unsigned e = 0; e < (psi >> 4 & 3); e++)
			bps *= 1000;
		speeds[psi & 0xf] = (uint8_t)(bps <= 1500000	   ? USB_SPEED_LOW
					      : bps <= 12000000	   ? USB_SPEED_FULL
					      : bps <= 480000000   ? USB_SPEED_HIGH
					      : bps <= 5000000000u ? USB_SPEED_SUPER
								   : USB_SPEED_SUPER_PLUS);
	}
}

/* Walks the extended capabilities: the firmware hand-off, and each root port's USB revision. */
static void xhci_ext_caps(struct xhci_ctrl *c, uint64_t bar_size)
{
	unsigned off = (xhci_rd(c->cap, CAP_HCCPARAMS1) >> 16) << 2;

	for (unsigned seen = 0; off != 0 && off + 16 <= bar_size && seen < 64; seen++) {
		uint32_t v = xhci_rd(c->cap, off);
		if ((v & 0xff) == XCAP_LEGACY) {
			xhci_handoff(c, off);
		} else if ((v & 0xff) == XCAP_PROTOCOL) {
			uint32_t ports = xhci_rd(c->cap, off + 8);
			unsigned first = ports & 0xff, count = ports >> 8 & 0xff;
			uint8_t speeds[16];
			xhci_psi_speeds(c, off, bar_size, speeds);
			for (unsigned p = first; p < first + count && p <= XHCI_MAX_PORTS; p++) {
				c->port_major[p] = (uint8_t)(v >> 24);
				memcpy(c->port_speed[p], speeds, sizeof(speeds));
			}
		}
		unsigned next = (v >> 8 & 0xff) << 2;
		off = next == 0 ? 0 : off + next;
	}
}

/* Halts and resets the controller (4.22.1 and 5.4.1). */
static int xhci_reset(struct xhci_ctrl *c)
{
	int err;

	if ((err = xhci_wait_reg(c->op, OP_USBSTS, STS_CNR, 0, XHCI_RESET_US)) < 0)
		return err;
	xhci_wr(c->op, OP_USBCMD, xhci_rd(c->op, OP_USBCMD) & ~CMD_RS);
	if ((err = xhci_wait_reg(c->op, OP_USBSTS, STS_HCH, STS_HCH, XHCI_RESET_US)) < 0)
		return err;
	xhci_wr(c->op, OP_USBCMD, CMD_HCRST);
	/* some controllers hang when their registers are read within 1 ms of the reset */
	blk_wait_delay(1000);
	if ((err = xhci_wait_reg(c->op, OP_USBCMD, CMD_HCRST, 0, XHCI_RESET_US)) < 0)
		return err;
	return xhci_wait_reg(c->op, OP_USBSTS, STS_CNR, 0, XHCI_RESET_US);
}

/* Scratchpad buffers the controller asked for (4.20), in DCBAA entry 0. */
static int xhci_scratchpads(struct xhci_ctrl *c)
{
	uint32_t p2 = xhci_rd(c->cap, CAP_HCSPARAMS2);
	unsigned n = (p2 >> 21 & 0x1f) << 5 | (p2 >> 27 & 0x1f);

	if (n == 0)
		return 0;
	if (n > PAGE_SIZE / 8)
		return -ENODEV;
	c->scratch_array = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	if (c->scratch_array == NULL)
		return -ENOMEM;
	uint64_t *array = pmap_phys_to_virt(vm_page_phys(c->scratch_array));
	for (unsigned i = 0; i < n; i++) {
		/* given to the controller for good: it owns them while it runs */
		struct vm_page *m = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
		if (m == NULL)
			return -ENOMEM;
		array[i] = vm_page_phys(m);
	}
	c->dcbaa[0] = vm_page_phys(c->scratch_array);
	return 0;
}

/* Installs the structures and runs the controller (4.2). */
static int xhci_start(struct xhci_ctrl *c)
{
	int err;

	c->dcbaa_page = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	c->evt_page = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	c->erst_page = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	if (c->dcbaa_page == NULL || c->evt_page == NULL || c->erst_page == NULL)
		return -ENOMEM;
	if ((err = xhci_ring_init(&c->cmd)) < 0)
		return err;
	c->dcbaa = pmap_phys_to_virt(vm_page_phys(c->dcbaa_page));
	if ((err = xhci_scratchpads(c)) < 0)
		return err;
	c->evt_pa = vm_page_phys(c->evt_page);
	c->evt = pmap_phys_to_virt(c->evt_pa);
	c->evt_cycle = 1;
	uint32_t *erst = pmap_phys_to_virt(vm_page_phys(c->erst_page));
	erst[0] = (uint32_t)c->evt_pa;
	erst[1] = (uint32_t)(c->evt_pa >> 32);
	erst[2] = XHCI_RING_TRBS;
	xhci_wr(c->op, OP_CONFIG, c->max_slots);
	xhci_wr64(c->op, OP_DCBAAP, vm_page_phys(c->dcbaa_page));
	xhci_wr64(c->op, OP_CRCR, c->cmd.pa | 1); /* ring cycle state 1 */
	xhci_wr(c->rt, RT_IR0 + IR_ERSTSZ, 1);
	xhci_wr64(c->rt, RT_IR0 + IR_ERDP, c->evt_pa);
	xhci_wr64(c->rt, RT_IR0 + IR_ERSTBA, vm_page_phys(c->erst_page));
	xhci_wr(c->op, OP_USBCMD, CMD_RS);
	return xhci_wait_reg(c->op, OP_USBSTS, STS_HCH, 0, XHCI_RESET_US);
}

/*
 * Resets root port n: a warm reset (WPR) retrains a USB 3 link, a hot one
 * (PR) enables the port; the device's speed from the protocol speed ID.
 */
int xhci_port_reset(struct xhci_ctrl *c, unsigned n, bool warm, enum usb_speed *speed)
{
	uint32_t v = xhci_rd(c->op, OP_PORTSC(n));
	struct blk_wait w;
	int err = 0;

	xhci_wr(c->op, OP_PORTSC(n), (v & PORT_KEEP) | (warm ? PORT_WPR : PORT_PR));
	/* a warm reset ends with WRC, and PRC too on most controllers: either will do */
	for (blk_wait_start(&w, XHCI_PORT_RESET_US);
	     !(xhci_rd(c->op, OP_PORTSC(n)) & (warm ? PORT_WRC | PORT_PRC : PORT_PRC));)
		if (blk_wait_expired(&w)) {
			err = -ETIMEDOUT;
			break;
		}
	v = xhci_rd(c->op, OP_PORTSC(n));
	xhci_wr(c->op, OP_PORTSC(n), (v & PORT_KEEP) | (v & PORT_CHANGES));
	if (err < 0 || warm)
		return err;
	if (!(v & PORT_CCS) || !(v & PORT_PED))
		return -EIO;
	c->root_psiv[n] = (uint8_t)PORT_SPEED(v);
	*speed = (enum usb_speed)c->port_speed[n][PORT_SPEED(v)];
	blk_wait_delay(10000); /* reset recovery, TRSTRCY (USB 2.0 7.1.7.5) */
	return 0;
}

bool xhci_port_connected(struct xhci_ctrl *c, unsigned n)
{
	return xhci_rd(c->op, OP_PORTSC(n)) & PORT_CCS;
}

static const char *xhci_speed_name(enum usb_speed s)
{
	static const char *const names[] = {"?", "full", "low", "high", "super", "super+"};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

static int xhci_port_status(void *ctx, unsigned n, struct usb_port_view *v)
{
	struct xhci_ctrl *c = ctx;
	uint32_t sc = xhci_rd(c->op, OP_PORTSC(n));

	if (c->broken)
		return -EIO;
	*v = (struct usb_port_view){sc & PORT_CCS, c->port_major[n] >= 3, (uint8_t)PORT_PLS(sc)};
	return 0;
}

static int xhci_port_reset_op(void *ctx, unsigned n, bool warm, enum usb_speed *speed)
{
	return xhci_port_reset(ctx, n, warm, speed);
}

static void xhci_port_attach(void *ctx, unsigned n, enum usb_speed speed)
{
	struct xhci_ctrl *c = ctx;
	struct usb_dev *d;
	int err = xhci_slot_attach(c, NULL, n, speed, &d);

	if (err < 0) {
		log_error("xhci: %02x:%02x.%u port %u: device not usable: %s", c->bus, c->dev,
			  c->fn, n, err_name(err));
		return;
	}
	log_info("xhci: %s: USB %u port, %s speed, slot %u", d->name, c->port_major[n],
		 xhci_speed_name(speed), container_of(d, struct xhci_slot, udev)->id);
	usb_dev_attach(d);
}

static const struct usb_port_ops xhci_port_ops = {xhci_port_status, xhci_port_reset_op,
						  xhci_port_attach};

/* The root ports powered, then watched until they settle (usb_port.h). */
static void xhci_scan_ports(struct xhci_ctrl *c)
{
	char name[16];

	if (xhci_rd(c->cap, CAP_HCCPARAMS1) & HCC_PPC)
		for (unsigned n = 1; n <= c->max_ports; n++)
			xhci_wr(c->op, OP_PORTSC(n),
				(xhci_rd(c->op, OP_PORTSC(n)) & PORT_KEEP) | PORT_PP);
	ksnprintf(name, sizeof(name), "%02x:%02x.%u", c->bus, c->dev, c->fn);
	usb_port_scan(&xhci_port_ops, c, name, c->max_ports, XHCI_CONNECT_US);
}

/*
 * Without an EHCI driver a stick the firmware left on an Intel PCH's EHCI
 * would never be seen: every port it lets go moves to xHCI.
 */
static void xhci_route_intel(const struct pci_dev *d)
{
	static const uint16_t pch[] = {0x1e31, 0x8c31, 0x9c31, 0x8cb1, 0x9cb1};

	if (d->vendor != 0x8086)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(pch); i++)
		if (d->device == pch[i]) {
			pci_write32(d, INTEL_USB3_PSSEN, pci_read32(d, INTEL_USB3PRM));
			pci_write32(d, INTEL_XUSB2PR, pci_read32(d, INTEL_USB2PRM));
			log_info("xhci: %02x:%02x.%u: Intel PCH ports routed to xHCI (USB 2 %x, "
				 "USB 3 %x)",
				 d->bus, d->dev, d->fn, pci_read32(d, INTEL_XUSB2PR),
				 pci_read32(d, INTEL_USB3_PSSEN));
			return;
		}
}

static int xhci_attach(const struct pci_dev *d)
{
	uint64_t size, bar = pci_bar(d, 0, &size);

	if (bar == 0 || size < 0x1000)
		return -ENODEV;
	struct xhci_ctrl *c = NEW(struct xhci_ctrl);
	if (c == NULL)
		return -ENOMEM;
	*c = (struct xhci_ctrl){.bus = d->bus, .dev = d->dev, .fn = d->fn};
	/*
	 * Registers only: bus mastering is enabled once the controller is halted,
	 * reset and given memory of ours, since one the firmware left running
	 * would write into boot-services memory the kernel already reuses.
	 */
	pci_write32(d, PCI_COMMAND, (pci_read32(d, PCI_COMMAND) & 0xffff) | PCI_CMD_MEMORY);
	c->cap = pci_map(bar, size);
	c->op = c->cap + (xhci_rd(c->cap, CAP_LENGTH) & 0xff);
	c->rt = c->cap + (xhci_rd(c->cap, CAP_RTSOFF) & ~0x1fu);
	c->db = (volatile uint32_t *)(c->cap + (xhci_rd(c->cap, CAP_DBOFF) & ~0x3u));
	uint32_t p1 = xhci_rd(c->cap, CAP_HCSPARAMS1);
	c->max_slots = MIN(p1 & 0xff, XHCI_MAX_SLOTS);
	c->max_ports = MIN(p1 >> 24, XHCI_MAX_PORTS);
	c->ctx_size = xhci_rd(c->cap, CAP_HCCPARAMS1) & HCC_CSZ ? 64 : 32;
	c->ac64 = xhci_rd(c->cap, CAP_HCCPARAMS1) & HCC_AC64;
	c->hci_version = (uint16_t)(xhci_rd(c->cap, CAP_LENGTH) >> 16);
	xhci_ext_caps(c, size);
	int err = xhci_reset(c);
	if (err == 0 && !(xhci_rd(c->op, OP_PAGESIZE) & 1))
		err = -ENODEV; /* no 4 KiB pages */
	if (err == 0) {
		xhci_route_intel(d);
		pci_enable(d);
		err = xhci_start(c);
	}
	if (err < 0) {
		/* what the controller was given stays allocated: it may still read it */
		xhci_fail(c, "bring-up failed");
		return err;
	}
	log_info("xhci: %02x:%02x.%u: xHCI %x.%02x, %u slots, %u ports, %u-byte contexts", d->bus,
		 d->dev, d->fn, xhci_rd(c->cap, CAP_LENGTH) >> 24,
		 xhci_rd(c->cap, CAP_LENGTH) >> 16 & 0xff, c->max_slots, c->max_ports, c->ctx_size);
	xhci_scan_ports(c);
	return 0;
}

static bool xhci_probe_one(const struct pci_dev *d, void *ctx)
{
	(void)ctx;
	if (d->class_code == 0x0c && d->subclass == 0x03 && d->prog_if == 0x30) {
		int err = xhci_attach(d);
		if (err < 0)
			log_error("xhci: %02x:%02x.%u not usable: %s", d->bus, d->dev, d->fn,
				  err_name(err));
	}
	return false;
}

void xhci_probe(void)
{
	pci_for_each(xhci_probe_one, NULL);
}
