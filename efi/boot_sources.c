/*
 * What the loader learns from the firmware before exiting boot services:
 * the configuration words, the framebuffer, the ACPI RSDP and the GPT GUIDs
 * of the boot partition and its disk.  Each is optional; a missing one is
 * left zero in boot_info and the kernel decides what that means.
 */
#include "efi/loader.h"

static EFI_GUID loader_loaded_image_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
static EFI_GUID loader_fs_guid = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
static EFI_GUID loader_gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
static EFI_GUID loader_devpath_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;
static EFI_GUID loader_blockio_guid = EFI_BLOCK_IO_PROTOCOL_GUID;
static EFI_GUID loader_acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID loader_acpi10_guid = ACPI_TABLE_GUID;

void *loader_memset(void *d, int c, UINTN n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *loader_memcpy(void *d, const void *s, UINTN n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

/* The compiler may emit calls to these for struct copies and zeroing. */
void *memset(void *d, int c, UINTN n)
{
	return loader_memset(d, c, n);
}

void *memcpy(void *d, const void *s, UINTN n)
{
	return loader_memcpy(d, s, n);
}

static int loader_guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	const unsigned char *x = (const void *)a, *y = (const void *)b;

	for (int i = 0; i < 16; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

void loader_puts(const char *s)
{
	CHAR16 buf[128];
	UINTN n = 0;

	while (*s) {
		buf[n++] = (CHAR16)(unsigned char)*s++;
		if (n == 127 || *s == '\0') {
			buf[n] = 0;
			loader_st->ConOut->OutputString(loader_st->ConOut, buf);
			n = 0;
		}
	}
}

void loader_put_hex(const char *label, uint64_t v)
{
	char buf[19] = "0x";

	for (int i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	buf[18] = '\0';
	loader_puts(label);
	loader_puts(buf);
	loader_puts("\r\n");
}

void loader_fail(const char *what, EFI_STATUS st)
{
	loader_puts("Phobos loader: ");
	loader_puts(what);
	loader_put_hex(" failed, status ", (uint64_t)st);
}

EFI_STATUS loader_alloc_pages(UINTN pages, UINT32 type, uint64_t *phys)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS st;

	st = loader_st->BootServices->AllocatePages(AllocateAnyPages, (EFI_MEMORY_TYPE)type, pages,
						    &addr);
	if (EFI_ERROR(st))
		return st;
	loader_memset((void *)(UINTN)addr, 0, pages * 4096);
	*phys = addr;
	return EFI_SUCCESS;
}

static EFI_LOADED_IMAGE *loader_loaded_image(void)
{
	EFI_LOADED_IMAGE *li = NULL;

	if (EFI_ERROR(loader_st->BootServices->HandleProtocol(
		loader_image, &loader_loaded_image_guid, (void **)&li)))
		return NULL;
	return li;
}

/*
 * Load options are configuration only when they read as text: a boot
 * manager entry may carry binary data there.  The UEFI shell passes the
 * program name first, which is dropped.
 */
static int loader_config_from_options(struct boot_info *bi, EFI_LOADED_IMAGE *li)
{
	const CHAR16 *w = li->LoadOptions;
	UINTN n = li->LoadOptionsSize / 2, out = 0, start = 0;
	int has_eq = 0;

	if (w == NULL || n == 0)
		return 0;
	for (UINTN i = 0; i < n && w[i] != 0; i++) {
		if (w[i] > 0x7e || (w[i] < 0x20 && w[i] != '\t' && w[i] != '\n' && w[i] != '\r'))
			return 0;
		if (w[i] == '=')
			has_eq = 1;
	}
	if (!has_eq)
		return 0;
	/* skip a leading word without '=' (the program path given by the shell) */
	while (start < n && w[start] == ' ')
		start++;
	UINTN end = start;
	int first_has_eq = 0;
	while (end < n && w[end] != 0 && w[end] != ' ') {
		if (w[end] == '=')
			first_has_eq = 1;
		end++;
	}
	if (!first_has_eq)
		start = end;
	UINTN i = start;
	for (; i < n && w[i] != 0 && out + 1 < BOOT_CONFIG_MAX; i++)
		bi->config[out++] = (char)w[i];
	bi->config[out] = '\0';
	bi->config_len = (uint32_t)out + (i < n && w[i] != 0 ? 1 : 0);
	return 1;
}

void loader_read_config(struct boot_info *bi)
{
	EFI_LOADED_IMAGE *li = loader_loaded_image();
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs = NULL;
	EFI_FILE_HANDLE root = NULL, file = NULL;

	if (li == NULL)
		return;
	if (loader_config_from_options(bi, li)) {
		bi->config_source = BOOT_CONFIG_LOAD_OPTIONS;
		return;
	}
	if (EFI_ERROR(loader_st->BootServices->HandleProtocol(li->DeviceHandle, &loader_fs_guid,
							      (void **)&fs)))
		return;
	if (EFI_ERROR(fs->OpenVolume(fs, &root)))
		return;
	if (!EFI_ERROR(root->Open(root, &file, L"\\phobos.cfg", EFI_FILE_MODE_READ, 0))) {
		UINTN size = BOOT_CONFIG_MAX - 1, more = 1;
		char extra;
		if (!EFI_ERROR(file->Read(file, &size, bi->config))) {
			bi->config[size] = '\0';
			bi->config_len = (uint32_t)size;
			/* one byte past the buffer tells a file that did not fit */
			if (size == BOOT_CONFIG_MAX - 1 &&
			    !EFI_ERROR(file->Read(file, &more, &extra)) && more == 1)
				bi->config_len = BOOT_CONFIG_MAX;
			bi->config_source = BOOT_CONFIG_FILE;
		}
		file->Close(file);
	}
	root->Close(root);
}

void loader_find_fb(struct boot_info *bi)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;

	if (EFI_ERROR(
		loader_st->BootServices->LocateProtocol(&loader_gop_guid, NULL, (void **)&gop)))
		return;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
	const EFI_PIXEL_BITMASK *m = &info->PixelInformation;
	if (info->PixelFormat == PixelRedGreenBlueReserved8BitPerColor) {
		bi->fb.format = BOOT_FB_RGBX;
		bi->fb.red_mask = 0xff, bi->fb.green_mask = 0xff00, bi->fb.blue_mask = 0xff0000;
	} else if (info->PixelFormat == PixelBlueGreenRedReserved8BitPerColor) {
		bi->fb.format = BOOT_FB_BGRX;
		bi->fb.red_mask = 0xff0000, bi->fb.green_mask = 0xff00, bi->fb.blue_mask = 0xff;
	} else if (info->PixelFormat == PixelBitMask &&
		   ((m->RedMask | m->GreenMask | m->BlueMask | m->ReservedMask) >> 24) != 0) {
		/* a mask reaching the top byte means 32-bit pixels, all the console draws */
		bi->fb.format = BOOT_FB_BITMASK;
		bi->fb.red_mask = m->RedMask, bi->fb.green_mask = m->GreenMask;
		bi->fb.blue_mask = m->BlueMask;
	} else {
		return; /* narrower bit-mask pixels and blt-only modes: run headless */
	}
	bi->fb.base = gop->Mode->FrameBufferBase;
	bi->fb.size = gop->Mode->FrameBufferSize;
	bi->fb.width = info->HorizontalResolution;
	bi->fb.height = info->VerticalResolution;
	bi->fb.pitch = info->PixelsPerScanLine * 4;
}

void loader_find_rsdp(struct boot_info *bi)
{
	EFI_CONFIGURATION_TABLE *t = loader_st->ConfigurationTable;

	for (UINTN i = 0; i < loader_st->NumberOfTableEntries; i++)
		if (loader_guid_eq(&t[i].VendorGuid, &loader_acpi20_guid)) {
			bi->rsdp = (uint64_t)(UINTN)t[i].VendorTable;
			return;
		}
	for (UINTN i = 0; i < loader_st->NumberOfTableEntries; i++)
		if (loader_guid_eq(&t[i].VendorGuid, &loader_acpi10_guid)) {
			bi->rsdp = (uint64_t)(UINTN)t[i].VendorTable;
			return;
		}
}

/* The firmware's vendor string, kept to printable ASCII for the results file. */
void loader_firmware(struct boot_info *bi)
{
	const CHAR16 *v = loader_st->FirmwareVendor;
	size_t n = 0;

	bi->fw_revision = loader_st->FirmwareRevision;
	for (; v != NULL && v[n] != 0 && n + 1 < sizeof(bi->fw_vendor); n++)
		bi->fw_vendor[n] = v[n] >= 0x20 && v[n] < 0x7f && v[n] != '"' && v[n] != '\\'
					   ? (char)v[n] : '?';
	bi->fw_vendor[n] = 0;
}

static uint32_t loader_u32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t loader_u64(const uint8_t *p)
{
	return loader_u32(p) | (uint64_t)loader_u32(p + 4) << 32;
}

/*
 * Whether the GPT header at lba, read into hdr (one page), holds: the
 * signature, its CRC, MyLBA, and the CRC of its entry array.  These are
 * the checks core/dev/gpt.c makes before it believes a table, so that the
 * loader and the kernel take the disk GUID from the same header.
 */
static int loader_gpt_header(EFI_BLOCK_IO *bio, EFI_LBA lba, uint8_t *hdr)
{
	UINT32 bs = bio->Media->BlockSize, crc = 0;
	uint64_t array_phys;

	if (EFI_ERROR(bio->ReadBlocks(bio, bio->Media->MediaId, lba, bs, hdr)) || hdr[0] != 'E' ||
	    hdr[1] != 'F' || hdr[2] != 'I' || hdr[3] != ' ' || hdr[4] != 'P' || hdr[5] != 'A' ||
	    hdr[6] != 'R' || hdr[7] != 'T')
		return 0;
	uint32_t size = loader_u32(hdr + 12), want = loader_u32(hdr + 16);
	if (size < 92 || size > bs || loader_u64(hdr + 24) != lba)
		return 0;
	loader_memset(hdr + 16, 0, 4);
	loader_st->BootServices->CalculateCrc32(hdr, size, &crc);
	if (crc != want)
		return 0;
	/* the same bounds as the kernel's: entries of 128 bytes or more, 1 MiB at most */
	uint64_t bytes = (uint64_t)loader_u32(hdr + 80) * loader_u32(hdr + 84);
	UINTN sectors = (UINTN)((bytes + bs - 1) / bs), pages = (sectors * bs + 4095) / 4096;
	if (loader_u32(hdr + 84) < 128 || bytes == 0 || bytes > (1u << 20) ||
	    EFI_ERROR(loader_alloc_pages(pages, EfiLoaderData, &array_phys)))
		return 0;
	void *array = (void *)(UINTN)array_phys;
	int ok = !EFI_ERROR(bio->ReadBlocks(bio, bio->Media->MediaId, loader_u64(hdr + 72),
					    sectors * bs, array)) &&
		 !EFI_ERROR(loader_st->BootServices->CalculateCrc32(array, (UINTN)bytes, &crc)) &&
		 crc == loader_u32(hdr + 88);
	loader_st->BootServices->FreePages(array_phys, pages);
	return ok;
}

/*
 * Reads the disk GUID of the disk at path from its primary GPT header
 * (LBA 1), or from the backup (the last LBA) when the primary fails the
 * checks, as the kernel does.
 */
static int loader_read_disk_guid(EFI_DEVICE_PATH *path, uint8_t guid[16])
{
	EFI_HANDLE disk = NULL;
	EFI_BLOCK_IO *bio = NULL;
	uint64_t buf_phys;

	if (EFI_ERROR(
		loader_st->BootServices->LocateDevicePath(&loader_blockio_guid, &path, &disk)))
		return 0;
	if (EFI_ERROR(
		loader_st->BootServices->HandleProtocol(disk, &loader_blockio_guid, (void **)&bio)))
		return 0;
	UINT32 bs = bio->Media->BlockSize;
	if (bs < 512 || bs > 4096 || EFI_ERROR(loader_alloc_pages(1, EfiLoaderData, &buf_phys)))
		return 0;
	uint8_t *hdr = (uint8_t *)(UINTN)buf_phys;
	int ok =
	    loader_gpt_header(bio, 1, hdr) || loader_gpt_header(bio, bio->Media->LastBlock, hdr);
	if (ok)
		loader_memcpy(guid, hdr + 56, 16); /* DiskGUID field of the GPT header */
	loader_st->BootServices->FreePages(buf_phys, 1);
	return ok;
}

/*
 * The boot partition's unique GUID is in the hard-drive node of the loaded
 * image's device path; the disk GUID needs the disk itself, found by the
 * same path cut just before that node.
 */
void loader_find_guids(struct boot_info *bi)
{
	EFI_LOADED_IMAGE *li = loader_loaded_image();
	EFI_DEVICE_PATH *dp = NULL;
	uint8_t copy[512];

	if (li == NULL || EFI_ERROR(loader_st->BootServices->HandleProtocol(
			      li->DeviceHandle, &loader_devpath_guid, (void **)&dp)))
		return;
	for (EFI_DEVICE_PATH *n = dp; n->Type != END_DEVICE_PATH_TYPE;) {
		UINTN len = n->Length[0] | (n->Length[1] << 8);
		if (len < 4)
			return;
		if (n->Type == MEDIA_DEVICE_PATH && n->SubType == MEDIA_HARDDRIVE_DP) {
			HARDDRIVE_DEVICE_PATH *hd = (HARDDRIVE_DEVICE_PATH *)n;
			UINTN prefix = (UINTN)((uint8_t *)n - (uint8_t *)dp);
			if (hd->SignatureType != SIGNATURE_TYPE_GUID || prefix + 4 > sizeof(copy))
				return;
			loader_memcpy(bi->part_guid, hd->Signature, 16);
			loader_memcpy(copy, dp, prefix);
			EFI_DEVICE_PATH *end = (EFI_DEVICE_PATH *)(copy + prefix);
			end->Type = END_DEVICE_PATH_TYPE;
			end->SubType = END_ENTIRE_DEVICE_PATH_SUBTYPE;
			end->Length[0] = 4;
			end->Length[1] = 0;
			bi->have_guids =
			    loader_read_disk_guid((EFI_DEVICE_PATH *)copy, bi->disk_guid);
			return;
		}
		n = (EFI_DEVICE_PATH *)((uint8_t *)n + len);
	}
}
