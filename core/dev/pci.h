/*
 * pci: configuration space through ECAM (ACPI MCFG), or the legacy ports
 * 0xCF8/0xCFC where there is no MCFG; enumeration of bus 0.. devices, and
 * BARs mapped uncached for drivers.
 */
#ifndef PHOBOS_DEV_PCI_H
#define PHOBOS_DEV_PCI_H

#include "core/env.h"

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if;
};

void pci_init(void);
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
/* Calls fn for every function present; stops early when fn returns true. */
void pci_for_each(bool (*fn)(const struct pci_dev *d, void *ctx), void *ctx);
/* Enables memory decoding and bus mastering. */
void pci_enable(const struct pci_dev *d);
/*
 * The physical base of BAR n (64-bit BARs joined) and, in *size, how many
 * bytes it decodes (found by sizing); 0 if it is not a memory BAR.
 */
uint64_t pci_bar(const struct pci_dev *d, unsigned n, uint64_t *size);
/* Maps [pa, pa + size) uncached; returns the kernel address. */
void *pci_map(uint64_t pa, size_t size);

#endif
