/*
 * libFuzzer harness for the FAT driver: the input is the start of a volume
 * (boot sector, FATs, root directory); the device is as large as the boot
 * sector claims (at most 40 MiB), zeros past the input.  The harness
 * mounts it, walks every directory four levels deep, reads and maps every
 * file, then creates, writes, truncates and removes files and directories.
 * Every call must return success or one of the codes fat.h documents,
 * without a crash, a leak or a hang.
 */
#include <stdlib.h>

#include "fs/fat.h"
#include "core/dev/blk.h"

#define FUZZ_MAX_VOLUME (40u << 20)
#define FUZZ_WRITE_SLOTS 8192 /* sectors a run may write outside its input */

/*
 * A sparse disk: the input, zeros after it, and sectors written since, in
 * a small open-addressed table (full: -EIO, which the driver must take).
 * Allocating the whole volume instead would cost more than the run.
 */
struct fuzz_disk {
	struct blk_dev dev;
	uint8_t *input;
	size_t input_len;
	uint64_t lba[FUZZ_WRITE_SLOTS]; /* UINT64_MAX: free */
	uint8_t data[FUZZ_WRITE_SLOTS][512];
};

static uint8_t *fuzz_slot(struct fuzz_disk *d, uint64_t lba, bool add)
{
	for (size_t i = 0, h = (size_t)(lba * 0x9e3779b97f4a7c15ull >> 51); i < FUZZ_WRITE_SLOTS;
	     i++, h = (h + 1) % FUZZ_WRITE_SLOTS) {
		if (d->lba[h] == lba)
			return d->data[h];
		if (d->lba[h] == UINT64_MAX) {
			if (!add)
				return NULL;
			d->lba[h] = lba;
			return d->data[h];
		}
	}
	return NULL;
}

static int fuzz_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	struct fuzz_disk *d = container_of(dev, struct fuzz_disk, dev);
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		reqs[i].status = 0;
		for (uint32_t k = 0; k < reqs[i].count; k++) {
			uint64_t lba = reqs[i].lba + k;
			uint8_t *buf = (uint8_t *)reqs[i].buf + (size_t)k * 512;
			uint8_t *w = fuzz_slot(d, lba, reqs[i].op == BLK_WRITE);
			if (reqs[i].op == BLK_WRITE && w == NULL) {
				reqs[i].status = err = -EIO;
			} else if (reqs[i].op == BLK_WRITE) {
				memcpy(w, buf, 512);
			} else if (w != NULL) {
				memcpy(buf, w, 512);
			} else {
				size_t at = (size_t)lba * 512;
				size_t have = at < d->input_len ? MIN((size_t)512, d->input_len - at) : 0;
				memcpy(buf, d->input + at, have);
				memset(buf + have, 0, 512 - have);
			}
		}
	}
	return err;
}

static const struct blk_ops fuzz_ops = {fuzz_submit, NULL};

static void expect_code(long r)
{
	static const int allowed[] = {ENOENT, ENOTDIR, EISDIR, EEXIST, ENOTEMPTY, EBUSY, ENOSPC,
				      EFBIG, ENAMETOOLONG, EINVAL, ELOOP, EIO, ENOMEM, EROFS};
	if (r >= 0)
		return;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (r == -allowed[i])
			return;
	abort();
}

struct walk {
	struct fat_vol *v;
	char path[1024];
	int depth;
	unsigned visited;
};

static void walk_dir(struct walk *w);

static int visit(const struct fat_dirent *e, void *ctx)
{
	struct walk *w = ctx;
	size_t len = strlen(w->path);

	if (++w->visited > 512 || len + strlen(e->name) + 2 > sizeof(w->path))
		return 1;
	strcat(w->path, "/");
	strcat(w->path, e->name);
	if (e->attr & FAT_ATTR_DIR) {
		walk_dir(w);
	} else {
		static uint8_t buf[9000];
		struct fat_file *f;
		int r = fat_open(w->v, w->path, 0, &f);
		expect_code(r);
		if (r == 0) {
			long n = fat_read(f, 0, buf, sizeof(buf));
			expect_code(n);
			if (n > (long)sizeof(buf) || (n >= 0 && (uint64_t)n > fat_size(f)))
				abort();
			expect_code(fat_read(f, fat_size(f) > 100 ? fat_size(f) - 100 : 0, buf + 1, 200));
			uint64_t lba;
			uint32_t count;
			if (fat_size(f) > 0 && fat_bmap(f, 0, &lba, &count) == 0 &&
			    (count == 0 || lba >= 2 * (uint64_t)FUZZ_MAX_VOLUME / 512))
				abort();
			fat_close(f);
		}
	}
	w->path[len] = '\0';
	return 0;
}

static void walk_dir(struct walk *w)
{
	if (w->depth >= 4)
		return;
	w->depth++;
	expect_code(fat_list(w->v, w->path[0] ? w->path : "/", visit, w));
	w->depth--;
}

static void mutate(struct fat_vol *v)
{
	static uint8_t buf[5000];
	struct fat_file *f;

	expect_code(fat_mkdir(v, "/Fuzz Directory"));
	int r = fat_open(v, "/Fuzz Directory/a new file.txt", FAT_O_CREATE, &f);
	expect_code(r);
	if (r == 0) {
		memset(buf, 0x5a, sizeof(buf));
		expect_code(fat_write(f, 1000, buf, sizeof(buf)));
		expect_code(fat_truncate(f, 100));
		expect_code(fat_read(f, 0, buf, sizeof(buf)));
		fat_close(f);
	}
	expect_code(fat_unlink(v, "/Fuzz Directory/a new file.txt"));
	expect_code(fat_rmdir(v, "/Fuzz Directory"));
	r = fat_open(v, "/SHORT.TXT", FAT_O_CREATE, &f);
	expect_code(r);
	if (r == 0) {
		expect_code(fat_write(f, 0, buf, 3));
		fat_close(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_disk disk;
	struct fat_vol *v;

	if (size < 512)
		return 0;
	uint32_t total = (uint32_t)(data[19] | data[20] << 8);
	if (total == 0)
		total = (uint32_t)data[32] | (uint32_t)data[33] << 8 | (uint32_t)data[34] << 16 |
			(uint32_t)data[35] << 24;
	disk.dev = (struct blk_dev){.name = "fuzz0", .sector_size = 512, .ops = &fuzz_ops};
	disk.dev.sectors = MAX(ALIGN_UP(size, 512), MIN((size_t)total * 512, (size_t)FUZZ_MAX_VOLUME)) / 512;
	disk.input = malloc(size);
	memcpy(disk.input, data, size);
	disk.input_len = size;
	memset(disk.lba, 0xff, sizeof(disk.lba));
	int r = fat_mount(&disk.dev, &v);
	expect_code(r);
	if (r == 0) {
		struct walk w = {v, "", 0, 0};
		walk_dir(&w);
		mutate(v);
		w.visited = 0;
		walk_dir(&w);
		expect_code(fat_unmount(v));
	}
	free(disk.input);
	return 0;
}
