/*
 * The Phobos UEFI loader: runs while boot services exist, gathers what the
 * kernel needs into one struct boot_info (core/boot_info.h), loads the
 * kernel ELF embedded in this image, builds the first page tables, exits
 * boot services and jumps to the kernel.  Nothing after exit_boot_services
 * may call the firmware.
 *
 * Every function returns an EFI_STATUS; failures are printed on the
 * firmware console (the only console that exists yet) by the caller.
 */
#ifndef PHOBOS_EFI_LOADER_H
#define PHOBOS_EFI_LOADER_H

#include <efi.h>

#include "core/boot_info.h"

static inline uint64_t loader_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

extern EFI_SYSTEM_TABLE *loader_st;
extern EFI_HANDLE loader_image;

/* Firmware console output of an ASCII string. */
void loader_puts(const char *s);
void loader_put_hex(const char *label, uint64_t v);
void loader_fail(const char *what, EFI_STATUS st);

void *loader_memset(void *d, int c, UINTN n);
void *loader_memcpy(void *d, const void *s, UINTN n);

/* Pages of the given (OS-defined) memory type, zeroed. */
EFI_STATUS loader_alloc_pages(UINTN pages, UINT32 type, uint64_t *phys);

/* boot_sources.c: configuration, framebuffer, RSDP, GPT GUIDs. */
void loader_read_config(struct boot_info *bi);
void loader_find_fb(struct boot_info *bi);
void loader_find_rsdp(struct boot_info *bi);
void loader_firmware(struct boot_info *bi);
void loader_find_guids(struct boot_info *bi);

/* boot_kernel.c: kernel image, page tables, memory map, hand-off. */
EFI_STATUS loader_load_kernel(struct boot_info *bi, uint64_t *entry);
EFI_STATUS loader_start_kernel(struct boot_info *bi, uint64_t entry);

/* OS-defined memory types (UEFI reserves 0x80000000.. for the OS loader). */
#define LOADER_MEM_KERNEL 0x80000001u
#define LOADER_MEM_BOOT_DATA 0x80000002u

#endif
