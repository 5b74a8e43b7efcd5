/*
 * xhci_dev: device slots, their contexts and transfers, and the
 * usb_hc_ops the class drivers use; see xhci_impl.h.  Section numbers are
 * those of xHCI 1.2.
 *
 * A device is addressed in one step (Address Device with BSR = 0, 4.3.4);
 * a full-speed device's endpoint 0 packet size, unknown until its
 * descriptor is read, is then corrected with Evaluate Context.  Each
 * transfer is one TD; the data is cut at page boundaries, which also
 * keeps every TRB inside a 64 KiB boundary (6.4.1).  An endpoint that
 * halts (stall, transaction error) is reset and its ring moved past the
 * failed TD (4.6.8, 4.6.10); one that does not complete in time is
 * stopped (4.6.9) and moved on likewise.  When that fails twice the
 * device's port is reset and the device set up again, and only when even
 * that fails is the controller halted (xhci_fail).  A transfer that fails
 * or times out first asks whether the device is still plugged in (its
 * root port's connect status, and its hub port's): one that is not is
 * marked gone at once, without recovery (usb.h).
 */
#include "core/dev/blk_wait.h"
#include "core/dev/usb/xhci_impl.h"
#include "core/mm/malloc.h"
#include "core/mm/pmap.h"

#define EP_TYPE_CONTROL 4
#define EP_TYPE_BULK_OUT 2
#define EP_TYPE_BULK_IN 6
#define EP_STATE_RUNNING 1
#define EP_STATE_HALTED 2
#define CTX_ADD_SLOT 1u

struct xhci_piece {
	paddr_t pa;
	uint32_t len;
	uint8_t *bounced; /* the caller's bytes when pa is a bounce page, else NULL */
};

static const struct usb_hc_ops xhci_usb_ops;

/* Context idx of the input context (0 input control, 1 slot, 1 + dci endpoints). */
static uint32_t *xhci_in(struct xhci_slot *s, unsigned idx)
{
	return (uint32_t *)(s->in_ctx + idx * s->c->ctx_size);
}

/* Context idx of the output (device) context: 0 slot, dci endpoints. */
static volatile uint32_t *xhci_out(struct xhci_slot *s, unsigned idx)
{
	return (volatile uint32_t *)(s->out_ctx + idx * s->c->ctx_size);
}

static unsigned xhci_dci(uint8_t ep)
{
	return (ep & 0x0f) * 2u + (ep & USB_DIR_IN ? 1 : 0);
}

/*
 * buf cut at page boundaries into physical pieces; -EINVAL when unmapped.
 * A controller without 64-bit addressing gets a piece above 4 GiB in a
 * bounce page of the slot, at the same offset, filled now when out is
 * set (xhci_unbounce copies IN data back).
 */
static int xhci_pieces(struct xhci_slot *s, uint8_t *buf, size_t len, bool out,
		       struct xhci_piece *p)
{
	unsigned n = 0;

	while (len > 0) {
		size_t chunk = MIN(len, PAGE_SIZE - ((uintptr_t)buf & PAGE_MASK));
		KASSERT(n < XHCI_MAX_PIECES);
		if (!pmap_extract(pmap_kernel(), (vaddr_t)buf, &p[n].pa))
			return -EINVAL;
		p[n].len = (uint32_t)chunk;
		p[n].bounced = NULL;
		if (!s->c->ac64 && p[n].pa + chunk > (1ull << 32)) {
			if (s->bounce[n] == NULL &&
			    (s->bounce[n] = vm_page_alloc(VM_ALLOC_DMA32)) == NULL)
				return -ENOMEM;
			p[n].pa = vm_page_phys(s->bounce[n]) + ((uintptr_t)buf & PAGE_MASK);
			p[n].bounced = buf;
			if (out)
				memcpy(pmap_phys_to_virt(p[n].pa), buf, chunk);
		}
		n++;
		buf += chunk;
		len -= chunk;
	}
	return (int)n;
}

