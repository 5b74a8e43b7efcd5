/*
 * blk: the one interface every block device offers (virtio-blk, AHCI, NVMe,
 * USB mass storage, a partition of any of them, and a host file in tests).
 *
 * A device has a sector size (512 or 4096), a capacity in sectors and an ops
 * table.  I/O is a batch of requests, each a run of sectors to or from a
 * buffer in kernel virtual memory; drivers keep several in flight where the
 * hardware allows and translate buffers to physical addresses themselves.
 *
 * Errors: -EINVAL (request outside the device, count 0, misaligned buffer
 * for a driver that needs alignment), -EIO (the device reported an error),
 * -ETIMEDOUT (the device did not complete in time; never a hang), -EBUSY
 * (the buffer is lost, see below).
 * blk_submit returns 0 when every request succeeded, otherwise the first
 * error, or -EBUSY if any request has it; each request's status says which
 * ones failed.
 *
 * Offline devices.  A driver whose device fails stops it (a reset) before
 * it hands the buffers back.  When the device will not stop, it may still
 * write into them at any time: the driver says so and calls
 * blk_set_offline.  Every request of the batch that took the device
 * offline and did not succeed then has status -EBUSY: its buffer belongs
 * to the device for good and must never be reused or freed (leaked),
 * since what the device writes there later would corrupt whoever had it
 * next.  From then on blk_submit fails every request with -EIO without
 * calling the driver (their buffers are untouched) and blk_flush fails.
 *
 * Lock key: devices are set up once at boot (c); a driver serialises its
 * own queues.
 */
#ifndef PHOBOS_DEV_BLK_H
#define PHOBOS_DEV_BLK_H

#include "core/env.h"

enum blk_op { BLK_READ, BLK_WRITE };

struct blk_req {
	enum blk_op op;
	uint64_t lba;   /* first sector, in the device's sectors */
	uint32_t count; /* sectors */
	void *buf;      /* count * sector_size bytes */
	int status;     /* out: 0 or a negative code */
};

struct blk_dev;

struct blk_ops {
	/* Performs every request of the batch; fills status of each. */
	int (*submit)(struct blk_dev *dev, struct blk_req *reqs, size_t n);
	/* Makes completed writes durable (cache flush); may be NULL. */
	int (*flush)(struct blk_dev *dev);
};

struct blk_dev {
	char name[32];                /* (c) "virtio0", "nvme0p1", ... */
	uint32_t sector_size;         /* (c) bytes */
	uint64_t sectors;             /* (c) capacity */
	const struct blk_ops *ops;    /* (c) */
	void *priv;                   /* (c) driver data */
	struct blk_dev *parent;       /* (c) whole disk of a partition, or NULL */
	uint64_t part_first_lba;      /* (c) offset inside parent for partitions */
	uint8_t part_type_guid[16];   /* (c) GPT type GUID (partitions) */
	uint8_t part_unique_guid[16]; /* (c) GPT unique partition GUID (partitions) */
	uint8_t disk_guid[16];        /* (c) GPT disk GUID (whole disks, once read) */
	bool offline;                 /* set once by blk_set_offline, never cleared */
	struct blk_dev *next;         /* (c) registry link */
};

/* Checks every request against the device, then calls the driver. */
int blk_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n);
int blk_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf);
int blk_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf);
int blk_flush(struct blk_dev *dev);

/* For drivers: dev will not stop after a failure (see the top); logs why. */
void blk_set_offline(struct blk_dev *dev, const char *why);
/* True when dev, or the disk it is a partition of, is offline. */
bool blk_offline(const struct blk_dev *dev);

/* The registry of devices found at boot (whole disks and partitions). */
void blk_register(struct blk_dev *dev);
struct blk_dev *blk_first(void);
/* Forgets every device and partition (tests, fuzzers). */
void blk_reset_registry(void);

/*
 * A device for sectors [first, first + sectors) of disk, named
 * "<disk>p<index>", from a fixed pool; NULL if the range is outside the
 * disk or the pool is exhausted.  Not registered yet.
 */
struct blk_dev *blk_partition_create(struct blk_dev *disk, unsigned index, uint64_t first,
				     uint64_t sectors);

#endif
