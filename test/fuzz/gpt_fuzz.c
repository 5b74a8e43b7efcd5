/*
 * libFuzzer harness for the GPT parser: the input is a whole disk of
 * 512-byte sectors (padded to whole sectors).  gpt_scan must return 0,
 * -EINVAL or -EIO without a crash or a hang, and every partition it
 * registers must lie inside the disk.
 */
#include <stdlib.h>

#include "core/dev/gpt.h"
#include "test/host/blk_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blk_host disk;
	size_t bytes = ALIGN_UP(size, 512);

	if (bytes < 4 * 512 || bytes > (4u << 20))
		return 0;
	uint8_t *img = calloc(1, bytes);
	memcpy(img, data, size);
	blk_reset_registry();
	blk_mem_create(&disk, img, bytes, 512, "fuzz0");
	blk_register(&disk.dev);
	int r = gpt_scan(&disk.dev);
	if (r != 0 && r != -EINVAL && r != -EIO)
		abort();
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent != NULL &&
		    (d->part_first_lba >= disk.dev.sectors ||
		     d->sectors > disk.dev.sectors - d->part_first_lba))
			abort();
	free(img);
	return 0;
}
