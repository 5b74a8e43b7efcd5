/*
 * The FAT driver over image files made by mkfs.fat and mtools: every FAT
 * type at several cluster sizes, files placed and fragmented by mtools and
 * read back bit-exact; writes (create, write at any offset, extend,
 * truncate, delete, directories, long names) after which fsck.fat -n is
 * clean and mtools reads exactly the bytes a model of the volume holds;
 * full volumes and full roots; damaged volumes and failing devices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/fat_impl.h"
#include "test/host/blk_file.h"

#define WORK "build/host/fat-work"
#define IMG WORK "/vol.img"

struct geometry {
	int type;
	const char *size;
	int spc;
	bool small; /* too small for the 1 MiB files */
	uint32_t sector; /* bytes per sector, of the volume and the device; 0: 512 */
};

/* FAT32 needs 65525 clusters: the large ones are sparse files. */
static const struct geometry geometries[] = {
	{12, "1M", 1, true, 512}, {12, "4M", 4, true, 512}, {16, "16M", 1, false, 512}, {16, "64M", 8, false, 512},
	{32, "40M", 1, false, 512}, {32, "300M", 8, false, 512},
	{16, "64M", 1, false, 4096}, {32, "300M", 1, false, 4096},
};

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static uint32_t img_sector = 512;

static void make_volume(const struct geometry *g)
{
	img_sector = g->sector != 0 ? g->sector : 512;
	sh("mkdir -p " WORK " && rm -f " IMG " && truncate -s %s " IMG
	   " && mkfs.fat -F %d -s %d -S %u -n TESTVOL " IMG " >/dev/null",
	   g->size, g->type, g->spc, img_sector);
}

/* Deterministic file contents: byte i of file seed. */
static uint8_t pattern(unsigned seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)seed * 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(x >> 29 ^ x >> 7);
}

static void write_host_file(const char *path, unsigned seed, size_t size)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc(pattern(seed, i), f);
	fclose(f);
}

struct mounted {
	struct blk_host h;
	struct fat_vol *v;
};

static void mount_img(struct mounted *m)
{
	assert_int_equal(blk_file_open(&m->h, IMG, img_sector, "img"), 0);
	assert_int_equal(fat_mount(&m->h.dev, &m->v), 0);
}

static void unmount_img(struct mounted *m)
{
	assert_int_equal(fat_unmount(m->v), 0);
	blk_file_close(&m->h);
}

static void fsck_clean(void)
{
	sh("fsck.fat -n " IMG " >" WORK "/fsck.log 2>&1 || { cat " WORK "/fsck.log; false; }");
}

/* Reads path whole through the driver, at an odd buffer address when odd. */
static uint8_t *read_all(struct fat_vol *v, const char *path, uint32_t *size, bool odd)
{
	struct fat_file *f;

	assert_int_equal(fat_open(v, path, 0, &f), 0);
	*size = fat_size(f);
	uint8_t *mem = aligned_alloc(4096, ALIGN_UP((size_t)*size + 4097, 4096));
	uint8_t *buf = mem + (odd ? 1 : 0);
	assert_int_equal(fat_read(f, 0, buf, *size + 100), (long)*size);
	fat_close(f);
	uint8_t *out = malloc(*size + 1);
	memcpy(out, buf, *size);
	free(mem);
	return out;
}

static void expect_pattern(struct fat_vol *v, const char *path, unsigned seed, size_t size)
{
	for (int odd = 0; odd < 2; odd++) {
		uint32_t got;
		uint8_t *data = read_all(v, path, &got, odd);
		assert_int_equal(got, size);
		for (size_t i = 0; i < size; i++)
			if (data[i] != pattern(seed, i))
				fail_msg("%s: byte %zu differs", path, i);
		free(data);
	}
}

static const size_t sizes[] = {0, 1, 511, 512, 4095, 4096, (1 << 20) + 3};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

#define LONGDIR "/Long Directory Name/Nested Ünïcode dir/deeper.still"

/* FAT32: forgets FSInfo's next-free hint, so mtools allocates from the holes. */
static void forget_next_free_hint(void)
{
	uint8_t boot[512];
	FILE *f = fopen(IMG, "r+b");

	assert_non_null(f);
	assert_int_equal(fread(boot, 1, sizeof(boot), f), sizeof(boot));
	if (memcmp(boot + 82, "FAT32", 5) == 0) {
		long at = (long)(boot[11] | boot[12] << 8) * (boot[48] | boot[49] << 8) + 492;
		assert_int_equal(fseek(f, at, SEEK_SET), 0);
		assert_int_equal(fwrite("\xff\xff\xff\xff", 1, 4, f), 4);
	}
	fclose(f);
}

/*
 * mtools writes files of every size in nested long-name dirs, then
 * fragments free space (fill, punch holes) and copies a file through the
 * holes.  A small volume gets the sizes up to 4096 only.
 */
static unsigned populate(bool small, size_t *frag_size)
{
	unsigned n = small ? NSIZES - 1 : NSIZES;

	sh("mmd -i " IMG " '::/Long Directory Name' '::/Long Directory Name/Nested Ünïcode dir'"
	   " '::" LONGDIR "' ::/SHORT");
	for (unsigned i = 0; i < n; i++) {
		char host[256];
		snprintf(host, sizeof(host), WORK "/f%u", i);
		write_host_file(host, i, sizes[i]);
		sh("mcopy -i " IMG " %s '::" LONGDIR "/file number %u.bin'", host, i);
		sh("mcopy -i " IMG " %s ::/SHORT/F%u.BIN", host, i);
	}
	for (unsigned i = 0; i < 6; i++)
		sh("mcopy -i " IMG " " WORK "/f%u ::/SHORT/PAD%u", n - 1, i);
	sh("mdel -i " IMG " ::/SHORT/PAD1 ::/SHORT/PAD3");
	forget_next_free_hint();
	*frag_size = small ? 3 * 4096 + 17 : (3 << 20) + 17;
	write_host_file(WORK "/frag", 99, *frag_size);
	sh("mcopy -i " IMG " " WORK "/frag '::/fragmented file.dat'");
	return n;
}

/* How many places the chain of path jumps: proof the file is fragmented. */
static unsigned fragments(struct fat_vol *v, const char *path)
{
	struct fat_dirent e;
	unsigned jumps = 0;

	assert_int_equal(fat_stat(v, path, &e), 0);
	for (uint32_t c = e.cluster, next;; c = next) {
		assert_int_equal(fat_next(v, c, &next), 0);
		if (next == FAT_EOC)
			return jumps;
		jumps += next != c + 1;
	}
}

static void test_read_mtools_volumes(void **state)
{
	(void)state;
	for (unsigned gi = 0; gi < sizeof(geometries) / sizeof(geometries[0]); gi++) {
		const struct geometry *g = &geometries[gi];
		struct mounted m;
		struct fat_info info;
		char path[512];
		size_t frag_size;
		make_volume(g);
		unsigned n = populate(g->small, &frag_size);
		mount_img(&m);
		fat_info(m.v, &info);
		assert_int_equal(info.type, g->type);
		assert_int_equal(info.cluster_size, img_sector * g->spc);
		for (unsigned i = 0; i < n; i++) {
			snprintf(path, sizeof(path), LONGDIR "/file number %u.bin", i);
			expect_pattern(m.v, path, i, sizes[i]);
			/* case-insensitive, either separator, the 8.3 name too */
			snprintf(path, sizeof(path), "\\short\\f%u.bin", i);
			expect_pattern(m.v, path, i, sizes[i]);
		}
		expect_pattern(m.v, "fragmented FILE.dat", 99, frag_size);
		assert_true(fragments(m.v, "/fragmented file.dat") >= 1);
		unmount_img(&m);
	}
}

