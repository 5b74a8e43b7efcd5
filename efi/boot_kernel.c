/*
 * Loading and entering the kernel.
 *
 * The kernel is an ELF executable linked at KERNEL_BASE and embedded in
 * this PE image (kernel_blob.S).  Its PT_LOAD segments are copied into one
 * physically contiguous block of LOADER_MEM_KERNEL pages.  The loader's page
 * tables map that block at KERNEL_BASE and all of physical memory (as far as
 * the memory map reaches) twice with 2 MiB pages: at DIRECT_MAP_BASE for the
 * kernel and at 0 so this code keeps running after CR3 is loaded.  The
 * kernel replaces these tables with its own at once.
 */
#include "efi/loader.h"

extern const uint8_t kernel_blob_start[], kernel_blob_end[];

/* ELF64 as far as the loader needs it (System V ABI, fixed layout). */
struct loader_elf_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct loader_elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define LOADER_PT_LOAD 1
#define LOADER_PTE_P 0x1ull
#define LOADER_PTE_W 0x2ull
#define LOADER_PTE_PS 0x80ull
#define LOADER_2M (2ull << 20)
#define LOADER_1G (1ull << 30)

static uint64_t loader_kernel_phys, loader_kernel_pages;

EFI_STATUS loader_load_kernel(struct boot_info *bi, uint64_t *entry)
{
	const struct loader_elf_ehdr *eh = (const void *)kernel_blob_start;
	UINTN blob = (UINTN)(kernel_blob_end - kernel_blob_start);
	uint64_t lo = ~0ull, hi = 0;

	if (blob < sizeof(*eh) || eh->ident[0] != 0x7f || eh->ident[1] != 'E' ||
	    eh->ident[4] != 2 || eh->machine != 62 || eh->phoff + (uint64_t)eh->phnum * sizeof(struct loader_elf_phdr) > blob)
		return EFI_LOAD_ERROR;
	const struct loader_elf_phdr *ph = (const void *)(kernel_blob_start + eh->phoff);
	for (unsigned i = 0; i < eh->phnum; i++) {
		if (ph[i].type != LOADER_PT_LOAD)
			continue;
		if (ph[i].vaddr < KERNEL_BASE || ph[i].offset + ph[i].filesz > blob)
			return EFI_LOAD_ERROR;
		lo = ph[i].vaddr < lo ? ph[i].vaddr : lo;
		hi = ph[i].vaddr + ph[i].memsz > hi ? ph[i].vaddr + ph[i].memsz : hi;
	}
	if (lo != KERNEL_BASE || hi <= lo)
		return EFI_LOAD_ERROR;
	loader_kernel_pages = (hi - lo + 4095) / 4096;
	EFI_STATUS st = loader_alloc_pages(loader_kernel_pages, LOADER_MEM_KERNEL, &loader_kernel_phys);
	if (EFI_ERROR(st)) {
		/* what was asked, so a machine too small says so (see the README's
		 * smallest machine) */
		loader_put_hex("Phobos loader: no room for the kernel; 4 KiB pages in one piece wanted: ",
			       loader_kernel_pages);
		return st;
	}
	for (unsigned i = 0; i < eh->phnum; i++)
		if (ph[i].type == LOADER_PT_LOAD)
			loader_memcpy((void *)(UINTN)(loader_kernel_phys + ph[i].vaddr - lo),
				      kernel_blob_start + ph[i].offset, ph[i].filesz);
	bi->kernel_phys = loader_kernel_phys;
	bi->kernel_size = loader_kernel_pages * 4096;
	*entry = eh->entry;
	return EFI_SUCCESS;
}

static enum boot_mem_type loader_translate_type(UINT32 t)
{
	switch (t) {
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_LOADER;
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory:
		return BOOT_MEM_FREE;
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
		return BOOT_MEM_RUNTIME;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return BOOT_MEM_MMIO;
	case LOADER_MEM_KERNEL:
		return BOOT_MEM_KERNEL;
	case LOADER_MEM_BOOT_DATA:
		return BOOT_MEM_BOOT_DATA;
	default:
		return BOOT_MEM_RESERVED;
	}
}

/* Fills bi->ranges from the final map, merging neighbours of one type. */
static void loader_convert_map(struct boot_info *bi, const uint8_t *map, UINTN size, UINTN dsize)
{
	bi->range_count = 0;
	bi->ranges_dropped = 0;
	for (UINTN off = 0; off + dsize <= size; off += dsize) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		struct boot_mem_range *last = bi->range_count ? &bi->ranges[bi->range_count - 1] : NULL;
		if (last != NULL && last->efi_type == d->Type &&
		    last->base + last->pages * 4096 == d->PhysicalStart) {
			last->pages += d->NumberOfPages;
			continue;
		}
		if (bi->range_count == BOOT_RANGES_MAX) {
			bi->ranges_dropped++;
			continue;
		}
		struct boot_mem_range *r = &bi->ranges[bi->range_count++];
		r->base = d->PhysicalStart;
		r->pages = d->NumberOfPages;
		r->efi_type = d->Type;
		r->type = loader_translate_type(d->Type);
	}
}

