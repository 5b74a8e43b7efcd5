/*
 * boot_info: the whole contract between the UEFI loader (efi/) and the
 * kernel (core/).  The kernel never sees an EFI type: the loader translates
 * everything into the types below before it calls ExitBootServices.
 *
 * Hand-off state when kernel_entry(bi) runs:
 *   - long mode, interrupts off, boot services exited, no EFI call allowed;
 *   - CR3 holds the loader's tables: the kernel image at KERNEL_BASE, the
 *     direct map at DIRECT_MAP_BASE covering every range of the map, and an
 *     identity map of the same (for the loader's own last instructions);
 *   - bi and everything it points to live in BOOT_MEM_BOOT_DATA pages and
 *     are reached through the direct map;
 *   - the stack is the kernel's own (set by its entry code).
 * The kernel may reuse BOOT_MEM_BOOT_DATA and BOOT_MEM_LOADER pages once it
 * no longer needs boot_info and the loader's page tables.
 */
#ifndef PHOBOS_BOOT_INFO_H
#define PHOBOS_BOOT_INFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC 0x50484f424f533031ull /* "PHOBOS01" */

#define KERNEL_BASE 0xffffffff80000000ull
#define DIRECT_MAP_BASE 0xffff800000000000ull
#define KERNEL_DYN_BASE 0xffffc00000000000ull
#define GATE_AREA_ADDRESS 0x00007fffc0000000ull

/* What a physical range is for, from the kernel's point of view. */
enum boot_mem_type {
	BOOT_MEM_FREE = 1,     /* conventional, boot-services code/data */
	BOOT_MEM_LOADER,       /* loader code/data: free once boot_info is consumed */
	BOOT_MEM_BOOT_DATA,    /* boot_info, loader page tables: same */
	BOOT_MEM_KERNEL,       /* the kernel image: never free */
	BOOT_MEM_ACPI_RECLAIM, /* ACPI tables: free after they are parsed */
	BOOT_MEM_ACPI_NVS,     /* firmware keeps it: never touch */
	BOOT_MEM_RUNTIME,      /* UEFI runtime code/data: never touch */
	BOOT_MEM_MMIO,         /* device memory named by the firmware */
	BOOT_MEM_RESERVED,     /* reserved, unusable, persistent: never touch */
};

struct boot_mem_range {
	uint64_t base;     /* physical, page aligned */
	uint64_t pages;    /* 4 KiB pages */
	uint32_t type;     /* enum boot_mem_type */
	uint32_t efi_type; /* the firmware's type number, for the boot report only */
};

enum boot_fb_format { BOOT_FB_NONE, BOOT_FB_RGBX, BOOT_FB_BGRX, BOOT_FB_BITMASK };

/* 32-bit pixels only; the masks say where each colour's bits are, for
 * every format (GOP's bit-mask modes give them, RGBX and BGRX imply them). */
struct boot_fb {
	uint64_t base; /* physical */
	uint64_t size; /* bytes */
	uint32_t width, height;
	uint32_t pitch; /* bytes per scan line */
	uint32_t format;
	uint32_t red_mask, green_mask, blue_mask;
	uint32_t pad;
};

#define BOOT_CONFIG_MAX 2048
#define BOOT_RANGES_MAX 1024

struct boot_info {
	uint64_t magic;
	uint64_t kernel_phys; /* where KERNEL_BASE is backed */
	uint64_t kernel_size; /* bytes of the loaded image */
	uint64_t rsdp;        /* physical address of the ACPI RSDP, 0 if none */
	struct boot_fb fb;
	uint8_t disk_guid[16]; /* GPT disk GUID of the boot disk (on-disk byte order) */
	uint8_t part_guid[16]; /* unique GUID of the boot partition */
	uint32_t have_guids;   /* 1 if both GUIDs above were found */
	uint32_t config_source; /* enum boot_config_source */
	char config[BOOT_CONFIG_MAX]; /* key=value words, NUL-terminated */
	uint32_t range_count;
	/* Bytes the source held: BOOT_CONFIG_MAX or more when it did not fit
	 * (config holds its start), more than strlen(config) when it held a
	 * NUL.  The kernel refuses both rather than run on part of it. */
	uint32_t config_len;
	uint32_t ranges_dropped; /* firmware ranges that did not fit in ranges[] */
	uint32_t fw_revision;    /* the system table's FirmwareRevision */
	uint64_t tsc_entry;      /* the TSC at the loader's first instruction */
	uint64_t tsc_exit;       /* the TSC as the loader starts leaving boot services */
	char fw_vendor[64];      /* the system table's FirmwareVendor, printable ASCII, NUL-ended */
	struct boot_mem_range ranges[BOOT_RANGES_MAX];
};

enum boot_config_source { BOOT_CONFIG_NONE, BOOT_CONFIG_LOAD_OPTIONS, BOOT_CONFIG_FILE };

typedef void (*kernel_entry_fn)(struct boot_info *bi);

#endif