/* The bytes a file should hold, as the writes so far made it. */
struct model_file {
	const char *path;
	uint8_t *data;
	size_t size;
	bool exists;
};

static struct model_file model[] = {
	{.path = "/a.txt"}, {.path = "/README.TXT"},
	{.path = "/dir one/A rather long file name with spaces.data"},
	{.path = "/dir one/sub/x"}, {.path = "/Ωmega ünicode.bin"},
	{.path = "/dir one/sub/0123456789abcdef.ext4"},
};
#define NMODEL (sizeof(model) / sizeof(model[0]))

static void model_reset(void)
{
	for (unsigned i = 0; i < NMODEL; i++) {
		free(model[i].data);
		model[i].data = NULL;
		model[i].size = 0;
		model[i].exists = false;
	}
}

/* mtools, not the driver, reads every file back; fsck.fat must be clean. */
static void model_verify_with_mtools(void)
{
	fsck_clean();
	for (unsigned i = 0; i < NMODEL; i++) {
		struct model_file *mf = &model[i];
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "mcopy -n -o -i " IMG " '::%s' " WORK "/out 2>/dev/null",
			 mf->path);
		unlink(WORK "/out");
		int rc = system(cmd);
		if (!mf->exists) {
			assert_int_not_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, 0);
		FILE *f = fopen(WORK "/out", "rb");
		assert_non_null(f);
		uint8_t *got = malloc(mf->size + 1);
		size_t n = fread(got, 1, mf->size + 1, f);
		fclose(f);
		if (n != mf->size || memcmp(got, mf->data, mf->size) != 0)
			fail_msg("%s: mtools reads %zu bytes, model has %zu (or contents differ)",
				 mf->path, n, mf->size);
		free(got);
	}
}

static void model_write(struct fat_vol *v, struct model_file *mf, size_t off, size_t len)
{
	struct fat_file *f;
	uint8_t *buf = aligned_alloc(512, ALIGN_UP(len + 1, 512));
	bool odd = rand() & 1;

	for (size_t i = 0; i < len; i++)
		buf[odd + i] = (uint8_t)rand();
	assert_int_equal(fat_open(v, mf->path, FAT_O_CREATE, &f), 0);
	assert_int_equal(fat_write(f, off, buf + odd, len), (long)len);
	if (off + len > mf->size) {
		mf->data = realloc(mf->data, off + len);
		memset(mf->data + mf->size, 0, off + len - mf->size);
		mf->size = off + len;
	}
	memcpy(mf->data + off, buf + odd, len);
	mf->exists = true;
	assert_int_equal(fat_size(f), mf->size);
	fat_close(f);
	free(buf);
}

static void model_truncate(struct fat_vol *v, struct model_file *mf, size_t size)
{
	struct fat_file *f;

	assert_int_equal(fat_open(v, mf->path, FAT_O_CREATE, &f), 0);
	assert_int_equal(fat_truncate(f, size), 0);
	if (size > mf->size) {
		mf->data = realloc(mf->data, size);
		memset(mf->data + mf->size, 0, size - mf->size);
	}
	mf->size = size;
	mf->exists = true;
	fat_close(f);
}

/* Random writes, extensions, truncations and deletions against the model. */
static void model_run(struct fat_vol **v, struct blk_host *h, unsigned steps, uint32_t cs)
{
	for (unsigned step = 0; step < steps; step++) {
		struct model_file *mf = &model[(unsigned)rand() % NMODEL];
		unsigned op = (unsigned)rand() % 10;
		size_t span = 3 * cs + (size_t)rand() % 3000;
		if (op < 5) {
			size_t off = (size_t)rand() % (mf->size + cs + 700);
			model_write(*v, mf, off, (size_t)rand() % span);
		} else if (op < 8) {
			model_truncate(*v, mf, (size_t)rand() % (mf->size + span));
		} else if (mf->exists) {
			assert_int_equal(fat_unlink(*v, mf->path), 0);
			free(mf->data);
			mf->data = NULL;
			mf->size = 0;
			mf->exists = false;
		} else {
			assert_int_equal(fat_unlink(*v, mf->path), -ENOENT);
		}
		if (step % 40 == 39) {
			assert_int_equal(fat_unmount(*v), 0);
			model_verify_with_mtools();
			assert_int_equal(fat_mount(&h->dev, v), 0);
		}
	}
}

static void test_write_model(void **state)
{
	(void)state;
	srand(1234);
	for (unsigned gi = 0; gi < sizeof(geometries) / sizeof(geometries[0]); gi++) {
		struct mounted m;
		struct fat_info before, after;
		make_volume(&geometries[gi]);
		mount_img(&m);
		fat_info(m.v, &before);
		assert_int_equal(fat_mkdir(m.v, "/dir one"), 0);
		assert_int_equal(fat_mkdir(m.v, "/dir one/sub"), 0);
		assert_int_equal(fat_mkdir(m.v, "/dir one"), -EEXIST);
		model_reset();
		model_run(&m.v, &m.h, 120, before.cluster_size);
		for (unsigned i = 0; i < NMODEL; i++)
			if (model[i].exists)
				assert_int_equal(fat_unlink(m.v, model[i].path), 0);
		model_reset();
		assert_int_equal(fat_rmdir(m.v, "/dir one"), -ENOTEMPTY);
		assert_int_equal(fat_rmdir(m.v, "/dir one/sub"), 0);
		assert_int_equal(fat_rmdir(m.v, "/dir one"), 0);
		fat_info(m.v, &after);
		assert_int_equal(after.free_clusters, before.free_clusters); /* nothing leaked */
		unmount_img(&m);
		model_verify_with_mtools();
	}
}

struct names {
	char seen[16][FAT_NAME_BYTES];
	unsigned n;
};

static int collect(const struct fat_dirent *e, void *ctx)
{
	struct names *l = ctx;

	if (l->n < 16)
		strcpy(l->seen[l->n++], e->name);
	return 0;
}

static bool listed(const struct names *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->seen[i], name) == 0)
			return true;
	return false;
}

static void touch(struct fat_vol *v, const char *path, int expect)
{
	struct fat_file *f;
	int err = fat_open(v, path, FAT_O_CREATE | FAT_O_EXCL, &f);

	assert_int_equal(err, expect);
	if (err == 0)
		fat_close(f);
}

