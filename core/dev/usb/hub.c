/*
 * hub: USB hubs (USB 2.0 chapter 11, USB 3.2 chapter 10), walked once at
 * boot.  The hub's descriptor tells the host controller what it must know
 * to route through it (ports, transaction translator); then each port is
 * powered and watched as root ports are (usb_port.h): debounced, reset
 * (again when that fails), warm-reset when a USB 3 link is stuck, and
 * the device handed to usb_dev_attach, which may find another hub behind
 * it.  Ports are read with GET_STATUS, so the status-change endpoint is
 * never used.  Route strings reach ports 1-15 only.
 */
#include "core/dev/blk_wait.h"
#include "core/dev/usb/usb.h"
#include "core/dev/usb/usb_port.h"

#define HUB_DESC_USB2 0x29
#define HUB_DESC_USB3 0x2a
#define HUB_REQ_SET_DEPTH 12
#define HUB_PORT_RESET 4
#define HUB_PORT_POWER 8
#define HUB_C_PORT_CONNECTION 16
#define HUB_C_PORT_RESET 20
#define HUB_ST_CONNECTION (1u << 0)
#define HUB_ST_ENABLE (1u << 1)
#define HUB_ST_RESET (1u << 4)
#define HUB_ST_LOW_SPEED (1u << 9)
#define HUB_ST_HIGH_SPEED (1u << 10)
#define HUB_CH_RESET (1u << 4) /* in wPortChange, the upper half of the status */
#define HUB_BH_PORT_RESET 28   /* USB 3 hubs only, as the two below */
#define HUB_C_BH_PORT_RESET 29
#define HUB_ST_LINK(st) ((st) >> 5 & 0xf)
#define HUB_CH_BH_RESET (1u << 5)
#define HUB_RESET_US 500000

static int hub_port_feature(struct usb_dev *d, uint8_t request, uint16_t feature, unsigned port)
{
	struct usb_setup s = {USB_TYPE_CLASS | USB_RECIP_OTHER, request, feature, (uint16_t)port,
			      0};

	return usb_control(d, &s, NULL, NULL);
}

/* wPortStatus in bits 15:0, wPortChange in 31:16. */
static int hub_port_status(struct usb_dev *d, unsigned port, uint32_t *st)
{
	struct usb_setup s = {USB_DIR_IN | USB_TYPE_CLASS | USB_RECIP_OTHER, USB_REQ_GET_STATUS, 0,
			      (uint16_t)port, 4};
	uint8_t b[4];
	size_t got;
	int err = usb_control(d, &s, b, &got);

	if (err == 0 && got != 4)
		err = -EIO;
	*st = b[0] | b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return err;
}

/* A hub and whether it is a USB 3 one: the context of its usb_port_ops. */
struct hub {
	struct usb_dev *d;
	bool super;
};

static int hub_port_view(void *ctx, unsigned port, struct usb_port_view *v)
{
	struct hub *h = ctx;
	uint32_t st;
	int err = hub_port_status(h->d, port, &st);

	if (err == 0)
		*v = (struct usb_port_view){st & HUB_ST_CONNECTION, h->super,
					    (uint8_t)HUB_ST_LINK(st)};
	return err;
}

/*
 * Resets port (a warm reset, BH_PORT_RESET, retrains a USB 3 link) and
 * waits until the hub says it is done; a hot reset gives the speed.
 */
static int hub_port_reset(void *ctx, unsigned port, bool warm, enum usb_speed *speed)
{
	struct hub *h = ctx;
	uint32_t done = warm ? (HUB_CH_RESET | HUB_CH_BH_RESET) << 16 : HUB_CH_RESET << 16;
	struct blk_wait w;
	uint32_t st = 0;
	int err = hub_port_feature(h->d, USB_REQ_SET_FEATURE,
				   warm ? HUB_BH_PORT_RESET : HUB_PORT_RESET, port);

	for (blk_wait_start(&w, HUB_RESET_US); err == 0;) {
		if ((err = hub_port_status(h->d, port, &st)) < 0)
			break;
		if (!(st & HUB_ST_RESET) && (st & done))
			break;
		if (blk_wait_expired(&w))
			err = -ETIMEDOUT;
	}
	hub_port_feature(h->d, USB_REQ_CLEAR_FEATURE, HUB_C_PORT_RESET, port);
	if (h->super)
		hub_port_feature(h->d, USB_REQ_CLEAR_FEATURE, HUB_C_BH_PORT_RESET, port);
	hub_port_feature(h->d, USB_REQ_CLEAR_FEATURE, HUB_C_PORT_CONNECTION, port);
	if (err < 0 || warm)
		return err;
	if (!(st & HUB_ST_ENABLE))
		return -EIO;
	/* a USB 3 hub's ports carry SuperSpeed only; a USB 2 hub says LS or HS, else FS */
	*speed = h->super		  ? USB_SPEED_SUPER
		 : st & HUB_ST_LOW_SPEED  ? USB_SPEED_LOW
		 : st & HUB_ST_HIGH_SPEED ? USB_SPEED_HIGH
					  : USB_SPEED_FULL;
	blk_wait_delay(10000); /* reset recovery, TRSTRCY (USB 2.0 7.1.7.5) */
	return 0;
}

