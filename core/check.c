/* Check mode: see check.h. */
#include "core/check.h"
#include "core/dev/storage.h"
#include "core/lib/sha256.h"
#include "fs/fat_pager.h"

/*
 * Hashes the file through a read-only mapping in the kernel map (shared:
 * a private one would only add a shadow that nothing writes to).
 * Each page is faulted in explicitly before it is read, so that a failing
 * page-in is reported as an error rather than taken as a kernel fault.
 */
static int check_one(const char *path)
{
	struct vm_map *map = vm_map_kernel();
	struct fat_file *f;
	struct sha256 s;
	uint8_t digest[SHA256_DIGEST];
	char hex[2 * SHA256_DIGEST + 1];
	uint64_t off = 0, size;
	vaddr_t va = 0;
	int err = fat_open(storage.vol, path, 0, &f);

	if (err < 0)
		return err;
	size = fat_size(f);
	if (size > 0)
		err = fat_map(map, f, 0, size, VM_PROT_READ, true, 0, &va);
	fat_close(f); /* the mapping holds the file */
	sha256_init(&s);
	for (; err == 0 && off < size; off += PAGE_SIZE) {
		err = vm_fault(map, va + off, VM_PROT_READ, false);
		if (err == 0)
			sha256_update(&s, (const void *)(va + off),
				      (size_t)MIN((uint64_t)PAGE_SIZE, size - off));
	}
	if (va != 0)
		vm_map_free(map, va);
	if (err < 0)
		return err;
	sha256_final(&s, digest);
	sha256_hex(digest, hex);
	kprintf("CHECK %s %s %llu\n", path, hex, (unsigned long long)size);
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
			int err = check_one(path);
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
	return failed;
}
