/* storage: see storage.h. */
#include "core/dev/gpt.h"
#include "core/dev/pci.h"
#include "core/dev/storage.h"
#include "core/dev/virtio_blk.h"
#include "core/lib/guid.h"

struct storage storage;

void storage_init(const struct boot_info *bi)
{
	char g[GUID_TEXT_LEN + 1];

	pci_init();
	virtio_blk_probe();
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent == NULL)
			gpt_scan(d);
	if (!bi->have_guids) {
		log_error("storage: the loader found no GPT GUIDs for the boot partition");
		return;
	}
	storage.boot_disk = gpt_find_disk(bi->disk_guid);
	storage.boot_part = gpt_find_by_unique_guid(bi->part_guid);
	guid_format(bi->disk_guid, g);
	if (storage.boot_disk == NULL) {
		log_error("storage: boot disk %s not found", g);
		return;
	}
	for (struct blk_dev *d = blk_first(); d != NULL && storage.swap == NULL; d = d->next)
		if (d->parent == storage.boot_disk && gpt_is_swap_partition(d) == 1)
			storage.swap = d;
	log_info("storage: boot disk %s is %s; boot partition %s; swap %s", g, storage.boot_disk->name,
		 storage.boot_part ? storage.boot_part->name : "not found",
		 storage.swap ? storage.swap->name : "none");
}
