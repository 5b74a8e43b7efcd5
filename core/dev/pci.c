/*
 * pci: see pci.h.  ECAM places function (b, d, f) at base + (b << 20 |
 * d << 15 | f << 12); the legacy mechanism writes that tuple to 0xCF8 and
 * moves data through 0xCFC.
 */
#include "core/acpi.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/pte.h"
#include "core/dev/pci.h"
#include "core/mm/pmap.h"

static volatile uint8_t *pci_ecam;
static uint8_t pci_bus_end = 255;

/* Device memory goes into the direct map, uncached, with the largest
 * pages its alignment allows; a range already mapped is left alone. */
void *pci_map(uint64_t pa, size_t size)
{
	uint64_t base = ALIGN_DOWN(pa, PAGE_SIZE), end = ALIGN_UP(pa + size, PAGE_SIZE);
	paddr_t mapped;

	if (!pmap_extract(pmap_kernel(), DIRECT_MAP_BASE + base, &mapped))
		pmap_boot_map(DIRECT_MAP_BASE + base, base, end - base, PTE_W | PTE_NX | PTE_PCD | PTE_PWT);
	return (void *)(DIRECT_MAP_BASE + pa);
}

void pci_init(void)
{
	const uint8_t *mcfg = (const uint8_t *)acpi_find("MCFG", 0);

	/* MCFG: 44-byte header, then 16-byte entries: base, segment, first and last bus */
	if (mcfg != NULL && ((const struct acpi_header *)mcfg)->length >= 44 + 16) {
		uint64_t base;
		memcpy(&base, mcfg + 44, 8);
		uint8_t first = mcfg[44 + 10], last = mcfg[44 + 11];
		if (first == 0 && base != 0) {
			pci_bus_end = last;
			pci_ecam = pci_map(base, ((size_t)last + 1) << 20);
			log_info("pci: ECAM at %llx, buses 0-%u", (unsigned long long)base, last);
			return;
		}
	}
	log_info("pci: no MCFG, using the legacy configuration ports");
}

static uint32_t pci_legacy_addr(const struct pci_dev *d, unsigned off)
{
	return 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 | (uint32_t)d->fn << 8 |
	       (off & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	if (pci_ecam != NULL)
		return *(volatile uint32_t *)(pci_ecam + ((uint64_t)d->bus << 20 | (uint64_t)d->dev << 15 |
							  (uint64_t)d->fn << 12 | off));
	outl(0xcf8, pci_legacy_addr(d, off));
	return inl(0xcfc);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	if (pci_ecam != NULL) {
		*(volatile uint32_t *)(pci_ecam + ((uint64_t)d->bus << 20 | (uint64_t)d->dev << 15 |
						   (uint64_t)d->fn << 12 | off)) = v;
		return;
	}
	outl(0xcf8, pci_legacy_addr(d, off));
	outl(0xcfc, v);
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return (uint8_t)(pci_read32(d, off & ~3u) >> (8 * (off & 3)));
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(pci_read32(d, off & ~3u) >> (8 * (off & 2)));
}

void pci_for_each(bool (*fn)(const struct pci_dev *d, void *ctx), void *ctx)
{
	for (unsigned bus = 0; bus <= pci_bus_end; bus++)
		for (uint8_t dev = 0; dev < 32; dev++)
			for (uint8_t f = 0; f < 8; f++) {
				struct pci_dev d = {(uint8_t)bus, dev, f, 0, 0, 0, 0, 0};
				uint32_t id = pci_read32(&d, 0);
				if ((id & 0xffff) == 0xffff) {
					if (f == 0)
						break;
					continue;
				}
				d.vendor = (uint16_t)id;
				d.device = (uint16_t)(id >> 16);
				uint32_t cls = pci_read32(&d, 8);
				d.class_code = (uint8_t)(cls >> 24);
				d.subclass = (uint8_t)(cls >> 16);
				d.prog_if = (uint8_t)(cls >> 8);
				if (fn(&d, ctx))
					return;
				/* single-function devices answer on every function number */
				if (f == 0 && !(pci_read8(&d, 0x0e) & 0x80))
					break;
			}
}

void pci_enable(const struct pci_dev *d)
{
	uint32_t cmd = pci_read32(d, 4);

	pci_write32(d, 4, (cmd & 0xffff) | 0x6); /* memory space, bus master */
}

uint64_t pci_bar(const struct pci_dev *d, unsigned n, uint64_t *size)
{
	unsigned off = 0x10 + 4 * n;
	uint32_t lo = pci_read32(d, off);
	bool wide = ((lo >> 1) & 3) == 2;

	*size = 0;
	if ((lo & 1) || n > 5 || (wide && n == 5))
		return 0; /* an I/O BAR, or no BAR */
	uint32_t hi = wide ? pci_read32(d, off + 4) : 0;
	/* sizing: the BAR reads back its size mask after all-ones; decoding off meanwhile */
	uint32_t cmd = pci_read32(d, 4) & 0xffff;
	pci_write32(d, 4, cmd & ~0x2u);
	pci_write32(d, off, 0xffffffff);
	uint64_t mask = pci_read32(d, off) & ~0xfull;
	if (wide) {
		pci_write32(d, off + 4, 0xffffffff);
		mask |= (uint64_t)pci_read32(d, off + 4) << 32;
		pci_write32(d, off + 4, hi);
	} else {
		mask |= 0xffffffff00000000ull;
	}
	pci_write32(d, off, lo);
	pci_write32(d, 4, cmd);
	*size = mask == 0 ? 0 : ~mask + 1;
	return (lo & ~0xfull) | (uint64_t)hi << 32;
}
