/*
 * usb: the transfer layer between a host controller driver (xhci.c) and
 * the class drivers (hub.c, usb_msc.c).
 *
 * A host controller gives every device it has addressed a struct usb_dev
 * and serves it through struct usb_hc_ops: control transfers on endpoint
 * 0, bulk transfers, the host side of clearing a halt, configuring the
 * endpoints of one interface, and addressing a device found behind a hub
 * port.  Class drivers see nothing else of the controller, so that they
 * run on the host against a simulated device (test/unit/test_usb_msc.c).
 *
 * Transfers are synchronous and polled; the controller bounds every wait.
 * Buffers are kernel virtual memory; the controller translates them.
 * Results: 0 (the transfer ended, *actual bytes moved, fewer than asked
 * for on a short packet), -EAGAIN (the endpoint stalled: it is halted
 * until usb_clear_halt; then the transfer may be retried), -EIO (a
 * transaction error or a device that is gone), -ETIMEDOUT (no completion
 * in time: the transfer was stopped, its buffer is free again), -EINVAL
 * (a buffer that is not mapped), -ENODEV (the device was unplugged: its
 * port lost the connection; dev->gone is set and every later transfer
 * fails at once).  When the controller cannot stop a transfer it sets
 * dev->lost: the buffer may still be written.  Either way the class
 * driver takes the device's disks offline (blk.h).
 *
 * usb_dev_attach reads a new device's descriptors and hands it to the
 * first class driver that takes one of its interfaces; the class driver
 * calls usb_configure with the endpoints it uses.
 *
 * Lock key: devices are found once at boot (c); one caller at a time.
 */
#ifndef PHOBOS_DEV_USB_USB_H
#define PHOBOS_DEV_USB_USB_H

#include "core/env.h"

/* Standard requests and descriptor types (USB 2.0, 9.4 and 9.6). */
#define USB_REQ_GET_STATUS 0
#define USB_REQ_CLEAR_FEATURE 1
#define USB_REQ_SET_FEATURE 3
#define USB_REQ_GET_DESCRIPTOR 6
#define USB_REQ_SET_CONFIGURATION 9
#define USB_REQ_SET_INTERFACE 11
#define USB_DESC_DEVICE 1
#define USB_DESC_CONFIG 2
#define USB_DESC_INTERFACE 4
#define USB_DESC_ENDPOINT 5
#define USB_FEATURE_ENDPOINT_HALT 0
/* bmRequestType: direction, type, recipient */
#define USB_DIR_IN 0x80
#define USB_TYPE_CLASS 0x20
#define USB_RECIP_INTERFACE 0x01
#define USB_RECIP_ENDPOINT 0x02
#define USB_RECIP_OTHER 0x03

#define USB_EP_XFER_BULK 2
#define USB_CONFIG_MAX 512	   /* bytes of the configuration descriptor kept */
#define USB_MAX_XFER (128u * 1024) /* bytes per bulk or control transfer */

enum usb_speed {
	USB_SPEED_FULL = 1,
	USB_SPEED_LOW = 2,
	USB_SPEED_HIGH = 3,
	USB_SPEED_SUPER = 4,
	USB_SPEED_SUPER_PLUS = 5
};

struct usb_setup {
	uint8_t type, request;
	uint16_t value, index, length;
};

/* An endpoint a class driver uses, from its endpoint descriptor. */
struct usb_ep {
	uint8_t addr; /* number, bit 7 set for IN */
	uint8_t attr; /* transfer type in bits 1:0 */
	uint16_t max_packet;
	uint8_t max_burst; /* SuperSpeed companion descriptor, else 0 */
};

/* What the host controller must know of a hub to route through it. */
struct usb_hub_info {
	uint8_t ports;
	uint8_t think_time; /* TT think time, in units of 8 FS bit times, minus 1 */
	bool multi_tt;
};

struct usb_dev;

