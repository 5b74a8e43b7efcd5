/*
 * usb_port: how the ports of a root hub or a hub are watched at boot,
 * the same for both, over a small door to the port registers (struct
 * usb_port_ops) so that it runs on the host against simulated ports
 * (test/unit/test_usb_port.c).
 *
 * usb_port_scan polls every port until each one has settled or the
 * deadline passed:
 *  - a connect counts once it has held for USB_PORT_DEBOUNCE_US (USB 2.0
 *    7.1.7.3); one that drops during that time starts over;
 *  - a debounced port is reset; a reset that fails is tried again after
 *    another debounce, USB_PORT_RESETS times in all; then the device is
 *    attached (ops->attach);
 *  - a USB 3 port whose link is stuck in SS.Inactive or Compliance gets a
 *    warm reset, USB_PORT_WARM_RESETS times at most; one still training
 *    (Polling) is waited for;
 *  - an empty port is settled, but after anything unusual on any port (a
 *    link that failed to train, a connect that dropped, a failed reset)
 *    the scan goes on for USB_PORT_QUIET_US more: a USB 3 stick that gives
 *    up on SuperSpeed shows up on its USB 2 port only then.
 * The scan returns as soon as every port has settled and min_us has
 * passed since it began (ports just powered may not show a connect at
 * once), so a stick present from the start costs the debounce only.
 * Ports still training at deadline_us are left; a connect that has not
 * finished by twice that is left too.
 *
 * Lock key: runs at boot, one caller at a time (c).
 */
#ifndef PHOBOS_DEV_USB_USB_PORT_H
#define PHOBOS_DEV_USB_USB_PORT_H

#include "core/dev/usb/usb.h"

#define USB_PORT_DEBOUNCE_US 100000
#define USB_PORT_POLL_US 10000
#define USB_PORT_QUIET_US 1000000
#define USB_PORT_DEADLINE_US 3000000
#define USB_PORT_RESETS 3
#define USB_PORT_WARM_RESETS 2
#define USB_PORT_MAX 64

/* USB 3 link states, as xHCI PORTSC.PLS and a USB 3 hub's wPortStatus carry them. */
#define USB_LINK_U0 0
#define USB_LINK_DISABLED 4
#define USB_LINK_RX_DETECT 5
#define USB_LINK_INACTIVE 6
#define USB_LINK_POLLING 7
#define USB_LINK_COMPLIANCE 10

/* One look at a port. */
struct usb_port_view {
	bool connected;
	bool super; /* a USB 3 port: link is meaningful */
	uint8_t link;
};

struct usb_port_ops {
	/* The port's state now; an error leaves the port alone for good. */
	int (*status)(void *ctx, unsigned port, struct usb_port_view *v);
	/*
	 * A reset (warm: a USB 3 warm reset, which retrains the link) that
	 * waits for its end.  A hot reset returns 0 only with the port
	 * enabled and the device's *speed.
	 */
	int (*reset)(void *ctx, unsigned port, bool warm, enum usb_speed *speed);
	/* The device just reset on port: addressed and handed to its driver. */
	void (*attach)(void *ctx, unsigned port, enum usb_speed speed);
};

/*
 * Watches ports 1..nports (at most USB_PORT_MAX) as said at the top; name
 * labels the log lines.  Returns how many devices were attached.
 */
unsigned usb_port_scan(const struct usb_port_ops *ops, void *ctx, const char *name, unsigned nports,
		       uint64_t min_us);

#endif
