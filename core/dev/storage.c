/* storage: see storage.h. */
#include "core/config.h"
#include "core/dev/ahci.h"
#include "core/dev/gpt.h"
#include "core/dev/nvme.h"
#include "core/dev/pci.h"
#include "core/dev/storage.h"
#include "core/dev/usb/xhci.h"
#include "core/dev/virtio_blk.h"
#include "core/lib/guid.h"

struct storage storage;

/*
 * The one partition (or, with disk set, whole disk) carrying guid.  Images
 * of one build, or a disk cloned from another, carry the same GUIDs; which
 * copy is meant cannot be told, and a wrong guess writes swap or files on
 * someone else's disk: several matches are refused, naming them.
 * -ENODEV none, -EEXIST several (both logged under what).
 */
static int storage_unique(const char *what, const uint8_t guid[16], bool disk,
			  struct blk_dev **out)
{
	char names[128] = "", g[GUID_TEXT_LEN + 1];
	unsigned n = 0;
	size_t len = 0;

	*out = NULL;
	for (struct blk_dev *d = guid_is_zero(guid) ? NULL : blk_first(); d != NULL; d = d->next) {
		bool match = disk ? d->parent == NULL && memcmp(d->disk_guid, guid, 16) == 0
				  : d->parent != NULL && memcmp(d->part_unique_guid, guid, 16) == 0;
		if (!match)
			continue;
		if (n++ == 0)
			*out = d;
		if (len < sizeof(names))
			len += (size_t)ksnprintf(names + len, sizeof(names) - len, "%s%s",
						 n > 1 ? ", " : "", d->name);
	}
	guid_format(guid, g);
	if (n == 0) {
		log_error("storage: %s%s: no %s with that GUID%s", what, g,
			  disk ? "disk" : "partition", disk ? "" : " on any disk");
		return -ENODEV;
	}
	if (n > 1) {
		log_error("storage: %s%s is on %u %s (%s): refusing to guess which is ours", what, g,
			  n, disk ? "disks" : "partitions", names);
		*out = NULL;
		return -EEXIST;
	}
	return 0;
}

/* The partition a configuration key names by unique GUID (NULL logged). */
static int storage_named(const char *key, const char *text, struct blk_dev **out)
{
	uint8_t g[16];
	char what[16];

	*out = NULL;
	if (guid_parse(text, g) < 0)
		return -EINVAL; /* config_parse has rejected it already */
	ksnprintf(what, sizeof(what), "%s=", key);
	return storage_unique(what, g, false, out);
}

/* The boot disk and the ESP the loader came from; the ESP must lie on the
 * boot disk, or a disk that once received a Phobos image would be taken
 * for ours when the real boot disk sits on a controller we cannot drive. */
static int storage_find_boot(const struct boot_info *bi)
{
	int err;

	if (!bi->have_guids) {
		log_error("storage: the loader found no boot disk GUIDs");
		return 0;
	}
	if ((err = storage_unique("boot disk ", bi->disk_guid, true, &storage.boot_disk)) == -EEXIST)
		return err;
	if (storage.boot_disk != NULL)
		log_info("storage: boot disk %s", storage.boot_disk->name);
	struct blk_dev *part;
	if ((err = storage_unique("boot partition ", bi->part_guid, false, &part)) == -EEXIST)
		return err;
	if (part != NULL && part->parent != storage.boot_disk)
		log_error("storage: boot partition found on %s, which is not the boot disk: not used",
			  part->name);
	else
		storage.boot_part = part;
	return 0;
}

/* SPEC 5 and swap=: which partition, if any, may receive swap writes. */
static int storage_find_swap(enum config_swap mode, const char *guid)
{
	struct blk_dev *d = NULL;
	int err = 0;

	if (mode == CONFIG_SWAP_OFF) {
		log_info("storage: swap off (swap=off)");
		return 0;
	}
	if (mode == CONFIG_SWAP_AUTO) {
		for (d = storage.boot_disk ? blk_first() : NULL; d != NULL; d = d->next)
			if (d->parent == storage.boot_disk && gpt_is_swap_partition(d) == 1)
				break;
		storage.swap = d;
		log_info("storage: swap %s (%s)", d ? d->name : "none",
			 d ? "swap=auto: the first Linux swap partition of the boot disk with a "
			     "swap signature"
			   : storage.boot_disk ? "swap=auto: the boot disk has no Linux swap partition "
						 "with a swap signature"
					       : "swap=auto: no boot disk");
		return 0;
	}
	if ((err = storage_named("swap", guid, &d)) < 0)
		return err;
	if (d->parent != storage.boot_disk) {
		log_error("storage: swap=%s is on %s, not on the boot disk", guid, d->parent->name);
		return -ENODEV;
	}
	if (gpt_is_swap_partition(d) != 1) {
		log_error("storage: swap=%s is not a Linux swap partition with a swap signature", guid);
		return -ENODEV;
	}
	storage.swap = d;
	log_info("storage: swap %s (swap=%s)", d->name, guid);
	return 0;
}

int storage_init(const struct boot_info *bi, const char *fs_guid, enum config_swap swap,
		 const char *swap_guid)
{
	int err;

	pci_init();
	virtio_blk_probe();
	nvme_probe();
	ahci_probe();
	xhci_probe();
	if (blk_first() == NULL)
		log_error("storage: no disks found (drivers: virtio-blk, AHCI, NVMe, USB mass storage)");
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent == NULL)
			gpt_scan(d);
	if ((err = storage_find_boot(bi)) < 0)
		return err;
	storage.fs = storage.boot_part;
	if (fs_guid[0] != '\0' && (err = storage_named("fs", fs_guid, &storage.fs)) < 0)
		return err;
	if ((err = storage_find_swap(swap, swap_guid)) < 0)
		return err;
	if (storage.fs != NULL) {
		int e = fat_mount(storage.fs, &storage.vol);
		if (e < 0) {
			log_error("storage: %s: no usable FAT volume to serve files from (%s)",
				  storage.fs->name, err_name(e));
			return e;
		}
	}
	log_info("storage: boot disk %s; files from %s; swap %s",
		 storage.boot_disk ? storage.boot_disk->name : "not found",
		 storage.fs ? storage.fs->name : "nowhere", storage.swap ? storage.swap->name : "none");
	return 0;
}