struct usb_hc_ops {
	/*
	 * One control transfer on endpoint 0: setup, data of setup->length
	 * bytes, status.  A stall (-EAGAIN) leaves endpoint 0 usable: on a
	 * control pipe it ends with the next setup (USB 2.0 8.5.3.4).
	 */
	int (*control)(struct usb_dev *d, const struct usb_setup *s, void *data, size_t *actual);
	/* One bulk transfer of len bytes on endpoint ep (usb_configure'd). */
	int (*bulk)(struct usb_dev *d, uint8_t ep, void *buf, size_t len, size_t *actual);
	/* The host side of a halted endpoint: ready again, data toggle reset. */
	int (*reset_ep)(struct usb_dev *d, uint8_t ep);
	/* Makes eps usable, and for a hub records hub (NULL otherwise). */
	int (*configure)(struct usb_dev *d, const struct usb_ep *eps, unsigned n,
			 const struct usb_hub_info *hub);
	/* Addresses the device reset on port (1-based) of hub d; *child on success. */
	int (*attach_child)(struct usb_dev *hub, unsigned port, enum usb_speed speed,
			    struct usb_dev **child);
};

struct usb_dev {
	const struct usb_hc_ops *ops; /* (c) */
	void *hc;		      /* (c) the controller's data of this device */
	char name[24];		      /* (c) "usb-3" root port 3, "usb-3.1" port 1 of a hub there */
	enum usb_speed speed;	      /* (c) */
	unsigned depth;		      /* (c) hubs between it and the root port */
	uint8_t desc[18];	      /* (c) device descriptor */
	uint8_t config[USB_CONFIG_MAX]; /* (c) configuration descriptor, truncated */
	size_t config_len;
	bool lost; /* set by the controller: a transfer it could not stop holds a buffer */
	bool gone; /* set by the controller: the port says the device was unplugged */
};

/* Checked entry points of ops; see the top for the results. */
int usb_control(struct usb_dev *d, const struct usb_setup *s, void *data, size_t *actual);
int usb_bulk(struct usb_dev *d, uint8_t ep, void *buf, size_t len, size_t *actual);
/* CLEAR_FEATURE(ENDPOINT_HALT) on ep and the host side's reset of it. */
int usb_clear_halt(struct usb_dev *d, uint8_t ep);
/* Configures eps and sends SET_CONFIGURATION for the device's configuration. */
int usb_configure(struct usb_dev *d, const struct usb_ep *eps, unsigned n,
		  const struct usb_hub_info *hub);

/*
 * Descriptors: the next descriptor of type in the configuration after the
 * one at *off (start with *off = 0), or NULL; stops at the next interface
 * descriptor when type is USB_DESC_ENDPOINT.
 */
const uint8_t *usb_config_next(const struct usb_dev *d, size_t *off, uint8_t type);
/* The endpoint descriptors of the interface at iface_off, at most max; returns how many. */
unsigned usb_interface_eps(const struct usb_dev *d, size_t iface_off, struct usb_ep *eps,
			   unsigned max);

/*
 * A new device, addressed by its controller: reads its descriptors and
 * gives it to a class driver.  0 when some driver took it; -ENODEV when
 * none wants it; other errors from the transfers.
 */
int usb_dev_attach(struct usb_dev *d);

/* Class drivers: each returns -ENODEV when the interface is not its kind. */
int usb_hub_attach(struct usb_dev *d, size_t iface_off);
/* The number of the hub interface at iface_off when the hub has one TT
 * per port (bDeviceProtocol 2) and the interface an alternate setting 1
 * with protocol 2 that turns them on (USB 2.0, 11.23.1); else -1. */
int usb_hub_multi_tt_iface(const struct usb_dev *d, size_t iface_off);
int usb_msc_attach(struct usb_dev *d, size_t iface_off);
/*
 * For the host controller's recovery of a device behind a hub: whether
 * port of hub has a device connected (1, 0, or an error), and a reset of
 * that port which waits for its end.
 */
int usb_hub_port_present(struct usb_dev *hub, unsigned port);
int usb_hub_port_reset(struct usb_dev *hub, unsigned port);

#endif