/* Names: what is created is what mtools lists; aliases are unique; bad names refused. */
static void test_names_and_errors(void **state)
{
	static const struct geometry g = {16, "16M", 4, false, 512};
	struct mounted m;
	struct names l = {.n = 0};
	struct fat_dirent e;
	struct fat_file *f, *f2;
	char longest[300];

	(void)state;
	make_volume(&g);
	mount_img(&m);
	touch(m.v, "/UPPER.TXT", 0);
	touch(m.v, "/lower.txt", 0);
	touch(m.v, "/Same Prefix One.txt", 0);
	touch(m.v, "/Same Prefix Two.txt", 0);
	touch(m.v, "/same prefix one.TXT", -EEXIST); /* case-insensitive */
	touch(m.v, "/日本語.txt", 0);
	touch(m.v, "/bad?name", -EINVAL);
	touch(m.v, "/trailing.", -EINVAL);
	touch(m.v, "/missing/dir/file", -ENOENT);
	touch(m.v, "/UPPER.TXT/file", -ENOTDIR);
	memset(longest, 'n', 256);
	longest[0] = '/';
	longest[256] = '\0';
	touch(m.v, longest, 0); /* 255 characters */
	longest[256] = 'n';
	longest[257] = '\0';
	touch(m.v, longest, -ENAMETOOLONG);
	assert_int_equal(fat_stat(m.v, "/Same Prefix Two.txt", &e), 0);
	assert_string_equal(e.short_name, "SAMEPR~2.TXT");
	assert_int_equal(fat_list(m.v, "/", collect, &l), 0);
	assert_true(listed(&l, "UPPER.TXT") && listed(&l, "lower.txt") && listed(&l, "日本語.txt"));
	assert_true(listed(&l, "Same Prefix One.txt") && listed(&l, "Same Prefix Two.txt"));
	assert_int_equal(l.n, 6);
	assert_int_equal(fat_open(m.v, "/lower.txt", 0, &f), 0);
	assert_int_equal(fat_open(m.v, "/LOWER.TXT", 0, &f2), 0);
	assert_ptr_equal(f, f2); /* one handle per file, shared */
	assert_int_equal(fat_write(f, 10, "x", 1), 1);
	assert_int_equal(fat_size(f2), 11);
	assert_int_equal(fat_unlink(m.v, "/lower.txt"), -EBUSY);
	fat_close(f);
	fat_close(f2);
	assert_int_equal(fat_unlink(m.v, "/"), -EBUSY);
	assert_int_equal(fat_rmdir(m.v, "/UPPER.TXT"), -ENOTDIR);
	assert_int_equal(fat_open(m.v, "/", 0, &f), -EISDIR);
	assert_int_equal(fat_mkdir(m.v, "/d"), 0);
	assert_int_equal(fat_unlink(m.v, "/d"), -EISDIR);
	assert_int_equal(fat_rmdir(m.v, "/d/."), -EINVAL);
	assert_int_equal(fat_stat(m.v, "/d/../d/./..", &e), 0);
	assert_true(e.attr & FAT_ATTR_DIR);
	unmount_img(&m);
	fsck_clean();
	sh("mdir -i " IMG " ::/ > " WORK "/mdir.log && grep -q 'Same Prefix Two.txt' " WORK
	   "/mdir.log && grep -q 'lower.txt' " WORK "/mdir.log && grep -q 日本語.txt " WORK "/mdir.log");
}

/*
 * Aliases stay unique when the basis or the extension holds a '~' of its
 * own ("A~BLON~1.TXT", "LONGNA~1.T~X"): the tail is not the first '~'.
 */
static void test_alias_tilde(void **state)
{
	static const struct geometry g = {16, "16M", 4, false, 512};
	static const char *const pairs[][2] = {
		{"/a~b long name one.txt", "/a~b long name two.txt"},
		{"/long name one.t~x", "/long name two.t~x"},
		{"/~~~~~~~~~~ one", "/~~~~~~~~~~ two"},
	};
	struct mounted m;
	struct fat_dirent a, b;

	(void)state;
	make_volume(&g);
	mount_img(&m);
	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		touch(m.v, pairs[i][0], 0);
		touch(m.v, pairs[i][1], 0);
		assert_int_equal(fat_stat(m.v, pairs[i][0], &a), 0);
		assert_int_equal(fat_stat(m.v, pairs[i][1], &b), 0);
		if (strcmp(a.short_name, b.short_name) == 0)
			fail_msg("%s and %s share the alias %s", pairs[i][0], pairs[i][1], a.short_name);
		/* each alias leads to its own entry */
		char path[16];
		snprintf(path, sizeof(path), "/%s", b.short_name);
		assert_int_equal(fat_stat(m.v, path, &a), 0);
		assert_string_equal(a.name, pairs[i][1] + 1);
	}
	unmount_img(&m);
	fsck_clean();
}

/*
 * Leading periods are stripped before the basis and the extension are
 * taken (the specification's basis-name steps 4 and 7): ".bashrc" is
 * BASHRC~1, not an alias whose extension comes from the leading period.
 */
static void test_alias_leading_periods(void **state)
{
	static const struct geometry g = {16, "16M", 4, false, 512};
	static const char *const cases[][2] = {
		{"/.bashrc", "BASHRC~1"}, {"/..profile.bak", "PROFIL~1.BAK"}, {"/ . x", "X~1"},
	};
	struct mounted m;
	struct fat_dirent e;

	(void)state;
	make_volume(&g);
	mount_img(&m);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		touch(m.v, cases[i][0], 0);
		assert_int_equal(fat_stat(m.v, cases[i][0], &e), 0);
		assert_string_equal(e.short_name, cases[i][1]);
	}
	unmount_img(&m);
	fsck_clean();
}