/* The first moved bytes of an IN transfer, from the bounce pages they went to. */
static void xhci_unbounce(const struct xhci_piece *p, unsigned n, size_t moved)
{
	for (unsigned i = 0; i < n && moved > 0; i++) {
		size_t len = MIN(moved, p[i].len);
		if (p[i].bounced != NULL)
			memcpy(p[i].bounced, pmap_phys_to_virt(p[i].pa), len);
		moved -= len;
	}
}

/*
 * TD Size of a TRB whose data ends done bytes into a TD of total bytes
 * (4.11.2.4), at most 31: from xHCI 1.0 the packets of the TD not yet
 * sent once this TRB's are, counted as the controller packs them
 * (ceil(total / mps) - floor(done / mps)), 0 on the last TRB; on 0.96
 * the bytes from this TRB on, in KiB.
 */
static uint32_t xhci_td_size(const struct xhci_ctrl *c, size_t total, size_t done, uint32_t len,
			     uint16_t mps)
{
	size_t v = c->hci_version < 0x100 ? (total - done + len) >> 10
		   : done == total	  ? 0
					  : (total + mps - 1) / mps - done / mps;

	return (uint32_t)MIN(v, 31u) << 17;
}

/*
 * Puts the data pieces of a TD: the first with first_ctl (a Data Stage or
 * Normal TRB), the rest Normal TRBs, all chained but the last, which gets
 * last_ctl.  Lengths go to lens.
 */
static void xhci_put_pieces(struct xhci_slot *s, struct xhci_ring *r, const struct xhci_piece *p,
			    unsigned n, uint16_t mps, uint32_t first_ctl, uint32_t last_ctl,
			    uint32_t *lens, bool hold_first)
{
	size_t total = 0, done = 0;

	for (unsigned i = 0; i < n; i++)
		total += p[i].len;
	for (unsigned i = 0; i < n; i++) {
		done += p[i].len;
		uint32_t ctl = (i == 0 ? first_ctl : TRB_TYPE(TRB_NORMAL) | (first_ctl & TRB_ISP)) |
			       (i + 1 < n ? TRB_CH : last_ctl);
		xhci_ring_put(r, (uint32_t)p[i].pa, (uint32_t)(p[i].pa >> 32),
			      p[i].len | xhci_td_size(s->c, total, done, p[i].len, mps), ctl,
			      hold_first && i == 0);
		lens[i] = p[i].len;
	}
}

/*
 * Brings endpoint dci back to Stopped with its ring at the next free TRB,
 * whatever the failed TD left: reset when halted, stopped when running.
 */
static int xhci_ep_resync(struct xhci_slot *s, unsigned dci)
{
	struct xhci_ring *r = &s->ep[dci];
	struct xhci_trb ev;
	uint32_t slot_ep = dci << 16 | s->id << 24;
	unsigned state = xhci_out(s, dci)[0] & 7;
	int err = 0;

	if (state == EP_STATE_HALTED)
		err = xhci_command(s->c, 0, 0, 0, TRB_TYPE(TRB_RESET_EP) | slot_ep, &ev);
	else if (state == EP_STATE_RUNNING)
		err = xhci_command(s->c, 0, 0, 0, TRB_TYPE(TRB_STOP_EP) | slot_ep, &ev);
	paddr_t deq = r->pa + r->enq * sizeof(struct xhci_trb);
	if (err == 0)
		err = xhci_command(s->c, (uint32_t)deq | r->cycle, (uint32_t)(deq >> 32), 0,
				   TRB_TYPE(TRB_SET_TR_DEQ) | slot_ep, &ev);
	return err;
}

/* Whether the device is still plugged in: its root port, and the hub port it hangs on. */
static bool xhci_slot_present(struct xhci_slot *s)
{
	if (!xhci_port_connected(s->c, s->root_port))
		return false;
	return s->parent == NULL || usb_hub_port_present(&s->parent->udev, s->port) != 0;
}