/* The device just reset on port: addressed, and given to its driver. */
static void hub_port_attach(void *ctx, unsigned port, enum usb_speed speed)
{
	struct hub *h = ctx;
	struct usb_dev *child;
	int err = h->d->ops->attach_child(h->d, port, speed, &child);

	if (err < 0) {
		log_error("usb_hub: %s port %u: device not usable: %s", h->d->name, port,
			  err_name(err));
		return;
	}
	log_info("usb_hub: %s: port %u of hub %s, %s speed", child->name, port, h->d->name,
		 speed == USB_SPEED_LOW	   ? "low"
		 : speed == USB_SPEED_FULL ? "full"
		 : speed == USB_SPEED_HIGH ? "high"
					   : "super");
	usb_dev_attach(child);
}

static const struct usb_port_ops hub_port_ops = {hub_port_view, hub_port_reset, hub_port_attach};

int usb_hub_port_present(struct usb_dev *hub, unsigned port)
{
	uint32_t st;
	int err = hub_port_status(hub, port, &st);

	return err < 0 ? err : (st & HUB_ST_CONNECTION) != 0;
}

int usb_hub_port_reset(struct usb_dev *hub, unsigned port)
{
	struct hub h = {hub, hub->speed >= USB_SPEED_SUPER};
	enum usb_speed speed;

	return hub_port_reset(&h, port, false, &speed);
}

int usb_hub_multi_tt_iface(const struct usb_dev *d, size_t iface_off)
{
	size_t off = iface_off;
	const uint8_t *alt;

	if (d->desc[6] != 2)
		return -1;
	while ((alt = usb_config_next(d, &off, USB_DESC_INTERFACE)) != NULL)
		if (alt[0] >= 9 && alt[2] == d->config[iface_off + 2] && alt[3] == 1 && alt[7] == 2)
			return alt[2];
	return -1;
}

int usb_hub_attach(struct usb_dev *d, size_t iface_off)
{
	bool super = d->speed >= USB_SPEED_SUPER;
	uint8_t desc[32];
	size_t got;

	if (d->config[iface_off + 5] != 9)
		return -ENODEV;
	struct usb_setup s = {USB_DIR_IN | USB_TYPE_CLASS, USB_REQ_GET_DESCRIPTOR,
			      (super ? HUB_DESC_USB3 : HUB_DESC_USB2) << 8, 0, sizeof(desc)};
	int err = usb_control(d, &s, desc, &got);
	if (err == 0 && (got < 7 || desc[2] == 0))
		err = -EIO;
	/* wHubCharacteristics bits 6:5: TT think time.  A multi-TT hub runs
	 * one TT for all its ports until its alternate setting is chosen */
	int mtt = usb_hub_multi_tt_iface(d, iface_off);
	struct usb_hub_info info = {desc[2], (uint8_t)(desc[3] >> 5 & 3), mtt >= 0};
	if (err == 0)
		err = usb_configure(d, NULL, 0, &info);
	struct usb_setup alt = {USB_RECIP_INTERFACE, USB_REQ_SET_INTERFACE, 1, (uint16_t)mtt, 0};
	if (err == 0 && mtt >= 0 && usb_control(d, &alt, NULL, NULL) < 0)
		log_error("usb_hub: %s: its one-TT-per-port setting refused: full- and low-speed "
			  "devices behind it may see split transactions go wrong",
			  d->name);
	struct usb_setup depth = {USB_TYPE_CLASS, HUB_REQ_SET_DEPTH, (uint16_t)d->depth, 0, 0};
	if (err == 0 && super)
		err = usb_control(d, &depth, NULL, NULL);
	if (err < 0) {
		log_error("usb_hub: %s: not usable: %s", d->name, err_name(err));
		return err;
	}
	log_info("usb_hub: %s: %u ports%s", d->name, info.ports, super ? ", USB 3" : "");
	for (unsigned p = 1; p <= info.ports; p++)
		hub_port_feature(d, USB_REQ_SET_FEATURE, HUB_PORT_POWER, p);
	/* bPwrOn2PwrGood counts 2 ms: no port counts as empty before */
	struct hub h = {d, super};
	usb_port_scan(&hub_port_ops, &h, d->name, MIN(info.ports, 15u), desc[5] * 2000ull);
	return 0;
}