/* A full volume says -ENOSPC and stays consistent; a full fixed root too. */
static void test_full(void **state)
{
	static const struct geometry g = {12, "1M", 1, true, 512};
	struct mounted m;
	struct fat_file *f;
	struct fat_info info;
	char name[32];
	uint8_t *buf = calloc(1, 64 << 10);

	(void)state;
	make_volume(&g);
	mount_img(&m);
	assert_int_equal(fat_open(m.v, "/big", FAT_O_CREATE, &f), 0);
	uint64_t off = 0;
	for (size_t chunk = 64 << 10; chunk > 0;) {
		long n = fat_write(f, off, buf, chunk);
		if (n > 0) {
			off += (uint64_t)n;
		} else {
			assert_int_equal(n, -ENOSPC);
			chunk /= 2;
		}
	}
	fat_info(m.v, &info);
	assert_int_equal(info.free_clusters, 0);
	assert_int_equal(fat_size(f), off); /* the failed write left the file as it was */
	assert_int_equal(fat_mkdir(m.v, "/nospace"), -ENOSPC);
	assert_int_equal(fat_truncate(f, 0), 0);
	fat_close(f);
	fat_info(m.v, &info);
	assert_int_equal(info.free_clusters, info.clusters);
	/* the fixed root fills up long before the clusters run out */
	int err = 0;
	unsigned made = 0;
	for (; err == 0; made++) {
		snprintf(name, sizeof(name), "/F%u", made);
		err = fat_mkdir(m.v, name);
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(made > 100);
	fat_info(m.v, &info);
	assert_true(info.free_clusters > 0);
	unmount_img(&m);
	fsck_clean();
	free(buf);
}

/*
 * FAT12 with 1022 clusters: entries 0 .. 1023 take exactly the 1536 bytes
 * of a 3-sector FAT.  It mounts, and its last cluster (an odd one, in the
 * last byte and a half) is used and freed cleanly.
 */
static void test_fat12_exact_fat(void **state)
{
	struct mounted m;
	struct fat_file *f;
	struct fat_info info;
	uint8_t *buf = calloc(1, 1024 * 512);

	(void)state;
	img_sector = 512;
	sh("mkdir -p " WORK " && rm -f " IMG " && truncate -s %u " IMG
	   " && mkfs.fat -F 12 -s 1 -R 1 -f 2 -r 512 -g 1/1 " IMG " >/dev/null", 1061 * 512);
	mount_img(&m);
	fat_info(m.v, &info);
	assert_int_equal(info.clusters, 1022);
	assert_int_equal(m.v->fat_sectors, 3);
	assert_int_equal(fat_open(m.v, "/ALL", FAT_O_CREATE, &f), 0);
	assert_int_equal(fat_write(f, 0, buf, 1022 * 512), 1022 * 512);
	assert_int_equal(fat_write(f, 1022 * 512, buf, 1), -ENOSPC);
	uint32_t last;
	assert_int_equal(fat_chain_nth(m.v, f->cluster, 1021, &last), 0);
	assert_int_equal(last, 1023);
	fat_close(f);
	unmount_img(&m);
	fsck_clean();
	mount_img(&m);
	assert_int_equal(fat_unlink(m.v, "/ALL"), 0);
	fat_info(m.v, &info);
	assert_int_equal(info.free_clusters, 1022);
	unmount_img(&m);
	fsck_clean();
	free(buf);
}

/* A FAT16 volume with a file of 10 clusters and a directory of 3 files. */
static void make_damage_volume(void)
{
	static const struct geometry g = {16, "16M", 1, false, 512};

	make_volume(&g);
	write_host_file(WORK "/ten", 7, 10 * 512);
	sh("mcopy -i " IMG " " WORK "/ten ::/TEN.BIN && mmd -i " IMG " ::/DIR && "
	   "mcopy -i " IMG " " WORK "/ten ::/DIR/A && mcopy -i " IMG " " WORK "/ten ::/DIR/B");
}

static void poke(uint64_t byte, const void *data, size_t len)
{
	FILE *f = fopen(IMG, "r+b");

	assert_non_null(f);
	assert_int_equal(fseek(f, (long)byte, SEEK_SET), 0);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Byte offset of the FAT16 entry of cluster c in the first FAT copy. */
static uint64_t fat16_entry(const struct fat_vol *v, uint32_t c)
{
	return (uint64_t)v->fat_start * v->bps + c * 2;
}

/* Byte offset of the 8.3 entry of a name in the fixed root. */
static uint64_t root_entry_byte(const struct fat_vol *v, const char *name)
{
	struct fat_where w;

	assert_int_equal(fat_walk((struct fat_vol *)v, name, false, &w), 0);
	assert_int_equal(w.loc.dir, 0);
	return (uint64_t)v->root_start * v->bps + w.loc.index * 32;
}

/* One LFN entry: part ord (0x40 added on the last) of 13 units, for the 8.3 name's checksum. */
static void lfn_slot(uint8_t *raw, unsigned ord, bool last, uint8_t checksum, uint16_t unit)
{
	static const uint8_t offsets[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

	memset(raw, 0, 32);
	raw[0] = (uint8_t)(ord | (last ? 0x40 : 0));
	raw[11] = 0x0f;
	raw[13] = checksum;
	for (unsigned i = 0; i < 13; i++) {
		raw[offsets[i]] = (uint8_t)unit;
		raw[offsets[i] + 1] = (uint8_t)(unit >> 8);
	}
}

static int check_names_fit(const struct fat_dirent *e, void *ctx)
{
	(void)ctx;
	assert_true(strlen(e->name) < FAT_NAME_BYTES);
	assert_true(strlen(e->short_name) <= 12);
	return 0;
}

/*
 * A name has at most 255 UCS-2 units, but 20 LFN entries hold 260: such a
 * set is no valid long name (and 260 three-byte characters would not fit
 * FAT_NAME_BYTES), so the entry reads with its 8.3 name.  A name of 255
 * three-byte characters still reads back whole.
 */
static void test_lfn_too_long(void **state)
{
	static const struct geometry g = {16, "16M", 4, false, 512};
	static const uint8_t name11[11] = "VICTIM  TXT";
	struct mounted m;
	struct fat_dirent e;
	char longest[1 + 255 * 3 + 1] = "/";
	uint8_t raw[21 * 32];

	(void)state;
	make_volume(&g);
	mount_img(&m);
	for (unsigned i = 0; i < 255; i++)
		strcat(longest, "日");
	touch(m.v, longest, 0);
	assert_int_equal(fat_stat(m.v, longest, &e), 0);
	assert_string_equal(e.name, longest + 1);
	uint64_t at = root_entry_byte(m.v, longest) + 32; /* the first free entry */
	unmount_img(&m);
	uint8_t sum = 0;
	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name11[i]);
	for (unsigned k = 0; k < 20; k++)
		lfn_slot(raw + k * 32, 20 - k, k == 0, sum, 0x65e5);
	memset(raw + 20 * 32, 0, 32);
	memcpy(raw + 20 * 32, name11, 11);
	raw[20 * 32 + 11] = FAT_ATTR_ARCHIVE;
	poke(at, raw, sizeof(raw));
	mount_img(&m);
	assert_int_equal(fat_stat(m.v, "/VICTIM.TXT", &e), 0);
	assert_string_equal(e.short_name, "VICTIM.TXT");
	assert_string_equal(e.name, "VICTIM.TXT");
	assert_int_equal(fat_list(m.v, "/", check_names_fit, NULL), 0);
	unmount_img(&m);
}

struct damage_case {
	const char *what;
	void (*damage)(const struct fat_vol *v, uint32_t file, uint32_t dir);
	const char *path; /* opened (a file) or listed (a directory) after the damage */
	int expect;
};

static void d_loop(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t back = (uint16_t)(file + 2); /* cluster 6 of 10 links back to cluster 3 */
	(void)dir;
	poke(fat16_entry(v, file + 5), &back, 2);
}

static void d_out_of_range(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t far = (uint16_t)(v->clusters + 2);
	(void)dir;
	poke(fat16_entry(v, file + 4), &far, 2);
}

static void d_free_link(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t zero = 0;
	(void)dir;
	poke(fat16_entry(v, file + 4), &zero, 2);
}

static void d_short_chain(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t eoc = 0xffff;
	(void)dir;
	poke(fat16_entry(v, file + 4), &eoc, 2);
}

static void d_entry_nowhere(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t far = (uint16_t)(v->clusters + 100);
	(void)file;
	(void)dir;
	poke(root_entry_byte(v, "/TEN.BIN") + 26, &far, 2);
}

static void d_dir_no_cluster(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t zero = 0;
	(void)file;
	(void)dir;
	poke(root_entry_byte(v, "/DIR") + 26, &zero, 2);
}

static void d_dir_loop(const struct fat_vol *v, uint32_t file, uint32_t dir)
{
	uint16_t self = (uint16_t)dir;
	(void)file;
	poke(fat16_entry(v, dir), &self, 2);
}

static const struct damage_case damage_cases[] = {
	{"file chain loops", d_loop, "/TEN.BIN", -ELOOP},
	{"file chain leaves the volume", d_out_of_range, "/TEN.BIN", -EINVAL},
	{"file chain runs into a free cluster", d_free_link, "/TEN.BIN", -EINVAL},
	{"file chain shorter than its size", d_short_chain, "/TEN.BIN", -EINVAL},
	{"entry points outside the volume", d_entry_nowhere, "/TEN.BIN", -EINVAL},
	{"directory entry without a cluster", d_dir_no_cluster, "/DIR/A", -EINVAL},
	{"directory chain loops", d_dir_loop, "/DIR", -ELOOP},
};

static int count_entries(const struct fat_dirent *e, void *ctx)
{
	(void)e;
	++*(unsigned *)ctx;
	return 0;
}

/*
 * FAT32: a ".." naming the root by its cluster number instead of 0 (which
 * fsck.fat reports as invalid) still leads to the one root directory, so
 * a file reached through it is the same open file, and is not removed
 * while open.
 */
static void test_dotdot_root_cluster(void **state)
{
	static const struct geometry g = {32, "40M", 1, false, 512};
	struct mounted m;
	struct fat_dirent sub;
	struct fat_file *f, *f2;

	(void)state;
	make_volume(&g);
	mount_img(&m);
	assert_int_equal(fat_mkdir(m.v, "/sub"), 0);
	touch(m.v, "/file", 0);
	assert_int_equal(fat_stat(m.v, "/sub", &sub), 0);
	uint64_t dotdot = fat_cluster_sector(m.v, sub.cluster) * m.v->bps + 32;
	uint16_t lo = (uint16_t)m.v->root_cluster, hi = (uint16_t)(m.v->root_cluster >> 16);
	unmount_img(&m);
	poke(dotdot + 26, &lo, 2);
	poke(dotdot + 20, &hi, 2);
	mount_img(&m);
	assert_int_equal(fat_open(m.v, "/file", 0, &f), 0);
	assert_int_equal(fat_open(m.v, "/sub/../file", 0, &f2), 0);
	assert_ptr_equal(f, f2);
	assert_int_equal(fat_unlink(m.v, "/sub/../file"), -EBUSY);
	fat_close(f2);
	fat_close(f);
	unmount_img(&m);
}

static void peek(uint64_t byte, void *data, size_t len)
{
	FILE *f = fopen(IMG, "rb");

	assert_non_null(f);
	assert_int_equal(fseek(f, (long)byte, SEEK_SET), 0);
	assert_int_equal(fread(data, 1, len, f), len);
	fclose(f);
}

/*
 * The two dirty marks fsck.fat reads: bit 0 of the boot sector's flags
 * byte (offset 37, on FAT32 65) and, on FAT16/32, the clean-shutdown bit
 * of FAT entry 1 (bit 15, on FAT32 bit 27), which is clear while dirty.
 */
struct dirty_marks {
	uint64_t flags_byte, entry1_byte[2]; /* the clean bit's byte in both FAT copies */
	uint8_t entry1_bit;                  /* 0 on FAT12: no such bit */
};

static struct dirty_marks dirty_marks(int type)
{
	uint8_t boot[512];

	peek(0, boot, sizeof(boot));
	uint64_t bps = fat_le16(boot + 11), fat = fat_le16(boot + 14) * bps;
	uint64_t fat_bytes = (fat_le16(boot + 22) != 0 ? fat_le16(boot + 22) : fat_le32(boot + 36)) * bps;
	uint64_t at = type == 32 ? fat + 7 : fat + 3; /* the entry's top byte */
	return (struct dirty_marks){type == 32 ? 65 : 37, {at, at + fat_bytes},
				    (uint8_t)(type == 32 ? 0x08 : type == 16 ? 0x80 : 0)};
}

/* Whether either mark says dirty. */
static bool marked_dirty(const struct dirty_marks *d)
{
	uint8_t flags, entry1;

	peek(d->flags_byte, &flags, 1);
	peek(d->entry1_byte[0], &entry1, 1);
	return (flags & 1) || (entry1 & d->entry1_bit) != d->entry1_bit;
}

static void set_dirty_mark(const struct dirty_marks *d, bool entry1)
{
	uint8_t b;

	if (!entry1) {
		peek(d->flags_byte, &b, 1);
		b |= 1;
		poke(d->flags_byte, &b, 1);
		return;
	}
	for (int copy = 0; copy < 2; copy++) {
		peek(d->entry1_byte[copy], &b, 1);
		b &= (uint8_t)~d->entry1_bit;
		poke(d->entry1_byte[copy], &b, 1);
	}
}

/*
 * A FAT with the dirty bit set (mounted read-only, no write reaches the
 * disk): every call that would change the volume says -EROFS, reading
 * still works, and unmounting writes nothing either, so the marks stay
 * for fsck.fat to see.  A volume the driver writes is marked dirty until
 * it is unmounted, then fsck-clean.
 */
static void make_dirty_test_volume(const struct geometry *g)
{
	make_volume(g);
	write_host_file(WORK "/f", 5, 3000);
	sh("mmd -i " IMG " ::/DIR ::/EMPTY && mcopy -i " IMG " " WORK "/f ::/DIR/F.BIN");
}

static void test_dirty_volume_read_only(void **state)
{
	static const struct geometry gs[] = {
		{12, "4M", 4, true, 512}, {16, "16M", 1, false, 512}, {32, "40M", 1, false, 512},
	};

	(void)state;
	for (unsigned gi = 0; gi < sizeof(gs) / sizeof(gs[0]); gi++) {
		const struct geometry *g = &gs[gi];
		struct mounted m;
		make_dirty_test_volume(g);
		struct dirty_marks d = dirty_marks(g->type);
		for (int entry1 = 0; entry1 <= (g->type != 12); entry1++) {
			struct fat_file *f;
			struct fat_info info;
			make_dirty_test_volume(g);
			set_dirty_mark(&d, entry1);
			assert_int_equal(blk_file_open(&m.h, IMG, img_sector, "img"), 0);
			assert_int_equal(fat_mount(&m.h.dev, &m.v), 0);
			fat_info(m.v, &info);
			assert_true(info.read_only);
			assert_int_equal(fat_mkdir(m.v, "/new"), -EROFS);
			assert_int_equal(fat_rmdir(m.v, "/EMPTY"), -EROFS);
			assert_int_equal(fat_unlink(m.v, "/DIR/F.BIN"), -EROFS);
			assert_int_equal(fat_open(m.v, "/new file", FAT_O_CREATE, &f), -EROFS);
			assert_int_equal(fat_open(m.v, "/DIR/F.BIN", FAT_O_CREATE, &f), 0);
			assert_int_equal(fat_write(f, 10, "x", 1), -EROFS);
			assert_int_equal(fat_write(f, 5000, "x", 1), -EROFS);
			assert_int_equal(fat_truncate(f, 100), -EROFS);
			assert_int_equal(fat_truncate(f, 10000), -EROFS);
			fat_close(f);
			expect_pattern(m.v, "/DIR/F.BIN", 5, 3000);
			assert_int_equal(fat_unmount(m.v), 0);
			assert_int_equal(m.h.writes, 0);
			blk_file_close(&m.h);
			assert_true(marked_dirty(&d));
		}
		make_dirty_test_volume(g);
		mount_img(&m);
		assert_false(marked_dirty(&d));
		assert_int_equal(fat_mkdir(m.v, "/written"), 0);
		assert_true(marked_dirty(&d));
		unmount_img(&m);
		assert_false(marked_dirty(&d));
		fsck_clean();
	}
}

/* Points FAT16 entry c at value in every FAT copy. */
static void poke_fat16(const struct fat_vol *v, uint32_t c, uint16_t value)
{
	for (uint32_t copy = 0; copy < v->nfats; copy++)
		poke(fat16_entry(v, c) + (uint64_t)copy * v->fat_sectors * v->bps, &value, 2);
}

/* fsck.fat -n reports clusters no file reaches, and nothing else. */
static void fsck_only_leaks(void)
{
	sh("fsck.fat -n " IMG " >" WORK "/fsck.log 2>&1; "
	   "grep -q '^Reclaimed [0-9]* unused clusters' " WORK "/fsck.log && "
	   "! grep -v -e '^fsck.fat ' -e '^Reclaimed [0-9]* unused clusters' "
	   "-e '^Leaving filesystem unchanged' -e '^$' -e ': [0-9]* files, [0-9/]* clusters$' "
	   WORK "/fsck.log || { cat " WORK "/fsck.log; false; }");
}

/* The driver and mtools both read exactly size bytes of want from path. */
static void expect_bytes(struct fat_vol *v, const char *path, const uint8_t *want, uint32_t size)
{
	uint32_t got;
	uint8_t *data = read_all(v, path, &got, false);

	assert_int_equal(got, size);
	assert_memory_equal(data, want, size);
	free(data);
}

static void expect_bytes_mtools(const char *path, const uint8_t *want, uint32_t size)
{
	uint8_t *got = malloc(size + 1);

	sh("mcopy -n -o -i " IMG " '::%s' " WORK "/out", path);
	FILE *f = fopen(WORK "/out", "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, size + 1, f), size);
	fclose(f);
	assert_memory_equal(got, want, size);
	free(got);
}

enum cross_op { CROSS_UNLINK_A, CROSS_TRUNCATE_A, CROSS_TRUNCATE_B };

/*
 * A FAT whose two files share a cluster (deleting one leaves the other
 * intact, fsck reports only the leak).  A and B have ten 512-byte clusters
 * each; B's fifth cluster is pointed at A's sixth, so B ends in A's last
 * five clusters (its own last five are lost).  Deleting A, or cutting A or
 * B short, frees only clusters no other chain reaches: the other file
 * reads back whole, and fsck.fat finds the lost clusters and no cross-link.
 */
static void test_cross_linked_free(void **state)
{
	static const struct geometry g = {16, "16M", 1, false, 512};
	const uint32_t size = 10 * 512, joined = 5 * 512;
	uint8_t a[10 * 512], b[10 * 512];

	(void)state;
	for (uint32_t i = 0; i < size; i++) {
		a[i] = pattern(1, i);
		b[i] = i < joined ? pattern(2, i) : a[i];
	}
	for (int op = CROSS_UNLINK_A; op <= CROSS_TRUNCATE_B; op++) {
		struct mounted m;
		struct fat_dirent ea, eb;
		struct fat_file *f;
		make_volume(&g);
		write_host_file(WORK "/a", 1, size);
		write_host_file(WORK "/b", 2, size);
		sh("mcopy -i " IMG " " WORK "/a ::/A.BIN && mcopy -i " IMG " " WORK "/b ::/B.BIN");
		mount_img(&m);
		assert_int_equal(fat_stat(m.v, "/A.BIN", &ea), 0);
		assert_int_equal(fat_stat(m.v, "/B.BIN", &eb), 0);
		poke_fat16(m.v, eb.cluster + 4, (uint16_t)(ea.cluster + 5));
		unmount_img(&m);
		mount_img(&m);
		expect_bytes(m.v, "/B.BIN", b, size);
		if (op == CROSS_UNLINK_A) {
			assert_int_equal(fat_unlink(m.v, "/A.BIN"), 0);
		} else {
			assert_int_equal(fat_open(m.v, op == CROSS_TRUNCATE_A ? "/A.BIN" : "/B.BIN", 0, &f), 0);
			assert_int_equal(fat_truncate(f, op == CROSS_TRUNCATE_A ? 1000 : 3 * 512), 0);
			fat_close(f);
		}
		unmount_img(&m);
		mount_img(&m);
		if (op == CROSS_TRUNCATE_B) {
			expect_bytes(m.v, "/A.BIN", a, size);
			expect_bytes(m.v, "/B.BIN", b, 3 * 512);
		} else {
			expect_bytes(m.v, "/B.BIN", b, size);
		}
		if (op == CROSS_TRUNCATE_A)
			expect_bytes(m.v, "/A.BIN", a, 1000);
		unmount_img(&m);
		fsck_only_leaks();
		if (op == CROSS_TRUNCATE_B)
			expect_bytes_mtools("/A.BIN", a, size);
		else
			expect_bytes_mtools("/B.BIN", b, size);
	}
}

/* Each damage is reported with its code; nothing hangs or crashes. */
static void test_damaged_volumes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(damage_cases) / sizeof(damage_cases[0]); i++) {
		const struct damage_case *d = &damage_cases[i];
		struct mounted m;
		struct fat_dirent file, dir;
		struct fat_file *f;
		unsigned n = 0;
		make_damage_volume();
		mount_img(&m);
		assert_int_equal(fat_stat(m.v, "/TEN.BIN", &file), 0);
		assert_int_equal(fat_stat(m.v, "/DIR", &dir), 0);
		d->damage(m.v, file.cluster, dir.cluster);
		unmount_img(&m);
		mount_img(&m);
		int err = d->expect == -ELOOP && strcmp(d->path, "/DIR") == 0
				  ? fat_list(m.v, d->path, count_entries, &n)
				  : fat_open(m.v, d->path, 0, &f);
		if (err != d->expect)
			fail_msg("%s: got %d, expected %d", d->what, err, d->expect);
		/* looking up, creating and removing in a looping directory end too */
		if (strcmp(d->path, "/DIR") == 0) {
			assert_int_equal(fat_open(m.v, "/DIR/NEW", FAT_O_CREATE, &f), -ELOOP);
			assert_int_equal(fat_rmdir(m.v, "/DIR"), -ELOOP);
		}
		unmount_img(&m);
	}
}

static void test_bad_boot_sectors(void **state)
{
	static const struct {
		unsigned offset;
		uint8_t bytes[4];
		unsigned len;
	} pokes[] = {
		{510, {0, 0}, 2},          /* no 55 AA */
		{11, {0x00, 0x03}, 2},     /* 768 bytes per sector */
		{13, {3}, 1},              /* 3 sectors per cluster */
		{16, {0}, 1},              /* no FAT */
		{19, {0xff, 0xff}, 2},     /* more sectors than the device */
		{22, {1, 0}, 2},           /* a FAT of one sector for thousands of clusters */
		{0, {0}, 1},               /* no jump instruction */
	};
	static const struct geometry g = {16, "16M", 4, false, 512};
	struct blk_host h;
	struct fat_vol *v;

	(void)state;
	for (unsigned i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		make_volume(&g);
		poke(pokes[i].offset, pokes[i].bytes, pokes[i].len);
		assert_int_equal(blk_file_open(&h, IMG, 512, "img"), 0);
		assert_int_equal(fat_mount(&h.dev, &v), -EINVAL);
		blk_file_close(&h);
	}
	/* a disk of zeros, and a disk too short for its volume */
	sh("rm -f " IMG " && truncate -s 1M " IMG);
	assert_int_equal(blk_file_open(&h, IMG, 512, "img"), 0);
	assert_int_equal(fat_mount(&h.dev, &v), -EINVAL);
	blk_file_close(&h);
	make_volume(&g);
	sh("truncate -s 8M " IMG);
	assert_int_equal(blk_file_open(&h, IMG, 512, "img"), 0);
	assert_int_equal(fat_mount(&h.dev, &v), -EINVAL);
	blk_file_close(&h);
}

static void put_le(uint8_t *p, uint64_t x, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

/*
 * FAT32 numbers clusters in 28 bits, and 0x0FFFFFF7 and up mean a bad
 * cluster or the end of a chain: a volume of more than 0x0FFFFFF5 clusters
 * (numbers 2 .. 0x0FFFFFF6) would hand out cluster numbers that read back
 * as those marks, so it is refused as damaged.  Sparse images with a FAT
 * big enough and a valid FSInfo, at the limit and one past it.
 */
static void test_fat32_too_many_clusters(void **state)
{
	static const struct {
		uint32_t clusters;
		int expect;
	} cases[] = {{0x0ffffff5, 0}, {0x0ffffff6, -EINVAL}};
	const uint32_t rsvd = 32;

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t clusters = cases[i].clusters;
		uint32_t fatsz = (uint32_t)(((uint64_t)clusters + 2) * 4 / 512 + 1);
		uint64_t total = rsvd + fatsz + (uint64_t)clusters;
		uint8_t boot[512] = {0xeb, 0x58, 0x90}, fsinfo[512] = {0};
		uint8_t fat[12];
		struct blk_host h;
		struct fat_vol *v;
		put_le(boot + 11, 512, 2);
		boot[13] = 1;
		put_le(boot + 14, rsvd, 2);
		boot[16] = 1;
		boot[21] = 0xf8;
		put_le(boot + 32, total, 4);
		put_le(boot + 36, fatsz, 4);
		put_le(boot + 44, 2, 4); /* root cluster */
		put_le(boot + 48, 1, 2); /* FSInfo sector */
		put_le(boot + 510, 0xaa55, 2);
		put_le(fsinfo, 0x41615252, 4);
		put_le(fsinfo + 484, 0x61417272, 4);
		put_le(fsinfo + 488, clusters - 1, 4);
		put_le(fsinfo + 492, 2, 4);
		put_le(fsinfo + 508, 0xaa550000, 4);
		put_le(fat, 0x0ffffff8, 4);
		put_le(fat + 4, 0x0fffffff, 4);
		put_le(fat + 8, 0x0fffffff, 4);
		sh("mkdir -p " WORK " && rm -f " IMG " && truncate -s %llu " IMG,
		   (unsigned long long)total * 512);
		poke(0, boot, sizeof(boot));
		poke(512, fsinfo, sizeof(fsinfo));
		poke((uint64_t)rsvd * 512, fat, sizeof(fat));
		assert_int_equal(blk_file_open(&h, IMG, 512, "img"), 0);
		assert_int_equal(fat_mount(&h.dev, &v), cases[i].expect);
		if (cases[i].expect == 0) {
			assert_int_equal(v->type, FAT32);
			assert_int_equal(fat_unmount(v), 0);
		}
		blk_file_close(&h);
	}
	sh("rm -f " IMG);
}

/* A device that fails mid-way gives -EIO to every call, never a crash. */
static void test_device_failure(void **state)
{
	struct mounted m;
	struct fat_file *f;
	uint8_t buf[4096];

	(void)state;
	for (int64_t after = 0; after < 40; after += 3) {
		make_damage_volume();
		mount_img(&m);
		m.h.fail_after = after;
		int r1 = fat_open(m.v, "/DIR/B", 0, &f);
		long r2 = r1 == 0 ? fat_read(f, 0, buf, sizeof(buf)) : r1;
		if (r1 == 0) {
			long w = fat_write(f, 100, buf, 3000);
			assert_true(w == 3000 || w == -EIO);
			fat_close(f);
		}
		int r3 = fat_mkdir(m.v, "/NEWDIR");
		assert_true(r1 == 0 || r1 == -EIO);
		assert_true(r2 == 4096 || r2 == -EIO);
		assert_true(r3 == 0 || r3 == -EIO);
		int r4 = fat_unmount(m.v);
		assert_true(r4 == 0 || r4 == -EIO);
		blk_file_close(&m.h);
	}
}

/* A device over another that fails one request, then works again. */
struct flaky_dev {
	struct blk_dev dev;
	struct blk_dev *inner;
	int64_t fail_at; /* requests to pass before the one that fails; -1: none */
};

static int flaky_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	struct flaky_dev *fd = dev->priv;

	for (size_t i = 0; i < n; i++) {
		if (fd->fail_at >= 0 && fd->fail_at-- == 0) {
			reqs[i].status = -EIO;
			return -EIO;
		}
		int err = blk_submit(fd->inner, &reqs[i], 1);
		if (err < 0)
			return err;
	}
	return 0;
}

