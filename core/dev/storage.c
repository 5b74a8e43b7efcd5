/* storage: see storage.h. */
#include "core/dev/ahci.h"
#include "core/dev/gpt.h"
#include "core/dev/nvme.h"
#include "core/dev/pci.h"
#include "core/dev/storage.h"
#include "core/dev/virtio_blk.h"
#include "core/lib/guid.h"

struct storage storage;

/* The partition a configuration key names by unique GUID, or NULL (logged). */
static struct blk_dev *storage_named(const char *key, const char *text)
{
	uint8_t g[16];

	if (guid_parse(text, g) < 0)
		return NULL; /* config_parse has rejected it already */
	struct blk_dev *d = gpt_find_by_unique_guid(g);
	if (d == NULL)
		log_error("storage: %s=%s: no partition with that GUID on any disk", key, text);
	return d;
}

int storage_init(const struct boot_info *bi, const char *fs_guid, const char *swap_guid)
{
	char g[GUID_TEXT_LEN + 1];
	int err = 0;

	pci_init();
	virtio_blk_probe();
	nvme_probe();
	ahci_probe();
	if (blk_first() == NULL)
		log_error("storage: no disks found (drivers: virtio-blk, AHCI, NVMe)");
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent == NULL)
			gpt_scan(d);
	if (bi->have_guids) {
		storage.boot_disk = gpt_find_disk(bi->disk_guid);
		storage.boot_part = gpt_find_by_unique_guid(bi->part_guid);
	}
	guid_format(bi->disk_guid, g);
	if (storage.boot_disk == NULL)
		log_error("storage: boot disk %s not found", bi->have_guids ? g : "(no GUID from the loader)");
	for (struct blk_dev *d = blk_first(); d != NULL && storage.swap == NULL; d = d->next)
		if (storage.boot_disk != NULL && d->parent == storage.boot_disk &&
		    gpt_is_swap_partition(d) == 1)
			storage.swap = d;
	storage.fs = storage.boot_part;
	if (fs_guid[0] != '\0' && (storage.fs = storage_named("fs", fs_guid)) == NULL)
		err = -ENODEV;
	if (swap_guid[0] != '\0') {
		storage.swap = storage_named("swap", swap_guid);
		if (storage.swap == NULL) {
			err = -ENODEV;
		} else if (gpt_is_swap_partition(storage.swap) != 1) {
			log_error("storage: swap=%s is not a Linux swap partition with a swap signature",
				  swap_guid);
			storage.swap = NULL;
			err = -ENODEV;
		}
	}
	if (storage.fs != NULL) {
		int e = fat_mount(storage.fs, &storage.vol);
		if (e < 0) {
			log_error("storage: %s: no usable FAT volume to serve files from (%s)",
				  storage.fs->name, err_name(e));
			err = err < 0 ? err : e;
		}
	}
	log_info("storage: boot disk %s; files from %s; swap %s",
		 storage.boot_disk ? storage.boot_disk->name : "not found",
		 storage.fs ? storage.fs->name : "nowhere", storage.swap ? storage.swap->name : "none");
	return err;
}
