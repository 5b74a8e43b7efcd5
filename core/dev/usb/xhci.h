/*
 * xhci: the USB 3 host controller (PCI class 0c/03/30), polled.
 *
 * xhci_probe takes every xHCI controller from the firmware (USB legacy
 * support capability), resets and starts it, resets each connected root
 * port and hands what it finds to usb_dev_attach (usb.h): mass storage
 * becomes blk disks "usb<N>", hubs are walked one level down or more.
 * A controller that fails is halted; one that will not halt has its
 * devices marked lost (usb.h), which takes their disks offline.
 */
#ifndef PHOBOS_DEV_USB_XHCI_H
#define PHOBOS_DEV_USB_XHCI_H

void xhci_probe(void);

#endif