static int xhci_slot_address(struct xhci_slot *s);
static int xhci_control(struct usb_dev *d, const struct usb_setup *st, void *data, size_t *actual);
static int xhci_configure(struct usb_dev *d, const struct usb_ep *eps, unsigned n,
			  const struct usb_hub_info *hub);

/*
 * The device's port reset, then the device addressed and configured
 * again as at attach time (Reset Device, 4.6.11, leaves only endpoint 0),
 * with every ring going on from its next free TRB.
 */
static int xhci_slot_reset(struct xhci_slot *s)
{
	struct usb_setup cfg = {0, USB_REQ_SET_CONFIGURATION, s->udev.config[5], 0, 0};
	enum usb_speed speed;
	struct xhci_trb ev;
	size_t got;

	s->recovering = true;
	int err = s->parent == NULL ? xhci_port_reset(s->c, s->root_port, false, &speed)
				    : usb_hub_port_reset(&s->parent->udev, s->port);
	if (err == 0)
		err = xhci_command(s->c, 0, 0, 0, TRB_TYPE(TRB_RESET_DEVICE) | s->id << 24, &ev);
	if (err == 0) {
		memset(s->in_ctx, 0, 33 * s->c->ctx_size);
		err = xhci_slot_address(s);
	}
	if (err == 0 && s->udev.config_len > 0) {
		err = xhci_configure(&s->udev, s->eps, s->neps, NULL);
		if (err == 0)
			err = xhci_control(&s->udev, &cfg, NULL, &got);
	}
	s->recovering = false;
	log_error("xhci: %s: port reset and device set up again: %s", s->udev.name,
		  err < 0 ? err_name(err) : "done");
	return err;
}

/*
 * Brings endpoint dci back after a failed TD: resynced, once more when
 * that fails (its state may have moved under the first try), then the
 * device's port reset and the device set up again; only when that fails
 * too is the whole controller given up (xhci_fail).  A device found
 * unplugged meanwhile is left to xhci_td_failed.  Hubs are not reset:
 * that would take every device behind them.
 */
static int xhci_ep_recover(struct xhci_slot *s, unsigned dci)
{
	int err = xhci_ep_resync(s, dci);

	if (err == 0 || s->c->broken || s->recovering)
		return err;
	if (!xhci_slot_present(s))
		return -ENODEV;
	if ((err = xhci_ep_resync(s, dci)) == 0)
		return 0;
	log_error("xhci: %s: endpoint %u will not recover: resetting the port", s->udev.name, dci);
	if (s->hub.ports == 0 && (err = xhci_slot_reset(s)) == 0)
		return 0;
	xhci_fail(s->c, "a device would not recover");
	return err;
}

/*
 * After a TD failed with err (code: its completion code, if it had one):
 * a device that was unplugged is marked gone (and lost, when its endpoint
 * would not stop), else the endpoint is recovered.
 */
static int xhci_td_failed(struct xhci_slot *s, unsigned dci, int err, unsigned code)
{
	if (s->c->broken)
		return -EIO;
	if (err == -ETIMEDOUT)
		log_error("xhci: %s: endpoint %u: no completion in time", s->udev.name, dci);
	else if (err != -ENODEV && code != CC_STALL)
		log_error("xhci: %s: endpoint %u: completion code %u", s->udev.name, dci, code);
	int e = err == -EAGAIN || xhci_slot_present(s) ? xhci_ep_recover(s, dci) : -ENODEV;
	if (e != -ENODEV)
		return err == -ENODEV ? -EIO : err;
	log_error("xhci: %s: unplugged", s->udev.name);
	s->udev.gone = true;
	if (xhci_ep_resync(s, dci) < 0)
		s->udev.lost = true;
	return -ENODEV;
}

/*
 * Waits for the TD of n TRBs from ring index first on dci; lens gives the
 * data bytes of each TRB.  A short packet ends a bulk TD at once; on a
 * control TD the status stage still comes.
 */
