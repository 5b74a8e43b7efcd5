/*
 * efi_main: the order of the boot.  Everything the kernel needs is read
 * while the firmware still answers; then the kernel is loaded and entered.
 */
#include "efi/loader.h"

EFI_SYSTEM_TABLE *loader_st;
EFI_HANDLE loader_image;

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	struct boot_info *bi;
	uint64_t bi_phys, entry;
	EFI_STATUS status;
	/* first, so the boot figure counts the whole loader */
	uint64_t tsc_entry = loader_rdtsc();

	loader_st = st;
	loader_image = image;
	/* the firmware's five-minute watchdog would reset a long benchmark */
	st->BootServices->SetWatchdogTimer(0, 0, 0, NULL);
	loader_puts("Phobos loader\r\n");

	status = loader_alloc_pages((sizeof(*bi) + 4095) / 4096, LOADER_MEM_BOOT_DATA, &bi_phys);
	if (EFI_ERROR(status)) {
		loader_fail("boot_info allocation", status);
		return status;
	}
	bi = (struct boot_info *)(UINTN)bi_phys;
	bi->magic = BOOT_INFO_MAGIC;
	bi->tsc_entry = tsc_entry;
	loader_firmware(bi);

	loader_read_config(bi);
	loader_find_fb(bi);
	loader_find_rsdp(bi);
	loader_find_guids(bi);

	status = loader_load_kernel(bi, &entry);
	if (EFI_ERROR(status)) {
		loader_fail("kernel load", status);
		return status;
	}
	status = loader_start_kernel(bi, entry);
	loader_fail("kernel start", status);
	return status;
}
