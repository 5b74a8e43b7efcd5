/*
 * xhci_impl: the parts of the xHCI driver shared by xhci.c (controller,
 * rings, commands, events, root ports) and xhci_dev.c (device slots,
 * contexts, transfers, the usb_hc_ops).  Layouts and numbers are those of
 * the eXtensible Host Controller Interface specification, revision 1.2:
 * registers in chapter 5, contexts in 6.2, TRBs in 6.4.
 *
 * Rings are one page each: XHCI_RING_TRBS - 1 usable TRBs and a link TRB
 * back to the start that toggles the cycle bit.  The event ring is one
 * segment of one page.  Everything is polled: a command or transfer is
 * queued, its doorbell rung, and the event ring read until its event
 * comes, with every wait bounded (blk_wait.h).
 *
 * Lock key: set up once at boot; one caller at a time (c).
 */
#ifndef PHOBOS_DEV_USB_XHCI_IMPL_H
#define PHOBOS_DEV_USB_XHCI_IMPL_H

#include "core/dev/usb/usb.h"
#include "core/mm/vm_page.h"

#define XHCI_RING_TRBS 256
#define XHCI_MAX_SLOTS 64
#define XHCI_MAX_PORTS 64
#define XHCI_CMD_TIMEOUT_US 5000000
#define XHCI_XFER_TIMEOUT_US 10000000
#define XHCI_MAX_PIECES (USB_MAX_XFER / PAGE_SIZE + 1) /* page pieces of one transfer */
#define XHCI_SLOT_EPS 8 /* endpoints of one device kept for its reconfiguration */

/* TRB types (6.4.6) */
#define TRB_NORMAL 1
#define TRB_SETUP 2
#define TRB_DATA 3
#define TRB_STATUS 4
#define TRB_LINK 6
#define TRB_NOOP 8
#define TRB_ENABLE_SLOT 9
#define TRB_DISABLE_SLOT 10
#define TRB_ADDRESS_DEVICE 11
#define TRB_CONFIGURE_EP 12
#define TRB_EVALUATE_CTX 13
#define TRB_RESET_EP 14
#define TRB_STOP_EP 15
#define TRB_SET_TR_DEQ 16
#define TRB_RESET_DEVICE 17
#define TRB_EV_TRANSFER 32
#define TRB_EV_COMMAND 33
/* TRB control word bits */
#define TRB_C (1u << 0)
#define TRB_TC (1u << 1) /* link: toggle cycle */
#define TRB_ISP (1u << 2)
#define TRB_CH (1u << 4)
#define TRB_IOC (1u << 5)
#define TRB_IDT (1u << 6)
#define TRB_DIR_IN (1u << 16)
#define TRB_TYPE(t) ((uint32_t)(t) << 10)
#define TRB_TYPE_OF(ctl) ((ctl) >> 10 & 0x3f)
/* Completion codes (6.4.5) */
#define CC_SUCCESS 1
#define CC_STALL 6
#define CC_SHORT_PACKET 13

struct xhci_trb {
	uint32_t d[4];
};

struct xhci_ring {
	volatile struct xhci_trb *trbs;
	paddr_t pa;
	struct vm_page *page;
	unsigned enq;	/* next TRB to fill */
	uint32_t cycle; /* the producer's cycle state */
};

struct xhci_slot;

struct xhci_ctrl {
	volatile uint8_t *cap, *op, *rt;
	volatile uint32_t *db;
	uint8_t bus, dev, fn;
	unsigned max_slots, max_ports, ctx_size;
	bool ac64;	      /* 64-bit addresses: without it every buffer must lie below 4 GiB */
	uint16_t hci_version; /* BCD: 0x96 for 0.96, 0x100 for 1.0 */
	uint8_t port_major[XHCI_MAX_PORTS + 1]; /* USB major revision of each root port */
	/* each root port's protocol speed IDs (PORTSC.Speed) as usb_speeds, and the last seen */
	uint8_t port_speed[XHCI_MAX_PORTS + 1][16];
	uint8_t root_psiv[XHCI_MAX_PORTS + 1];
	uint64_t *dcbaa;
	struct vm_page *dcbaa_page, *evt_page, *erst_page, *scratch_array;
	struct xhci_ring cmd;
	volatile struct xhci_trb *evt;
	paddr_t evt_pa;
	unsigned evt_deq;
	uint32_t evt_cycle;
	struct xhci_slot *slots[XHCI_MAX_SLOTS + 1];
	bool broken;
};