static int flaky_flush(struct blk_dev *dev)
{
	return blk_flush(((struct flaky_dev *)dev->priv)->inner);
}

static const struct blk_ops flaky_ops = {flaky_submit, flaky_flush};

/*
 * Calls op(v, k) on a fresh mount with its k-th request failing, for k =
 * 0, 1, ... until op makes no k-th request.  Each call succeeds or says
 * -EIO; the free count agrees with the FAT; and once the device works
 * again and the volume is unmounted, fsck.fat finds it clean.
 */
static void each_request_failing(int (*op)(struct fat_vol *v, unsigned k))
{
	for (int64_t k = 0;; k++) {
		struct blk_host h;
		struct flaky_dev fd;
		struct fat_vol *v;
		assert_int_equal(blk_file_open(&h, IMG, img_sector, "img"), 0);
		fd.dev = h.dev;
		fd.dev.ops = &flaky_ops;
		fd.dev.priv = &fd;
		fd.inner = &h.dev;
		fd.fail_at = -1;
		assert_int_equal(fat_mount(&fd.dev, &v), 0);
		fd.fail_at = k;
		int r = op(v, (unsigned)k);
		bool failed = fd.fail_at < 0;
		fd.fail_at = -1;
		if (r != 0 && r != -EIO)
			fail_msg("request %lld failing: got %d", (long long)k, r);
		uint32_t counted = v->free_count;
		assert_int_equal(fat_count_free(v), 0);
		if (v->free_count != counted)
			fail_msg("request %lld failing: free count %u, the FAT has %u free", (long long)k,
				 counted, v->free_count);
		assert_int_equal(fat_unmount(v), 0);
		blk_file_close(&h);
		if (system("fsck.fat -n " IMG " >" WORK "/fsck.log 2>&1") != 0) {
			sh("cat " WORK "/fsck.log");
			fail_msg("request %lld failing: fsck.fat finds the volume damaged", (long long)k);
		}
		if (!failed)
			return;
	}
}