static int xhci_td_wait(struct xhci_slot *s, unsigned dci, unsigned first, unsigned n,
			const uint32_t *lens, size_t *actual)
{
	bool shorted = false;
	struct xhci_trb ev;
	unsigned pos;

	*actual = 0;
	for (;;) {
		int err = xhci_transfer_event(s->c, s->id, dci, &s->ep[dci], first, n, &pos, &ev);
		unsigned code = err == 0 ? ev.d[2] >> 24 : 0;
		if (err == 0 && code != CC_SUCCESS && code != CC_SHORT_PACKET)
			err = code == CC_STALL ? -EAGAIN : -EIO;
		if (err < 0)
			return xhci_td_failed(s, dci, err, code);
		uint32_t residual = ev.d[2] & 0xffffff;
		if (!shorted) {
			size_t moved = lens[pos] - MIN(residual, lens[pos]);
			for (unsigned i = 0; i < pos; i++)
				moved += lens[i];
			*actual = moved;
			shorted = code == CC_SHORT_PACKET;
		}
		if (pos == n - 1 || (shorted && dci != 1))
			return 0;
	}
}

static int xhci_control(struct usb_dev *d, const struct usb_setup *st, void *data, size_t *actual)
{
	struct xhci_slot *s = d->hc;
	struct xhci_ring *r = &s->ep[1];
	struct xhci_piece p[XHCI_MAX_PIECES];
	uint32_t lens[XHCI_MAX_PIECES + 2] = {0};
	bool in = st->type & USB_DIR_IN;
	int np = 0;

	if (d->gone)
		return -ENODEV;
	if (s->c->broken || d->lost)
		return -EIO;
	if (st->length > 0 && (np = xhci_pieces(s, data, st->length, !in, p)) < 0)
		return np;
	uint32_t trt = st->length == 0 ? 0 : in ? 3 : 2; /* transfer type: none, OUT, IN */
	xhci_ring_reserve(r, (unsigned)np + 2);
	unsigned first = xhci_ring_put(r, st->type | st->request << 8 | (uint32_t)st->value << 16,
				       st->index | (uint32_t)st->length << 16, 8,
				       TRB_TYPE(TRB_SETUP) | TRB_IDT | trt << 16, true);
	xhci_put_pieces(s, r, p, (unsigned)np, s->mps[1],
			TRB_TYPE(TRB_DATA) | (in ? TRB_DIR_IN | TRB_ISP : 0), 0, lens + 1, false);
	/* the status stage goes the other way from the data, IN when there is none */
	xhci_ring_put(r, 0, 0, 0, TRB_TYPE(TRB_STATUS) | (trt == 3 ? 0 : TRB_DIR_IN) | TRB_IOC,
		      false);
	xhci_ring_commit(r, first);
	xhci_ring_doorbell(s->c, s->id, 1);
	int err = xhci_td_wait(s, 1, first, (unsigned)np + 2, lens, actual);
	if (in && !d->lost)
		xhci_unbounce(p, (unsigned)np, *actual);
	return err;
}

static int xhci_bulk(struct usb_dev *d, uint8_t ep, void *buf, size_t len, size_t *actual)
{
	struct xhci_slot *s = d->hc;
	unsigned dci = xhci_dci(ep);
	struct xhci_ring *r = &s->ep[dci];
	struct xhci_piece p[XHCI_MAX_PIECES];
	uint32_t lens[XHCI_MAX_PIECES];

	KASSERT(r->trbs != NULL);
	if (d->gone)
		return -ENODEV;
	if (s->c->broken || d->lost)
		return -EIO;
	bool in = ep & USB_DIR_IN;
	int np = xhci_pieces(s, buf, len, !in, p);
	if (np < 0)
		return np;
	xhci_ring_reserve(r, (unsigned)np);
	unsigned first = r->enq;
	xhci_put_pieces(s, r, p, (unsigned)np, s->mps[dci],
			TRB_TYPE(TRB_NORMAL) | (in ? TRB_ISP : 0), TRB_IOC, lens, true);
	xhci_ring_commit(r, first);
	xhci_ring_doorbell(s->c, s->id, dci);
	int err = xhci_td_wait(s, dci, first, (unsigned)np, lens, actual);
	if (in && !d->lost)
		xhci_unbounce(p, (unsigned)np, *actual);
	return err;
}