struct xhci_slot {
	struct usb_dev udev;
	struct xhci_ctrl *c;
	unsigned id;
	uint8_t root_port;
	struct xhci_slot *parent; /* the hub it hangs on, NULL on a root port */
	uint8_t port;		  /* its port there, or the root port */
	uint32_t route;
	uint8_t tt_slot, tt_port; /* the high-speed hub that translates for a LS/FS device */
	struct usb_hub_info hub;  /* ports 0 unless a hub */
	struct vm_page *in_page, *out_page;
	uint8_t *in_ctx, *out_ctx;
	struct xhci_ring ep[32]; /* by device context index; trbs NULL when unused */
	uint16_t mps[32];	 /* max packet size of each endpoint */
	/* what usb_configure gave, for configuring again after a port reset */
	struct usb_ep eps[XHCI_SLOT_EPS];
	unsigned neps;
	bool recovering; /* a port reset of this device is under way: no escalation */
	/* below 4 GiB, for the pieces of a transfer the controller cannot reach (no AC64) */
	struct vm_page *bounce[XHCI_MAX_PIECES];
};

/* xhci.c */
int xhci_ring_init(struct xhci_ring *r);
void xhci_ring_free(struct xhci_ring *r);
/*
 * Fills the next TRB (control word without the cycle bit); returns its
 * index.  The first TRB of a TD is put with hold set, which leaves it
 * invalid until xhci_ring_commit: the controller never starts on a
 * half-built TD.
 */
unsigned xhci_ring_put(struct xhci_ring *r, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t ctl,
		       bool hold);
void xhci_ring_commit(struct xhci_ring *r, unsigned first);
/*
 * Makes room for a TD of n TRBs before the link: when it would not fit,
 * the rest of the segment is filled with No Op TRBs.  A TD then never
 * wraps, so the rule that data before a link must end on a packet
 * boundary (4.11.7.1) never applies.
 */
void xhci_ring_reserve(struct xhci_ring *r, unsigned n);
/* One command; *ev its completion event.  -EIO when its completion code is not success. */
int xhci_command(struct xhci_ctrl *c, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t ctl,
		 struct xhci_trb *ev);
/*
 * The next transfer event of slot/dci whose TRB lies in ring r's
 * [first, first + n) (in ring order): other events are dropped.
 * -ETIMEDOUT when none came in time, -ENODEV when the device's root port
 * lost its connection first.
 */
int xhci_transfer_event(struct xhci_ctrl *c, unsigned slot, unsigned dci, struct xhci_ring *r,
			unsigned first, unsigned n, unsigned *pos, struct xhci_trb *ev);
void xhci_ring_doorbell(struct xhci_ctrl *c, unsigned slot, unsigned target);
/* The controller failed: halted, or, when it will not halt, its devices lost. */
void xhci_fail(struct xhci_ctrl *c, const char *why);
/* Whether root port n has a device connected (PORTSC.CCS). */
bool xhci_port_connected(struct xhci_ctrl *c, unsigned n);
/* Resets root port n (a hot reset); the device's speed in *speed. */
int xhci_port_reset(struct xhci_ctrl *c, unsigned n, bool warm, enum usb_speed *speed);

/* xhci_dev.c */
int xhci_slot_attach(struct xhci_ctrl *c, struct xhci_slot *parent, unsigned port,
		     enum usb_speed speed, struct usb_dev **out);

#endif