static int op_mkdir(struct fat_vol *v, unsigned k)
{
	char path[64];

	snprintf(path, sizeof(path), "/directory %u", k);
	return fat_mkdir(v, path);
}

/* A long name in /sub, which must grow to hold it. */
static int op_create_growing(struct fat_vol *v, unsigned k)
{
	char path[300];
	struct fat_file *f;

	memset(path, 'n', sizeof(path));
	snprintf(path, 11, "/sub/%05u", k);
	path[10] = 'n';
	path[5 + 255] = '\0';
	int err = fat_open(v, path, FAT_O_CREATE, &f);
	if (err == 0)
		fat_close(f);
	return err;
}

/*
 * A request failing once (clusters of 64 sectors, so zeroing a new one
 * writes through the 32-sector cache) while a directory is made or
 * grows: what the call took is given back, or kept whole.
 */
static void test_one_failed_request_allocating(void **state)
{
	static const struct geometry g = {16, "256M", 64, false, 512};
	struct mounted m;

	(void)state;
	make_volume(&g);
	each_request_failing(op_mkdir);
	mount_img(&m);
	assert_int_equal(fat_mkdir(m.v, "/sub"), 0);
	/* 48 names of 21 entries leave 14 of the 1024 in the first cluster */
	for (unsigned i = 0; i < 48; i++)
		assert_int_equal(op_create_growing(m.v, 90000 + i), 0);
	unmount_img(&m);
	each_request_failing(op_create_growing);
}