/* Endpoint context of dci in the input context, for a fresh ring. */
static void xhci_ep_ctx(struct xhci_slot *s, unsigned dci, unsigned type, uint16_t mps,
			uint8_t burst, uint16_t avg)
{
	uint32_t *ep = xhci_in(s, 1 + dci);
	struct xhci_ring *r = &s->ep[dci];
	paddr_t deq = r->pa + r->enq * sizeof(struct xhci_trb);

	memset(ep, 0, s->c->ctx_size);
	ep[1] = 3u << 1 | type << 3 | (uint32_t)burst << 8 | (uint32_t)mps << 16; /* CErr 3 */
	ep[2] = (uint32_t)deq | r->cycle;
	ep[3] = (uint32_t)(deq >> 32);
	ep[4] = avg;
	s->mps[dci] = mps;
}

/* Input context for Configure Endpoint: the current slot context, no endpoint yet. */
static uint32_t *xhci_in_from_out(struct xhci_slot *s)
{
	memset(s->in_ctx, 0, 33 * s->c->ctx_size);
	for (unsigned i = 0; i < 4; i++)
		xhci_in(s, 1)[i] = xhci_out(s, 0)[i];
	xhci_in(s, 1)[3] = 0; /* address and state are the controller's */
	xhci_in(s, 0)[1] = CTX_ADD_SLOT;
	return xhci_in(s, 1);
}

static int xhci_configure(struct usb_dev *d, const struct usb_ep *eps, unsigned n,
			  const struct usb_hub_info *hub)
{
	struct xhci_slot *s = d->hc;
	uint32_t *slot = xhci_in_from_out(s);
	unsigned last = slot[0] >> 27;
	struct xhci_trb ev;

	if (eps != s->eps) {
		s->neps = MIN(n, XHCI_SLOT_EPS);
		for (unsigned i = 0; i < s->neps; i++)
			s->eps[i] = eps[i];
	}

	for (unsigned i = 0; i < n; i++) {
		unsigned dci = xhci_dci(eps[i].addr);
		if ((eps[i].attr & 3) != USB_EP_XFER_BULK)
			continue; /* interrupt and isochronous endpoints are not used */
		if (s->ep[dci].trbs == NULL && xhci_ring_init(&s->ep[dci]) < 0)
			return -ENOMEM;
		xhci_ep_ctx(s, dci, eps[i].addr & USB_DIR_IN ? EP_TYPE_BULK_IN : EP_TYPE_BULK_OUT,
			    eps[i].max_packet, eps[i].max_burst, 3072);
		xhci_in(s, 0)[1] |= 1u << dci;
		last = MAX(last, dci);
	}
	slot[0] = (slot[0] & ~(0x1fu << 27)) | last << 27;
	if (hub != NULL) {
		s->hub = *hub;
		slot[0] |= 1u << 26 | (uint32_t)hub->multi_tt << 25;
		slot[1] = (slot[1] & 0x00ffffff) | (uint32_t)hub->ports << 24;
		slot[2] = (slot[2] & ~(3u << 16)) | (uint32_t)(hub->think_time & 3) << 16;
	}
	paddr_t in = vm_page_phys(s->in_page);
	return xhci_command(s->c, (uint32_t)in, (uint32_t)(in >> 32), 0,
			    TRB_TYPE(TRB_CONFIGURE_EP) | s->id << 24, &ev);
}

/*
 * After CLEAR_FEATURE(ENDPOINT_HALT) the device restarts its data toggle,
 * so the controller must too: a halted endpoint by Reset Endpoint, a
 * running one by being stopped, dropped and added afresh (4.6.6).
 */
