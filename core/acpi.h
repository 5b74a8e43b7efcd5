/*
 * acpi: finds firmware tables through the RSDP the loader recorded.
 * Tables are read in place through the direct map and checksummed; a table
 * with a bad checksum is treated as absent (with a log line).
 */
#ifndef PHOBOS_ACPI_H
#define PHOBOS_ACPI_H

#include "core/env.h"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic address structure (ACPI 6.5, 5.2.3.2). */
struct acpi_gas {
	uint8_t space; /* 0 system memory, 1 system I/O */
	uint8_t bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_SPACE_MEMORY 0
#define ACPI_SPACE_IO 1

/* 0 or -ENODEV (no RSDP) / -EINVAL (bad RSDP or root table). */
int acpi_init(uint64_t rsdp_phys);
/* The n-th table with this signature, or NULL. */
const struct acpi_header *acpi_find(const char sig[4], unsigned n);

#endif
