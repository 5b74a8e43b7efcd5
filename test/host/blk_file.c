/* Host block devices: see blk_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/host/blk_file.h"

static int blk_host_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	struct blk_host *h = container_of(dev, struct blk_host, dev);
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		struct blk_req *r = &reqs[i];
		size_t len = (size_t)r->count * dev->sector_size;
		off_t off = (off_t)(r->lba * dev->sector_size);
		r->status = 0;
		if (h->fail_after >= 0 && (uint64_t)h->fail_after < r->count) {
			h->fail_after = 0; /* once failing, the device stays failed */
			r->status = -EIO;
		} else if (h->fd < 0) {
			if (h->fail_after >= 0)
				h->fail_after -= r->count;
			if (r->op == BLK_READ)
				memcpy(r->buf, h->mem + off, len);
			else
				memcpy(h->mem + off, r->buf, len);
		} else {
			if (h->fail_after >= 0)
				h->fail_after -= r->count;
			ssize_t done = r->op == BLK_READ ? pread(h->fd, r->buf, len, off)
							 : pwrite(h->fd, r->buf, len, off);
			if (done != (ssize_t)len)
				r->status = -EIO;
		}
		*(r->op == BLK_READ ? &h->reads : &h->writes) += r->count;
		if (r->status < 0 && err == 0)
			err = r->status;
	}
	return err;
}

static int blk_host_flush(struct blk_dev *dev)
{
	struct blk_host *h = container_of(dev, struct blk_host, dev);

	return h->fd < 0 || fsync(h->fd) == 0 ? 0 : -EIO;
}

static const struct blk_ops blk_host_ops = {blk_host_submit, blk_host_flush};

static void blk_host_init(struct blk_host *h, uint64_t bytes, uint32_t sector_size,
			  const char *name)
{
	memset(&h->dev, 0, sizeof(h->dev));
	snprintf(h->dev.name, sizeof(h->dev.name), "%s", name);
	h->dev.sector_size = sector_size;
	h->dev.sectors = bytes / sector_size;
	h->dev.ops = &blk_host_ops;
	h->reads = h->writes = 0;
	h->fail_after = -1;
}

int blk_file_open(struct blk_host *h, const char *path, uint32_t sector_size, const char *name)
{
	struct stat st;

	h->fd = open(path, O_RDWR);
	if (h->fd < 0 || fstat(h->fd, &st) != 0)
		return -errno;
	h->mem = NULL;
	blk_host_init(h, (uint64_t)st.st_size, sector_size, name);
	return 0;
}

void blk_file_close(struct blk_host *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

void blk_mem_create(struct blk_host *h, void *buf, size_t size, uint32_t sector_size,
		    const char *name)
{
	h->fd = -1;
	h->mem = buf;
	blk_host_init(h, size, sector_size, name);
}