static int xhci_reset_ep(struct usb_dev *d, uint8_t ep)
{
	struct xhci_slot *s = d->hc;
	unsigned dci = ep == 0 ? 1 : xhci_dci(ep);
	struct xhci_trb ev;

	KASSERT(s->ep[dci].trbs != NULL);
	if (s->c->broken)
		return -EIO;
	bool halted = (xhci_out(s, dci)[0] & 7) == EP_STATE_HALTED;
	int err = xhci_ep_recover(s, dci);
	if (err < 0 || halted || dci == 1)
		return err;
	unsigned type = (xhci_out(s, dci)[1] >> 3) & 7;
	uint8_t burst = (uint8_t)(xhci_out(s, dci)[1] >> 8);
	xhci_in_from_out(s);
	xhci_ep_ctx(s, dci, type, s->mps[dci], burst, 3072);
	xhci_in(s, 0)[0] = 1u << dci;
	xhci_in(s, 0)[1] |= 1u << dci;
	paddr_t in = vm_page_phys(s->in_page);
	return xhci_command(s->c, (uint32_t)in, (uint32_t)(in >> 32), 0,
			    TRB_TYPE(TRB_CONFIGURE_EP) | s->id << 24, &ev);
}

static int xhci_attach_child(struct usb_dev *hub, unsigned port, enum usb_speed speed,
			     struct usb_dev **child)
{
	struct xhci_slot *s = hub->hc;

	return xhci_slot_attach(s->c, s, port, speed, child);
}

static const struct usb_hc_ops xhci_usb_ops = {xhci_control, xhci_bulk, xhci_reset_ep,
					       xhci_configure, xhci_attach_child};

/* Where the slot sits: route string (8.9), root port, the translating hub. */
static int xhci_slot_place(struct xhci_slot *s, struct xhci_slot *parent, unsigned port,
			   enum usb_speed speed)
{
	s->parent = parent;
	s->port = (uint8_t)port;
	if (parent == NULL) {
		s->root_port = (uint8_t)port;
		ksnprintf(s->udev.name, sizeof(s->udev.name), "usb-%u", port);
		return 0;
	}
	/* a route string has five tiers of 4-bit port numbers */
	if (parent->udev.depth >= 5 || port > 15)
		return -ENODEV;
	s->udev.depth = parent->udev.depth + 1;
	s->route = parent->route | port << (4 * parent->udev.depth);
	s->root_port = parent->root_port;
	if ((speed == USB_SPEED_LOW || speed == USB_SPEED_FULL) &&
	    parent->udev.speed == USB_SPEED_HIGH) {
		s->tt_slot = (uint8_t)parent->id;
		s->tt_port = (uint8_t)port;
	} else {
		s->tt_slot = parent->tt_slot;
		s->tt_port = parent->tt_port;
	}
	ksnprintf(s->udev.name, sizeof(s->udev.name), "%s.%u", parent->udev.name, port);
	return 0;
}

/* Address Device (4.3.3-4.3.4), and endpoint 0's packet size for full speed. */
static int xhci_slot_address(struct xhci_slot *s)
{
	static const uint16_t mps0[] = {8, 8, 8, 64, 512, 512}; /* by speed until known */
	enum usb_speed speed = s->udev.speed;
	struct xhci_trb ev;
	paddr_t in = vm_page_phys(s->in_page);

	uint32_t *slot = xhci_in(s, 1);
	xhci_in(s, 0)[1] = CTX_ADD_SLOT | 1u << 1;
	/* the slot's speed is the port's protocol speed ID; behind a hub, the default IDs */
	uint32_t psiv = s->udev.depth == 0 ? s->c->root_psiv[s->root_port] : (uint32_t)speed;
	slot[0] = s->route | psiv << 20 | 1u << 27;
	slot[1] = (uint32_t)s->root_port << 16;
	slot[2] = s->tt_slot | (uint32_t)s->tt_port << 8;
	xhci_ep_ctx(s, 1, EP_TYPE_CONTROL, mps0[(unsigned)speed < 6 ? speed : 0], 0, 8);
	int err = xhci_command(s->c, (uint32_t)in, (uint32_t)(in >> 32), 0,
			       TRB_TYPE(TRB_ADDRESS_DEVICE) | s->id << 24, &ev);
	if (err < 0 || speed != USB_SPEED_FULL)
		return err;
	struct usb_setup st = {USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, USB_DESC_DEVICE << 8, 0, 8};
	size_t got;
	/* the SET_ADDRESS recovery interval, with room: see USB_ADDRESS_PAUSE_US in usb.c */
	blk_wait_delay(10000);
	if ((err = xhci_control(&s->udev, &st, s->udev.desc, &got)) < 0) {
		blk_wait_delay(10000);
		err = xhci_control(&s->udev, &st, s->udev.desc, &got);
	}
	if (err < 0)
		return err;
	uint8_t mps = s->udev.desc[7];
	if (got < 8 || (mps != 8 && mps != 16 && mps != 32 && mps != 64))
		return -EIO;
	if (mps == s->mps[1])
		return 0;
	memset(s->in_ctx, 0, 33 * s->c->ctx_size);
	xhci_in(s, 0)[1] = 1u << 1;
	xhci_ep_ctx(s, 1, EP_TYPE_CONTROL, mps, 0, 8);
	return xhci_command(s->c, (uint32_t)in, (uint32_t)(in >> 32), 0,
			    TRB_TYPE(TRB_EVALUATE_CTX) | s->id << 24, &ev);
}