/* Sets up the page tables described at the top of this file. */
static EFI_STATUS loader_build_tables(uint64_t top, uint64_t *cr3)
{
	uint64_t gigs = (top + LOADER_1G - 1) / LOADER_1G;
	uint64_t kpt = (loader_kernel_pages + 511) / 512;
	uint64_t pages = 1 + 1 + gigs + 1 + 1 + kpt, base;

	if (gigs > 512 || kpt > 512)
		return EFI_UNSUPPORTED;
	EFI_STATUS st = loader_alloc_pages(pages, LOADER_MEM_BOOT_DATA, &base);
	if (EFI_ERROR(st))
		return st;
	uint64_t *pml4 = (uint64_t *)(UINTN)base;
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;
	uint64_t *kpdpt = pd + 512 * gigs;
	uint64_t *kpd = kpdpt + 512;
	uint64_t *kpts = kpd + 512;

	for (uint64_t g = 0; g < gigs; g++) {
		pdpt[g] = (uint64_t)(UINTN)(pd + 512 * g) | LOADER_PTE_P | LOADER_PTE_W;
		for (uint64_t i = 0; i < 512; i++)
			pd[512 * g + i] = (g * LOADER_1G + i * LOADER_2M) | LOADER_PTE_P | LOADER_PTE_W |
					  LOADER_PTE_PS;
	}
	/* KERNEL_BASE = PML4 slot 511, PDPT slot 510, PD slot 0 */
	for (uint64_t i = 0; i < loader_kernel_pages; i++)
		kpts[i] = (loader_kernel_phys + i * 4096) | LOADER_PTE_P | LOADER_PTE_W;
	for (uint64_t i = 0; i < kpt; i++)
		kpd[i] = (uint64_t)(UINTN)(kpts + 512 * i) | LOADER_PTE_P | LOADER_PTE_W;
	kpdpt[510] = (uint64_t)(UINTN)kpd | LOADER_PTE_P | LOADER_PTE_W;
	pml4[0] = (uint64_t)(UINTN)pdpt | LOADER_PTE_P | LOADER_PTE_W;
	pml4[256] = pml4[0]; /* DIRECT_MAP_BASE */
	pml4[511] = (uint64_t)(UINTN)kpdpt | LOADER_PTE_P | LOADER_PTE_W;
	*cr3 = base;
	return EFI_SUCCESS;
}

/* The highest physical address any descriptor of the current map names. */
static EFI_STATUS loader_map_top(uint64_t *top, UINTN *map_pages)
{
	EFI_BOOT_SERVICES *bs = loader_st->BootServices;
	UINTN size = 0, key, dsize;
	UINT32 dver;
	uint64_t buf;

	if (bs->GetMemoryMap(&size, NULL, &key, &dsize, &dver) != EFI_BUFFER_TOO_SMALL)
		return EFI_DEVICE_ERROR;
	/* room for the descriptors our own allocations will add */
	*map_pages = (size + 32 * dsize + 4095) / 4096 + 1;
	EFI_STATUS st = loader_alloc_pages(*map_pages, EfiLoaderData, &buf);
	if (EFI_ERROR(st))
		return st;
	size = *map_pages * 4096;
	st = bs->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)(UINTN)buf, &key, &dsize, &dver);
	if (EFI_ERROR(st))
		return st;
	*top = 0;
	for (UINTN off = 0; off + dsize <= size; off += dsize) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(UINTN)(buf + off);
		uint64_t end = d->PhysicalStart + d->NumberOfPages * 4096;
		*top = end > *top ? end : *top;
	}
	bs->FreePages(buf, *map_pages);
	return EFI_SUCCESS;
}

EFI_STATUS loader_start_kernel(struct boot_info *bi, uint64_t entry)
{
	EFI_BOOT_SERVICES *bs = loader_st->BootServices;
	uint64_t top, cr3, map;
	UINTN map_pages, key, dsize, size;
	UINT32 dver;
	EFI_STATUS st;

	st = loader_map_top(&top, &map_pages);
	if (EFI_ERROR(st))
		return st;
	st = loader_build_tables(top, &cr3);
	if (EFI_ERROR(st))
		return st;
	st = loader_alloc_pages(map_pages, LOADER_MEM_BOOT_DATA, &map);
	if (EFI_ERROR(st))
		return st;
	bi->tsc_exit = loader_rdtsc();
	loader_puts("Phobos loader: exiting boot services\r\n");
	/*
	 * The map key goes stale whenever the firmware changes the map (a
	 * timer event may allocate); the spec's answer is to fetch the map
	 * again and retry, calling nothing else in between.
	 */
	for (int tries = 0;; tries++) {
		size = map_pages * 4096;
		st = bs->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)(UINTN)map, &key, &dsize, &dver);
		if (EFI_ERROR(st))
			return st;
		st = bs->ExitBootServices(loader_image, key);
		if (!EFI_ERROR(st))
			break;
		if (st != EFI_INVALID_PARAMETER || tries == 16)
			return st;
	}
	loader_convert_map(bi, (const uint8_t *)(UINTN)map, size, dsize);

	uint64_t bi_virt = DIRECT_MAP_BASE + (uint64_t)(UINTN)bi;
	__asm__ volatile("cli\n\t"
			 "mov $0xc0000080, %%ecx\n\t"
			 "rdmsr\n\t"
			 "or $0x800, %%eax\n\t" /* EFER.NXE, so the kernel may use NX */
			 "wrmsr\n\t"
			 "mov %0, %%cr3\n\t"
			 "mov %1, %%rdi\n\t"
			 "jmp *%2\n\t"
			 :
			 : "r"(cr3), "r"(bi_virt), "r"(entry)
			 : "rax", "rcx", "rdx", "rdi", "memory");
	__builtin_unreachable();
}
