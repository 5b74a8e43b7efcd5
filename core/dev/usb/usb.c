/*
 * usb: the checked entry points of the host controller ops, configuration
 * descriptor walking and the hand-off of a new device to its class
 * driver; see usb.h.  Layouts follow USB 2.0 chapter 9 and USB 3.2 9.6.7
 * (the SuperSpeed endpoint companion).
 */
#include "core/dev/blk_wait.h"
#include "core/dev/usb/usb.h"

/*
 * A device just addressed gets 2 ms before its next request (USB 2.0
 * 9.2.6.3); sticks are known to need more, and to fail the first request
 * now and then: each try of the device descriptor waits first.
 */
#define USB_ADDRESS_PAUSE_US 10000
#define USB_DESC_TRIES 3

int usb_control(struct usb_dev *d, const struct usb_setup *s, void *data, size_t *actual)
{
	size_t got = 0;

	KASSERT(s->length == 0 || data != NULL);
	int err = d->ops->control(d, s, data, &got);
	KASSERT(got <= s->length);
	if (actual != NULL)
		*actual = got;
	return err;
}

int usb_bulk(struct usb_dev *d, uint8_t ep, void *buf, size_t len, size_t *actual)
{
	size_t got = 0;

	KASSERT(len > 0 && len <= USB_MAX_XFER && buf != NULL && (ep & 0x0f) != 0);
	int err = d->ops->bulk(d, ep, buf, len, &got);
	KASSERT(got <= len);
	*actual = got;
	return err;
}

int usb_clear_halt(struct usb_dev *d, uint8_t ep)
{
	struct usb_setup s = {USB_RECIP_ENDPOINT, USB_REQ_CLEAR_FEATURE, USB_FEATURE_ENDPOINT_HALT,
			      ep, 0};
	int err = usb_control(d, &s, NULL, NULL);

	/* the host side is reset even when the request failed: its toggle must restart */
	int e = d->ops->reset_ep(d, ep);
	return err < 0 ? err : e;
}

int usb_configure(struct usb_dev *d, const struct usb_ep *eps, unsigned n,
		  const struct usb_hub_info *hub)
{
	struct usb_setup s = {0, USB_REQ_SET_CONFIGURATION, d->config[5], 0, 0};
	int err = d->ops->configure(d, eps, n, hub);

	return err < 0 ? err : usb_control(d, &s, NULL, NULL);
}

const uint8_t *usb_config_next(const struct usb_dev *d, size_t *off, uint8_t type)
{
	size_t o = *off;

	/* each descriptor starts with its length; a length under 2 would never advance */
	if (o != 0 && o + 2 <= d->config_len && d->config[o] >= 2)
		o += d->config[o];
	for (; o + 2 <= d->config_len && d->config[o] >= 2 && o + d->config[o] <= d->config_len;
	     o += d->config[o]) {
		uint8_t t = d->config[o + 1];
		if (t == type) {
			*off = o;
			return d->config + o;
		}
		if (type == USB_DESC_ENDPOINT && t == USB_DESC_INTERFACE)
			break;
	}
	return NULL;
}

unsigned usb_interface_eps(const struct usb_dev *d, size_t iface_off, struct usb_ep *eps,
			   unsigned max)
{
	size_t off = iface_off;
	unsigned n = 0;
	const uint8_t *e;

	while (n < max && (e = usb_config_next(d, &off, USB_DESC_ENDPOINT)) != NULL) {
		if (e[0] < 7)
			continue;
		eps[n] = (struct usb_ep){e[2], e[3], (uint16_t)((e[4] | e[5] << 8) & 0x7ff), 0};
		/* the SuperSpeed companion (type 0x30) follows its endpoint directly */
		size_t c = off + e[0];
		if (c + 3 <= d->config_len && d->config[c] >= 3 && d->config[c + 1] == 0x30)
			eps[n].max_burst = d->config[c + 2];
		n++;
	}
	return n;
}

static int usb_get_descriptor(struct usb_dev *d, uint8_t type, void *buf, uint16_t len, size_t *got)
{
	struct usb_setup s = {USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, (uint16_t)(type << 8), 0, len};

	return usb_control(d, &s, buf, got);
}

/* The device descriptor of a device just addressed: see USB_ADDRESS_PAUSE_US. */
static int usb_read_device_desc(struct usb_dev *d)
{
	int err = 0;
	size_t got;

	for (unsigned t = 0; t < USB_DESC_TRIES && !d->lost && !d->gone; t++) {
		blk_wait_delay(USB_ADDRESS_PAUSE_US);
		err = usb_get_descriptor(d, USB_DESC_DEVICE, d->desc, sizeof(d->desc), &got);
		if (err == 0 && (got < sizeof(d->desc) || d->desc[1] != USB_DESC_DEVICE))
			err = -EIO;
		if (err == 0)
			break;
	}
	return err;
}

/* The device descriptor and the first configuration, whole or truncated to USB_CONFIG_MAX. */
static int usb_read_descriptors(struct usb_dev *d)
{
	size_t got;
	int err = usb_read_device_desc(d);

	if (err < 0)
		return err;
	if ((err = usb_get_descriptor(d, USB_DESC_CONFIG, d->config, 9, &got)) < 0)
		return err;
	if (got < 9 || d->config[1] != USB_DESC_CONFIG)
		return -EIO;
	uint16_t total = (uint16_t)(d->config[2] | d->config[3] << 8);
	total = MIN(total, (uint16_t)USB_CONFIG_MAX);
	if ((err = usb_get_descriptor(d, USB_DESC_CONFIG, d->config, total, &got)) < 0)
		return err;
	d->config_len = got;
	return 0;
}

int usb_dev_attach(struct usb_dev *d)
{
	int err = usb_read_descriptors(d);

	if (err < 0) {
		log_error("usb: %s: descriptors unreadable: %s", d->name, err_name(err));
		return err;
	}
	log_info("usb: %s: device %04x:%04x, class %u, %u interface(s)", d->name,
		 d->desc[8] | d->desc[9] << 8, d->desc[10] | d->desc[11] << 8, d->desc[4],
		 d->config[4]);
	size_t off = 0;
	while (usb_config_next(d, &off, USB_DESC_INTERFACE) != NULL) {
		/* only the default setting of each interface */
		if (d->config[off] < 9 || d->config[off + 3] != 0)
			continue;
		err = usb_hub_attach(d, off);
		if (err == -ENODEV)
			err = usb_msc_attach(d, off);
		if (err != -ENODEV)
			return err;
	}
	log_info("usb: %s: no driver for this device", d->name);
	return -ENODEV;
}
