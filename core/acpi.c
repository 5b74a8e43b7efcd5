/* acpi: RSDP, then the XSDT (or the RSDT on ACPI 1.0), then tables. */
#include "core/acpi.h"
#include "core/boot_info.h"

static const struct acpi_header *acpi_root;
static bool acpi_root_64; /* XSDT holds 64-bit pointers, RSDT 32-bit */

static const void *acpi_phys(uint64_t pa)
{
	return (const void *)(DIRECT_MAP_BASE + pa);
}

static bool acpi_sum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return sum == 0;
}

int acpi_init(uint64_t rsdp_phys)
{
	if (rsdp_phys == 0)
		return -ENODEV;
	const uint8_t *rsdp = acpi_phys(rsdp_phys);
	if (memcmp(rsdp, "RSD PTR ", 8) != 0 || !acpi_sum_ok(rsdp, 20)) {
		log_error("acpi: bad RSDP at %llx", (unsigned long long)rsdp_phys);
		return -EINVAL;
	}
	uint64_t root;
	/* revision >= 2: 36-byte RSDP with the XSDT address at offset 24 */
	if (rsdp[15] >= 2 && acpi_sum_ok(rsdp, 36)) {
		memcpy(&root, rsdp + 24, 8);
		acpi_root_64 = true;
	} else {
		uint32_t r32;
		memcpy(&r32, rsdp + 16, 4);
		root = r32;
		acpi_root_64 = false;
	}
	acpi_root = acpi_phys(root);
	if (memcmp(acpi_root->signature, acpi_root_64 ? "XSDT" : "RSDT", 4) != 0 ||
	    !acpi_sum_ok(acpi_root, acpi_root->length)) {
		log_error("acpi: bad root table");
		acpi_root = NULL;
		return -EINVAL;
	}
	return 0;
}

const struct acpi_header *acpi_find(const char sig[4], unsigned n)
{
	if (acpi_root == NULL)
		return NULL;
	size_t width = acpi_root_64 ? 8 : 4;
	size_t count = (acpi_root->length - sizeof(*acpi_root)) / width;
	const uint8_t *ptrs = (const uint8_t *)(acpi_root + 1);

	for (size_t i = 0; i < count; i++) {
		uint64_t pa = 0;
		memcpy(&pa, ptrs + i * width, width);
		const struct acpi_header *h = acpi_phys(pa);
		if (memcmp(h->signature, sig, 4) != 0)
			continue;
		if (!acpi_sum_ok(h, h->length)) {
			log_error("acpi: table %.4s has a bad checksum, ignored", sig);
			continue;
		}
		if (n-- == 0)
			return h;
	}
	return NULL;
}