/* Writes 70000 bytes at off from an odd address (through the cache), then truncates to size. */
static int write_truncate(struct fat_vol *v, const char *path, uint64_t off, uint64_t size)
{
	static uint8_t buf[70001];
	struct fat_file *f;
	int err = fat_open(v, path, FAT_O_CREATE, &f);

	if (err < 0)
		return err;
	long n = fat_write(f, off, buf + 1, sizeof(buf) - 1);
	err = n < 0 ? (int)n : fat_truncate(f, size);
	fat_close(f);
	return err;
}

static int op_grow(struct fat_vol *v, unsigned k)
{
	char path[64];

	snprintf(path, sizeof(path), "/grown %u", k);
	return write_truncate(v, path, 5, 70005);
}

static int op_shrink(struct fat_vol *v, unsigned k)
{
	(void)k;
	return write_truncate(v, "/shrunk", 0, 1000);
}

/*
 * A request failing once while a file grows or shrinks: its directory
 * entry and its chain still agree, and no cluster is lost or shared.
 */
static void test_one_failed_request_resizing(void **state)
{
	static const struct geometry g = {16, "256M", 64, false, 512};

	(void)state;
	make_volume(&g);
	each_request_failing(op_grow);
	each_request_failing(op_shrink);
}

/*
 * Data that goes through the cache a sector at a time (an odd buffer, the
 * zeros of an extension) costs a few cache lookups per sector (and per
 * cluster allocated, on clusters of one sector): the run of contiguous
 * clusters is followed only as far as that sector, not up to a megabyte
 * ahead for every sector, which made it thousands (and extending a file by
 * 40 MiB on 512-byte clusters take minutes).
 */
