/*
 * usb_port: the boot-time watch over the ports of a root hub or a hub;
 * see usb_port.h.
 */
#include "core/dev/blk_wait.h"
#include "core/dev/usb/usb_port.h"
#include "core/mm/malloc.h"

enum usb_port_state {
	PORT_EMPTY,    /* nothing connected, or not yet */
	PORT_DEBOUNCE, /* connected since .since; reset once that has held */
	PORT_DONE,     /* a device was reset and attached */
	PORT_FAILED    /* given up, or not readable */
};

struct usb_port_track {
	enum usb_port_state state;
	uint64_t since;
	unsigned resets, warm_resets;
	bool training; /* a USB 3 link was seen in Polling, with no connect yet */
};

struct usb_port_scan_state {
	const struct usb_port_ops *ops;
	void *ctx;
	const char *name;
	uint64_t quiet_until; /* no end before this: something unusual happened */
	unsigned attached;
	struct usb_port_track t[USB_PORT_MAX + 1];
};

static void usb_port_unusual(struct usb_port_scan_state *s)
{
	s->quiet_until = clock_us() + USB_PORT_QUIET_US;
}

/* SS.Inactive and Compliance leave only by a warm reset (USB 3.2 7.5.2, 7.5.5). */
static bool usb_port_stuck(const struct usb_port_view *v)
{
	return v->super && (v->link == USB_LINK_INACTIVE || v->link == USB_LINK_COMPLIANCE);
}

/* A warm reset of a stuck link; the port fails once it stays stuck after the last one. */
static void usb_port_warm_reset(struct usb_port_scan_state *s, unsigned p, uint8_t link)
{
	struct usb_port_track *t = &s->t[p];
	enum usb_speed speed;

	usb_port_unusual(s);
	if (t->warm_resets == USB_PORT_WARM_RESETS) {
		log_error("usb: %s port %u: link stays in %s after %u warm resets", s->name, p,
			  link == USB_LINK_INACTIVE ? "SS.Inactive" : "Compliance", t->warm_resets);
		t->state = PORT_FAILED;
		return;
	}
	t->warm_resets++;
	t->state = PORT_EMPTY;
	log_info("usb: %s port %u: link in %s, warm reset", s->name, p,
		 link == USB_LINK_INACTIVE ? "SS.Inactive" : "Compliance");
	int err = s->ops->reset(s->ctx, p, true, &speed);
	if (err < 0)
		log_error("usb: %s port %u: warm reset: %s", s->name, p, err_name(err));
}

/* The debounced device on p: reset, tried again later when that fails, then attached. */
static void usb_port_reset_attach(struct usb_port_scan_state *s, unsigned p)
{
	struct usb_port_track *t = &s->t[p];
	enum usb_speed speed;
	int err = s->ops->reset(s->ctx, p, false, &speed);

	if (err == 0) {
		t->state = PORT_DONE;
		s->attached++;
		s->ops->attach(s->ctx, p, speed);
		return;
	}
	usb_port_unusual(s);
	if (++t->resets == USB_PORT_RESETS) {
		log_error("usb: %s port %u: device not usable: reset failed %u times (%s)", s->name,
			  p, t->resets, err_name(err));
		t->state = PORT_FAILED;
		return;
	}
	log_info("usb: %s port %u: reset failed (%s), trying again", s->name, p, err_name(err));
	t->since = clock_us();
}

/* One look at port p, acting on what it shows; true when it has settled. */
static bool usb_port_poll(struct usb_port_scan_state *s, unsigned p)
{
	struct usb_port_track *t = &s->t[p];
	struct usb_port_view v;

	if (t->state == PORT_DONE || t->state == PORT_FAILED)
		return true;
	int err = s->ops->status(s->ctx, p, &v);
	if (err < 0) {
		log_error("usb: %s port %u: status unreadable: %s", s->name, p, err_name(err));
		t->state = PORT_FAILED;
		return true;
	}
	if (usb_port_stuck(&v)) {
		usb_port_warm_reset(s, p, v.link);
		return t->state == PORT_FAILED;
	}
	if (!v.connected) {
		bool polling = v.super && v.link == USB_LINK_POLLING;
		/* a connect dropped, or a link gave up: a USB 2 connect may follow */
		if (t->state == PORT_DEBOUNCE || (t->training && !polling)) {
			t->state = PORT_EMPTY;
			usb_port_unusual(s);
		}
		t->training = polling;
		return !polling;
	}
	if (t->state == PORT_EMPTY) {
		t->state = PORT_DEBOUNCE;
		t->since = clock_us();
		return false;
	}
	if (clock_us() - t->since < USB_PORT_DEBOUNCE_US)
		return false;
	usb_port_reset_attach(s, p);
	return t->state != PORT_DEBOUNCE;
}

unsigned usb_port_scan(const struct usb_port_ops *ops, void *ctx, const char *name, unsigned nports,
		       uint64_t min_us)
{
	struct usb_port_scan_state *s = NEW(struct usb_port_scan_state);
	uint64_t start = clock_us();

	KASSERT(nports <= USB_PORT_MAX);
	if (s == NULL)
		return 0;
	*s = (struct usb_port_scan_state){.ops = ops, .ctx = ctx, .name = name};
	for (;;) {
		bool settled = true, connecting = false;
		for (unsigned p = 1; p <= nports; p++) {
			settled &= usb_port_poll(s, p);
			connecting |= s->t[p].state == PORT_DEBOUNCE;
		}
		uint64_t now = clock_us(), elapsed = now - start;
		if (settled && elapsed >= min_us && now >= s->quiet_until)
			break;
		if ((elapsed >= USB_PORT_DEADLINE_US && !connecting) ||
		    elapsed >= 2 * USB_PORT_DEADLINE_US) {
			log_info("usb: %s: ports still changing after %llu ms: left", name,
				 (unsigned long long)(elapsed / 1000));
			break;
		}
		blk_wait_delay(USB_PORT_POLL_US);
	}
	unsigned attached = s->attached;
	DELETE(s);
	return attached;
}
