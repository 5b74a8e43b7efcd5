/* Check mode: see check.h. */
#include "core/check.h"
#include "core/dev/storage.h"
#include "core/lib/sha256.h"
#include "core/mm/kmem.h"
#include "fs/fat.h"

#define CHECK_CHUNK_PAGES 16 /* 64 KiB per read: whole sectors go straight to the buffer */

static int check_one(const char *path, uint8_t *buf)
{
	struct fat_file *f;
	struct sha256 s;
	uint8_t digest[SHA256_DIGEST];
	char hex[2 * SHA256_DIGEST + 1];
	uint64_t off = 0;
	int err = fat_open(storage.vol, path, 0, &f);

	if (err < 0)
		return err;
	sha256_init(&s);
	for (;;) {
		long n = fat_read(f, off, buf, CHECK_CHUNK_PAGES * PAGE_SIZE);
		if (n <= 0) {
			err = (int)n;
			break;
		}
		sha256_update(&s, buf, (size_t)n);
		off += (uint64_t)n;
	}
	fat_close(f);
	if (err < 0)
		return err;
	sha256_final(&s, digest);
	sha256_hex(digest, hex);
	kprintf("CHECK %s %s %llu\n", path, hex, (unsigned long long)off);
	return 0;
}

int check_run(const char *paths)
{
	char path[CHECK_PATH_MAX];
	int failed = 0, total = 0;

	if (storage.vol == NULL) {
		log_error("check: no FAT volume to read files from");
		return -ENODEV;
	}
	uint8_t *buf = kmem_alloc_pages(CHECK_CHUNK_PAGES);
	if (buf == NULL)
		return -ENOMEM;
	for (const char *p = paths; *p != '\0';) {
		size_t n = 0;
		while (p[n] != '\0' && p[n] != ',')
			n++;
		if (n >= sizeof(path)) {
			log_error("check: a path of %zu bytes (at most %zu): not checked", n,
				  sizeof(path) - 1);
			failed++;
		} else if (n > 0) {
			memcpy(path, p, n);
			path[n] = '\0';
			int err = check_one(path, buf);
			if (err < 0) {
				log_error("check: %s: %s", path, err_name(err));
				failed++;
			}
		}
		total += n > 0;
		p += n + (p[n] == ',');
	}
	if (failed > 0)
		log_error("check: %d of %d paths failed", failed, total);
	kmem_free_pages(buf, CHECK_CHUNK_PAGES);
	return failed;
}