/* Undoes a slot that never got addressed; kept when the controller may still use it. */
static void xhci_slot_free(struct xhci_slot *s)
{
	struct xhci_trb ev;

	if (s->c->broken ||
	    xhci_command(s->c, 0, 0, 0, TRB_TYPE(TRB_DISABLE_SLOT) | s->id << 24, &ev) < 0)
		return;
	s->c->dcbaa[s->id] = 0;
	s->c->slots[s->id] = NULL;
	for (unsigned i = 0; i < 32; i++)
		xhci_ring_free(&s->ep[i]);
	for (unsigned i = 0; i < XHCI_MAX_PIECES; i++)
		if (s->bounce[i] != NULL)
			vm_page_free(s->bounce[i]);
	if (s->in_page != NULL)
		vm_page_free(s->in_page);
	if (s->out_page != NULL)
		vm_page_free(s->out_page);
	DELETE(s);
}

int xhci_slot_attach(struct xhci_ctrl *c, struct xhci_slot *parent, unsigned port,
		     enum usb_speed speed, struct usb_dev **out)
{
	struct xhci_trb ev = {{0}};

	if (speed < USB_SPEED_FULL || speed > USB_SPEED_SUPER_PLUS)
		return -ENODEV;
	struct xhci_slot *s = NEW(struct xhci_slot);
	if (s == NULL)
		return -ENOMEM;
	*s = (struct xhci_slot){.c = c};
	s->udev = (struct usb_dev){.ops = &xhci_usb_ops, .hc = s, .speed = speed};
	int err = xhci_slot_place(s, parent, port, speed);
	if (err == 0)
		err = xhci_command(c, 0, 0, 0, TRB_TYPE(TRB_ENABLE_SLOT), &ev);
	s->id = ev.d[3] >> 24;
	if (err == 0 && (s->id == 0 || s->id > c->max_slots))
		err = -EIO;
	if (err < 0) {
		DELETE(s);
		return err;
	}
	c->slots[s->id] = s;
	s->in_page = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	s->out_page = vm_page_alloc(VM_ALLOC_ZERO | VM_ALLOC_DMA32);
	if (s->in_page == NULL || s->out_page == NULL || xhci_ring_init(&s->ep[1]) < 0) {
		err = -ENOMEM;
	} else {
		s->in_ctx = pmap_phys_to_virt(vm_page_phys(s->in_page));
		s->out_ctx = pmap_phys_to_virt(vm_page_phys(s->out_page));
		c->dcbaa[s->id] = vm_page_phys(s->out_page);
		err = xhci_slot_address(s);
	}
	if (err < 0) {
		xhci_slot_free(s);
		return err;
	}
	*out = &s->udev;
	return 0;
}