static void test_cached_io_cost(void **state)
{
	static const struct geometry g = {32, "40M", 1, false, 512};
	const uint32_t size = 1 << 20, sectors = size / 512;
	uint8_t *buf = malloc(size + 1);
	struct mounted m;
	struct fat_file *f;

	(void)state;
	make_volume(&g);
	mount_img(&m);
	assert_int_equal(fat_open(m.v, "/zeros", FAT_O_CREATE, &f), 0);
	uint32_t before = m.v->cache_clock;
	assert_int_equal(fat_truncate(f, size), 0);
	uint32_t cost = m.v->cache_clock - before;
	if (cost > 64 * sectors)
		fail_msg("extending by %u sectors took %u cache lookups", sectors, cost);
	memset(buf, 0xff, size + 1);
	before = m.v->cache_clock;
	assert_int_equal(fat_read(f, 0, buf + 1, size), size);
	cost = m.v->cache_clock - before;
	if (cost > 64 * sectors)
		fail_msg("reading %u sectors to an odd address took %u cache lookups", sectors, cost);
	for (uint32_t i = 0; i < size; i++)
		assert_int_equal(buf[1 + i], 0);
	fat_close(f);
	unmount_img(&m);
	fsck_clean();
	free(buf);
}

/* fat_bmap's runs hold exactly the file's bytes, and never cross a fragment. */
static void test_bmap(void **state)
{
	static const struct geometry g = {32, "40M", 1, false, 512};
	struct mounted m;
	struct fat_file *f;
	size_t frag_size;
	uint8_t *sector = malloc(512);

	(void)state;
	make_volume(&g);
	populate(false, &frag_size);
	mount_img(&m);
	assert_int_equal(fat_open(m.v, "/fragmented file.dat", 0, &f), 0);
	FILE *img = fopen(IMG, "rb");
	assert_non_null(img);
	unsigned runs = 0;
	for (uint64_t off = 0; off < frag_size;) {
		uint64_t lba;
		uint32_t count;
		assert_int_equal(fat_bmap(f, off + 5, &lba, &count), 0); /* inside a sector too */
		assert_true(count > 0);
		for (uint32_t s = 0; s < count && off < frag_size; s++, off += 512) {
			assert_int_equal(fseek(img, (long)((lba + s) * 512), SEEK_SET), 0);
			assert_int_equal(fread(sector, 1, 512, img), 512);
			for (unsigned i = 0; i < 512 && off + i < frag_size; i++)
				if (sector[i] != pattern(99, off + i))
					fail_msg("bmap run at %llu: byte %llu wrong", (unsigned long long)lba,
						 (unsigned long long)(off + i));
		}
		runs++;
	}
	assert_true(runs >= 2);
	uint64_t lba;
	uint32_t count;
	assert_int_equal(fat_bmap(f, ALIGN_UP(frag_size, 512), &lba, &count), -EINVAL);
	/* a sector the cache holds (a partial read), rewritten through bmap's address */
	uint8_t got[8];
	assert_int_equal(fat_read(f, 515, got, 8), 8);
	assert_int_equal(fat_bmap(f, 512, &lba, &count), 0);
	memset(sector, 0xab, 512);
	assert_int_equal(blk_write(&m.h.dev, lba, 1, sector), 0);
	assert_int_equal(fat_read(f, 515, got, 8), 8);
	assert_memory_equal(got, sector, 8);
	fclose(img);
	fat_close(f);
	unmount_img(&m);
	free(sector);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_mtools_volumes),
		cmocka_unit_test(test_write_model),
		cmocka_unit_test(test_names_and_errors),
		cmocka_unit_test(test_lfn_too_long),
		cmocka_unit_test(test_alias_tilde),
		cmocka_unit_test(test_alias_leading_periods),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_fat12_exact_fat),
		cmocka_unit_test(test_damaged_volumes),
		cmocka_unit_test(test_dotdot_root_cluster),
		cmocka_unit_test(test_dirty_volume_read_only),
		cmocka_unit_test(test_cross_linked_free),
		cmocka_unit_test(test_bad_boot_sectors),
		cmocka_unit_test(test_fat32_too_many_clusters),
		cmocka_unit_test(test_device_failure),
		cmocka_unit_test(test_one_failed_request_allocating),
		cmocka_unit_test(test_one_failed_request_resizing),
		cmocka_unit_test(test_bmap),
		cmocka_unit_test(test_cached_io_cost),
	};
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
