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
#include "test/host/blk_file.h"

#define FUZZ_MAX_VOLUME (40u << 20)

static void expect_code(long r)
{
	static const int allowed[] = {ENOENT, ENOTDIR, EISDIR, EEXIST, ENOTEMPTY, EBUSY, ENOSPC,
				      EFBIG, ENAMETOOLONG, EINVAL, ELOOP, EIO, ENOMEM};
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
	static struct blk_host disk;
	struct fat_vol *v;

	if (size < 512)
		return 0;
	uint32_t total = (uint32_t)(data[19] | data[20] << 8);
	if (total == 0)
		total = (uint32_t)data[32] | (uint32_t)data[33] << 8 | (uint32_t)data[34] << 16 |
			(uint32_t)data[35] << 24;
	size_t bytes = MAX(ALIGN_UP(size, 512), MIN((size_t)total * 512, (size_t)FUZZ_MAX_VOLUME));
	uint8_t *img = calloc(1, bytes);
	memcpy(img, data, size);
	blk_mem_create(&disk, img, bytes, 512, "fuzz0");
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
	free(img);
	return 0;
}
