/*
 * blk: the checked entry points every block device is used through, the
 * device registry, and partitions as devices of their own.
 */
#include "core/dev/blk.h"

#define BLK_MAX_PARTITIONS 64

static struct blk_dev *blk_devices;
static struct blk_dev blk_partitions[BLK_MAX_PARTITIONS];
static unsigned blk_npartitions;

/* A request must be non-empty and lie wholly inside the device. */
static bool blk_req_ok(const struct blk_dev *dev, const struct blk_req *r)
{
	return r->count > 0 && r->buf != NULL && r->lba < dev->sectors &&
	       r->count <= dev->sectors - r->lba;
}

bool blk_offline(const struct blk_dev *dev)
{
	for (; dev != NULL; dev = dev->parent)
		if (dev->offline)
			return true;
	return false;
}

void blk_set_offline(struct blk_dev *dev, const char *why)
{
	if (!dev->offline)
		log_error("blk: %s: %s: device offline; buffers it may still write are "
			  "never reused", dev->name, why);
	dev->offline = true;
}

int blk_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		reqs[i].status = blk_req_ok(dev, &reqs[i]) ? 0 : -EINVAL;
		if (reqs[i].status < 0)
			err = -EINVAL;
	}
	if (err < 0) {
		log_error("blk: %s: request outside the device or empty", dev->name);
		return err;
	}
	if (blk_offline(dev)) {
		for (size_t i = 0; i < n; i++)
			reqs[i].status = -EIO;
		return -EIO;
	}
	err = dev->ops->submit(dev, reqs, n);
	if (err < 0 && blk_offline(dev)) {
		/* the device went offline during this batch: see blk.h */
		for (size_t i = 0; i < n; i++)
			if (reqs[i].status < 0)
				reqs[i].status = err = -EBUSY;
	}
	return err;
}

int blk_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct blk_req r = {BLK_READ, lba, count, buf, 0};

	return blk_submit(dev, &r, 1);
}

int blk_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct blk_req r = {BLK_WRITE, lba, count, (void *)buf, 0};

	return blk_submit(dev, &r, 1);
}

int blk_flush(struct blk_dev *dev)
{
	if (blk_offline(dev))
		return -EIO;
	return dev->ops->flush != NULL ? dev->ops->flush(dev) : 0;
}

void blk_register(struct blk_dev *dev)
{
	struct blk_dev **p = &blk_devices;

	while (*p != NULL)
		p = &(*p)->next;
	dev->next = NULL;
	*p = dev;
}

struct blk_dev *blk_first(void)
{
	return blk_devices;
}

/* A partition forwards to its disk with its first LBA added; blk_submit has
 * already kept the request inside the partition. */
static int blk_part_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		reqs[i].lba += dev->part_first_lba;
	err = blk_submit(dev->parent, reqs, n);
	for (size_t i = 0; i < n; i++)
		reqs[i].lba -= dev->part_first_lba;
	return err;
}

static int blk_part_flush(struct blk_dev *dev)
{
	return blk_flush(dev->parent);
}

static const struct blk_ops blk_part_ops = {blk_part_submit, blk_part_flush};

struct blk_dev *blk_partition_create(struct blk_dev *disk, unsigned index, uint64_t first,
				     uint64_t sectors)
{
	if (first >= disk->sectors || sectors == 0 || sectors > disk->sectors - first)
		return NULL;
	if (blk_npartitions == BLK_MAX_PARTITIONS) {
		log_error("blk: more than %u partitions; %sp%u ignored", BLK_MAX_PARTITIONS,
			  disk->name, index);
		return NULL;
	}
	struct blk_dev *p = &blk_partitions[blk_npartitions++];
	memset(p, 0, sizeof(*p));
	ksnprintf(p->name, sizeof(p->name), "%sp%u", disk->name, index);
	p->sector_size = disk->sector_size;
	p->sectors = sectors;
	p->ops = &blk_part_ops;
	p->parent = disk;
	p->part_first_lba = first;
	return p;
}

void blk_reset_registry(void)
{
	blk_devices = NULL;
	blk_npartitions = 0;
}
