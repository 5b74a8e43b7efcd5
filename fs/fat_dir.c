/*
 * FAT directories: 32-byte entries in the fixed root (FAT12/16) or in a
 * cluster chain; long names as LFN entries checked by the checksum of the
 * 8.3 entry they precede; lookup, creation (with a generated 8.3 alias),
 * removal and path walks.
 *
 * A directory is named by its first cluster, 0 standing for the root on
 * every FAT type, as ".." entries name it.  Entries are addressed by index;
 * a cursor remembers the last cluster reached so a scan is linear.
 */
#include "core/mm/malloc.h"
#include "fs/fat_impl.h"

/* 2026-01-01 00:00: Phobos has no wall clock yet, so every stamp is this. */
#define FAT_STAMP_DATE ((uint16_t)(((2026 - 1980) << 9) | (1 << 5) | 1))
#define LFN_CHARS 13
#define LFN_MAX_SLOTS 20

struct fat_cursor {
	uint32_t dir;
	uint32_t ci, cluster; /* the ci-th cluster of the chain is cluster */
};

static const uint8_t lfn_offsets[LFN_CHARS] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

static uint32_t fat_entry_cluster(const struct fat_vol *v, const uint8_t *raw)
{
	uint32_t lo = fat_le16(raw + 26), hi = fat_le16(raw + 20);

	return v->type == FAT32 ? (lo | hi << 16) & 0x0fffffff : lo;
}

static void fat_cursor_init(struct fat_cursor *c, const struct fat_vol *v, uint32_t dir)
{
	c->dir = dir;
	c->ci = 0;
	c->cluster = dir != 0 ? dir : v->type == FAT32 ? v->root_cluster : 0;
}

/* A cursor at the start of dir, whose chain has been checked for loops. */
static int fat_cursor_start(struct fat_cursor *c, struct fat_vol *v, uint32_t dir)
{
	uint32_t len;

	fat_cursor_init(c, v, dir);
	if (c->cluster == 0)
		return 0;
	return fat_chain_check(v, c->cluster, FAT_DIR_MAX_ENTRIES / (v->cluster_size / FAT_ENTRY_SIZE),
			       &len);
}

/* The sector of entry index: 0, 1 when index is past the end, or an error. */
static int fat_dir_sector(struct fat_vol *v, struct fat_cursor *c, uint32_t index,
			  uint64_t *sector)
{
	uint32_t per_sector = v->bps / FAT_ENTRY_SIZE;

	if (index >= FAT_DIR_MAX_ENTRIES)
		return 1;
	if (c->cluster == 0) { /* the fixed root */
		if (index >= v->root_entries)
			return 1;
		*sector = v->root_start + index / per_sector;
		return 0;
	}
	uint32_t want = index / (v->cluster_size / FAT_ENTRY_SIZE);
	if (want < c->ci)
		fat_cursor_init(c, v, c->dir);
	if (!fat_cluster_valid(v, c->cluster))
		return fat_corrupt("directory cluster out of range", c->cluster);
	while (c->ci < want) {
		uint32_t next;
		int err = fat_next(v, c->cluster, &next);
		if (err < 0)
			return err;
		if (next == FAT_EOC)
			return 1;
		c->cluster = next;
		c->ci++;
	}
	*sector = fat_cluster_sector(v, c->cluster) + (index % (v->cluster_size / FAT_ENTRY_SIZE)) / per_sector;
	return 0;
}

/* The raw entry index of the directory, in the cache; 1 past the end. */
static int fat_dir_raw(struct fat_vol *v, struct fat_cursor *c, uint32_t index, uint8_t **raw,
		       uint64_t *sector)
{
	uint8_t *data;
	int err = fat_dir_sector(v, c, index, sector);

	if (err != 0)
		return err;
	err = fat_cache_get(v, *sector, true, &data);
	if (err < 0)
		return err;
	*raw = data + (index * FAT_ENTRY_SIZE) % v->bps;
	return 0;
}

static uint8_t fat_lfn_checksum(const uint8_t *name11)
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name11[i]);
	return sum;
}

static char fat_ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* "NAME.EXT" from the 11 bytes, lower-cased where the NT case bits say. */
static void fat_short_text(const uint8_t *raw, char *out)
{
	size_t n = 0;
	uint8_t lower_base = raw[12] & 0x08, lower_ext = raw[12] & 0x10;

	for (int i = 0; i < 8 && raw[i] != ' '; i++) {
		char ch = (char)(i == 0 && raw[0] == 0x05 ? 0xe5 : raw[i]);
		out[n++] = lower_base ? fat_ascii_lower(ch) : ch;
	}
	if (raw[8] != ' ')
		out[n++] = '.';
	for (int i = 8; i < 11 && raw[i] != ' '; i++)
		out[n++] = lower_ext ? fat_ascii_lower((char)raw[i]) : (char)raw[i];
	out[n] = '\0';
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* UTF-16 units to UTF-8; unpaired surrogates become U+FFFD. */
static void utf16_to_utf8(const uint16_t *u, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n && u[i] != 0; i++) {
		uint32_t cp = u[i];
		if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (u[i + 1] - 0xdc00);
			i++;
		} else if (cp >= 0xd800 && cp < 0xe000) {
			cp = 0xfffd;
		}
		o += utf8_put(out + o, cp);
	}
	out[o] = '\0';
}

/* UTF-8 to UTF-16 units; -EINVAL for malformed text, -ENAMETOOLONG past 255 units. */
static int utf8_to_utf16(const char *s, size_t len, uint16_t *u, size_t *n)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		uint8_t b = (uint8_t)s[i];
		unsigned extra = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2
				 : (b & 0xf8) == 0xf0 ? 3 : 4;
		if (extra == 4 || i + extra >= len)
			return -EINVAL;
		uint32_t cp = extra == 0 ? b : b & (0x3f >> extra);
		for (unsigned k = 1; k <= extra; k++) {
			if (((uint8_t)s[i + k] & 0xc0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | ((uint8_t)s[i + k] & 0x3f);
		}
		static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
		if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return -EINVAL;
		i += extra + 1;
		if (o + (cp >= 0x10000) >= FAT_NAME_MAX)
			return -ENAMETOOLONG;
		if (cp >= 0x10000) {
			u[o++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			cp = 0xdc00 + ((cp - 0x10000) & 0x3ff);
		}
		u[o++] = (uint16_t)cp;
	}
	*n = o;
	return 0;
}

static bool fat_name_eq(const char *a, size_t alen, const char *b)
{
	size_t i = 0;

	for (; i < alen && b[i] != '\0'; i++)
		if (fat_ascii_lower(a[i]) != fat_ascii_lower(b[i]))
			return false;
	return i == alen && b[i] == '\0';
}

/* A long name being gathered from LFN entries, last part first. */
struct fat_lfn {
	uint16_t units[LFN_MAX_SLOTS * LFN_CHARS];
	uint8_t checksum, next_ord; /* next_ord 0: nothing gathered */
	uint32_t first;
};

static void fat_lfn_take(struct fat_lfn *l, const uint8_t *raw, uint32_t index)
{
	uint8_t ord = raw[0] & 0x1f;

	if (raw[0] & 0x40) {
		l->next_ord = ord;
		l->checksum = raw[13];
		l->first = index;
		memset(l->units, 0, sizeof(l->units));
	}
	if (ord == 0 || ord > LFN_MAX_SLOTS || ord != l->next_ord || raw[13] != l->checksum ||
	    raw[26] != 0 || raw[27] != 0) {
		l->next_ord = 0; /* orphaned or out of order: ignore the pieces */
		return;
	}
	for (int i = 0; i < LFN_CHARS; i++) {
		const uint8_t *p = raw + lfn_offsets[i];
		l->units[(ord - 1) * LFN_CHARS + i] = fat_le16(p);
	}
	l->next_ord = (uint8_t)(ord - 1);
	if (l->next_ord == 0) {
		/*
		 * Complete: waits for its 8.3 entry, unless it holds more than
		 * FAT_NAME_MAX units (20 entries hold 260), which is no valid
		 * name and may not fit FAT_NAME_BYTES once in UTF-8.
		 */
		size_t n = 0;
		while (n < FAT_NAME_MAX + 1 && l->units[n] != 0)
			n++;
		l->next_ord = n <= FAT_NAME_MAX ? 0xff : 0;
	}
}

int fat_dir_iterate(struct fat_vol *v, uint32_t dir,
		    int (*fn)(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx),
		    void *ctx)
{
	struct fat_cursor c;
	struct fat_lfn lfn = {.next_ord = 0};
	struct fat_dirent e;
	int err = fat_cursor_start(&c, v, dir);

	if (err < 0)
		return err;
	for (uint32_t index = 0;; index++) {
		uint8_t *raw;
		uint64_t sector;
		err = fat_dir_raw(v, &c, index, &raw, &sector);
		if (err != 0)
			return err < 0 ? err : 0;
		if (raw[0] == 0)
			return 0;
		if (raw[0] == FAT_DELETED) {
			lfn.next_ord = 0;
			continue;
		}
		if ((raw[11] & 0x3f) == FAT_ATTR_LFN) {
			fat_lfn_take(&lfn, raw, index);
			continue;
		}
		bool have_lfn = lfn.next_ord == 0xff && lfn.checksum == fat_lfn_checksum(raw);
		struct fat_loc loc = {dir, index, have_lfn ? lfn.first : index};
		lfn.next_ord = 0;
		if (raw[11] & FAT_ATTR_VOLUME)
			continue;
		fat_short_text(raw, e.short_name);
		if (have_lfn)
			utf16_to_utf8(lfn.units, LFN_MAX_SLOTS * LFN_CHARS, e.name);
		else
			memcpy(e.name, e.short_name, sizeof(e.short_name));
		e.attr = raw[11];
		e.cluster = fat_entry_cluster(v, raw);
		e.size = fat_le32(raw + 28);
		err = fn(&e, &loc, ctx);
		if (err != 0)
			return err;
	}
}

struct fat_find {
	const char *name;
	size_t len;
	struct fat_dirent *e;
	struct fat_loc *loc;
};

static int fat_find_one(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx)
{
	struct fat_find *f = ctx;

	if (!fat_name_eq(f->name, f->len, e->name) && !fat_name_eq(f->name, f->len, e->short_name))
		return 0;
	*f->e = *e;
	*f->loc = *loc;
	return 1;
}

/* An entry must point somewhere sane before anything follows it. */
static int fat_entry_check(const struct fat_vol *v, const struct fat_dirent *e)
{
	bool dot = strcmp(e->short_name, ".") == 0 || strcmp(e->short_name, "..") == 0;

	if (e->cluster != 0 && !fat_cluster_valid(v, e->cluster))
		return fat_corrupt("directory entry points outside the volume", e->cluster);
	if (e->cluster == 0 && (e->attr & FAT_ATTR_DIR) && !dot)
		return fat_corrupt("directory entry without a cluster", 0);
	if (e->cluster == 0 && e->size != 0 && !(e->attr & FAT_ATTR_DIR))
		return fat_corrupt("file with data but no cluster", e->size);
	return 0;
}

int fat_dir_lookup(struct fat_vol *v, uint32_t dir, const char *name, size_t len,
		   struct fat_dirent *e, struct fat_loc *loc)
{
	struct fat_find f = {name, len, e, loc};
	int err = fat_dir_iterate(v, dir, fat_find_one, &f);

	if (err < 0)
		return err;
	return err == 0 ? -ENOENT : fat_entry_check(v, e);
}

int fat_walk(struct fat_vol *v, const char *path, bool parent_only, struct fat_where *w)
{
	const char *p = path;

	w->dir = 0;
	w->e = (struct fat_dirent){.name = "/", .short_name = "/", .attr = FAT_ATTR_DIR};
	w->loc = (struct fat_loc){0, 0, 0};
	w->leaf = NULL;
	w->leaf_len = 0;
	for (;;) {
		while (*p == '/' || *p == '\\')
			p++;
		if (*p == '\0')
			break;
		const char *name = p;
		while (*p != '\0' && *p != '/' && *p != '\\')
			p++;
		const char *rest = p;
		while (*rest == '/' || *rest == '\\')
			rest++;
		if (!(w->e.attr & FAT_ATTR_DIR))
			return -ENOTDIR;
		/* the root is 0 however it is reached: a damaged ".." may name its cluster */
		w->dir = v->type == FAT32 && w->e.cluster == v->root_cluster ? 0 : w->e.cluster;
		w->leaf = name;
		w->leaf_len = (size_t)(p - name);
		if (parent_only && *rest == '\0')
			break;
		int err = fat_dir_lookup(v, w->dir, name, w->leaf_len, &w->e, &w->loc);
		if (err < 0)
			return err;
	}
	return parent_only && w->leaf == NULL ? -EINVAL : 0; /* the root has no parent */
}

/* Characters an 8.3 name may hold besides A-Z and 0-9. */
static bool fat_short_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'()-@^_`{}~", ch) != NULL);
}

/* The 11 bytes if name already is a valid upper-case 8.3 name. */
static bool fat_exact_short(const char *name, size_t len, uint8_t out[11])
{
	const char *dot = NULL;

	for (size_t i = 0; i < len && dot == NULL; i++)
		if (name[i] == '.')
			dot = name + i;
	size_t base = dot != NULL ? (size_t)(dot - name) : len;
	size_t ext = dot != NULL ? len - base - 1 : 0;

	if (base == 0 || base > 8 || ext > 3 || (dot != NULL && ext == 0))
		return false;
	memset(out, ' ', 11);
	for (size_t i = 0; i < len; i++) {
		if (dot != NULL && name + i == dot)
			continue;
		if (!fat_short_char(name[i]))
			return false;
		out[i < base ? i : 8 + (i - base - 1)] = (uint8_t)name[i];
	}
	return true;
}

/* A directory holds at most 65536 entries, so one of ~1 .. ~65537 is free. */
#define FAT_ALIAS_TRIES (FAT_DIR_MAX_ENTRIES + 1)

struct fat_alias {
	uint8_t basis[8], ext[3];
	size_t nb, ne;
	uint8_t *taken; /* bit n: ~n is in use */
};

/* The 8.3 text of alias number n ("BASIS~N.EXT"); name11 gets its bytes. */
static void fat_alias_name(const struct fat_alias *a, uint32_t n, uint8_t name11[13], char *text)
{
	char tail[9];
	size_t nt = (size_t)ksnprintf(tail, sizeof(tail), "~%u", n);
	size_t keep = MIN(a->nb, 8 - nt);

	memset(name11, ' ', 11);
	name11[11] = name11[12] = 0;
	memcpy(name11, a->basis, keep);
	memcpy(name11 + keep, tail, nt);
	memcpy(name11 + 8, a->ext, a->ne);
	fat_short_text(name11, text);
}

/* Marks the alias number an existing entry uses, if it is one of ours. */
static int fat_alias_seen(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx)
{
	struct fat_alias *a = ctx;
	uint8_t name11[13];
	char text[13];

	(void)loc;
	/* the basis or the extension may hold a '~' too: try the number after each */
	for (const char *tilde = strchr(e->short_name, '~'); tilde != NULL;
	     tilde = strchr(tilde + 1, '~')) {
		uint32_t n = 0;
		for (const char *p = tilde + 1; *p >= '0' && *p <= '9' && n <= FAT_ALIAS_TRIES; p++)
			n = n * 10 + (uint32_t)(*p - '0');
		if (n == 0 || n > FAT_ALIAS_TRIES)
			continue;
		fat_alias_name(a, n, name11, text);
		if (fat_name_eq(text, strlen(text), e->short_name)) {
			a->taken[n / 8] |= (uint8_t)(1 << (n % 8));
			return 0;
		}
	}
	return 0;
}

/* A free "BASIS~N.EXT" alias for a long name, found in one scan of dir. */
static int fat_make_alias(struct fat_vol *v, uint32_t dir, const char *name, size_t len,
			  uint8_t out[11])
{
	struct fat_alias a = {.nb = 0, .ne = 0};
	const char *dot = NULL;
	uint8_t name11[13];
	char text[13];
	size_t lead = 0;

	/* leading blanks and periods are stripped: no extension starts among them */
	while (lead < len && (name[lead] == ' ' || name[lead] == '.'))
		lead++;
	for (size_t i = lead; i < len; i++)
		if (name[i] == '.')
			dot = name + i;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		bool in_ext = dot != NULL && name + i > dot;
		if (ch == ' ' || ch == '.' || ((uint8_t)ch & 0xc0) == 0x80)
			continue; /* spaces, dots and UTF-8 continuation bytes leave no trace */
		ch = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
		if (!fat_short_char(ch))
			ch = '_';
		if (in_ext && a.ne < 3)
			a.ext[a.ne++] = (uint8_t)ch;
		else if (!in_ext && a.nb < 8)
			a.basis[a.nb++] = (uint8_t)ch;
	}
	if (a.nb == 0)
		a.basis[a.nb++] = '_';
	a.taken = mm_malloc(FAT_ALIAS_TRIES / 8 + 1);
	if (a.taken == NULL)
		return -ENOMEM;
	memset(a.taken, 0, FAT_ALIAS_TRIES / 8 + 1);
	int err = fat_dir_iterate(v, dir, fat_alias_seen, &a);
	uint32_t n = 1;
	while (err == 0 && (a.taken[n / 8] & (1 << (n % 8))))
		n++;
	mm_mfree(a.taken);
	if (err < 0)
		return err;
	fat_alias_name(&a, n, name11, text);
	memcpy(out, name11, 11);
	return 0;
}

/* Checks a new name: no reserved characters, no trailing dot or blank. */
static int fat_name_valid(const char *name, size_t len)
{
	if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)name[i] < 0x20 || strchr("\"*/:<>?\\|", name[i]) != NULL)
			return -EINVAL;
	return 0;
}

/* The first index of n free entries in a row, growing the directory if needed. */
static int fat_dir_find_slots(struct fat_vol *v, uint32_t dir, uint32_t n, uint32_t *first)
{
	struct fat_cursor c;
	uint32_t run = 0;
	int err = fat_cursor_start(&c, v, dir);

	if (err < 0)
		return err;
	for (uint32_t index = 0;; index++) {
		uint8_t *raw;
		uint64_t sector;
		err = fat_dir_raw(v, &c, index, &raw, &sector);
		if (err < 0)
			return err;
		if (err == 1) {
			if (c.cluster == 0 || index >= FAT_DIR_MAX_ENTRIES)
				return -ENOSPC; /* the fixed root, or the largest directory allowed */
			uint32_t added;
			err = fat_chain_extend(v, c.cluster, 1, true, &added);
			if (err < 0)
				return err;
			index--; /* look at this index again, now inside the new cluster */
			continue;
		}
		run = raw[0] == 0 || raw[0] == FAT_DELETED ? run + 1 : 0;
		if (run == n) {
			*first = index + 1 - n;
			return 0;
		}
	}
}

/* The first cluster, in both halves on FAT32 (the high half is 0 elsewhere). */
static void fat_put_cluster(const struct fat_vol *v, uint8_t *raw, uint32_t cluster)
{
	fat_put16(raw + 20, v->type == FAT32 ? (uint16_t)(cluster >> 16) : 0);
	fat_put16(raw + 26, (uint16_t)cluster);
}

static void fat_fill_short(const struct fat_vol *v, uint8_t *raw, const uint8_t name11[11],
			   uint8_t attr, uint32_t cluster)
{
	memset(raw, 0, FAT_ENTRY_SIZE);
	memcpy(raw, name11, 11);
	raw[11] = attr;
	fat_put16(raw + 16, FAT_STAMP_DATE); /* created */
	fat_put16(raw + 18, FAT_STAMP_DATE); /* accessed */
	fat_put16(raw + 24, FAT_STAMP_DATE); /* written */
	fat_put_cluster(v, raw, cluster);
}

static void fat_fill_lfn(uint8_t *raw, const uint16_t *u, size_t n, unsigned ord, bool last,
			 uint8_t checksum)
{
	memset(raw, 0, FAT_ENTRY_SIZE);
	raw[0] = (uint8_t)(ord | (last ? 0x40 : 0));
	raw[11] = FAT_ATTR_LFN;
	raw[13] = checksum;
	for (unsigned i = 0; i < LFN_CHARS; i++) {
		size_t k = (ord - 1) * LFN_CHARS + i;
		/* the name ends with one NUL if it fits, then 0xFFFF padding */
		fat_put16(raw + lfn_offsets[i], k < n ? u[k] : k == n ? 0 : 0xffff);
	}
}

/* Writes raw entry index from the 32 bytes at src. */
static int fat_dir_put(struct fat_vol *v, struct fat_cursor *c, uint32_t index, const uint8_t *src)
{
	uint8_t *raw;
	uint64_t sector;
	int err = fat_dir_raw(v, c, index, &raw, &sector);

	if (err != 0)
		return err < 0 ? err : fat_corrupt("directory shrank under a write", index);
	memcpy(raw, src, FAT_ENTRY_SIZE);
	fat_cache_dirty(v, sector);
	return 0;
}

int fat_dir_create(struct fat_vol *v, uint32_t dir, const char *name, size_t len, uint8_t attr,
		   uint32_t cluster, struct fat_loc *loc)
{
	uint16_t units[FAT_NAME_MAX];
	uint8_t name11[11], raw[FAT_ENTRY_SIZE];
	size_t nu = 0;
	int err = fat_name_valid(name, len);

	if (err == 0)
		err = utf8_to_utf16(name, len, units, &nu);
	if (err < 0)
		return err;
	bool short_only = fat_exact_short(name, len, name11);
	if (!short_only && (err = fat_make_alias(v, dir, name, len, name11)) < 0)
		return err;
	uint32_t slots = short_only ? 0 : (uint32_t)((nu + LFN_CHARS - 1) / LFN_CHARS), first;
	err = fat_dir_find_slots(v, dir, slots + 1, &first);
	if (err < 0)
		return err;
	struct fat_cursor c;
	fat_cursor_init(&c, v, dir);
	uint8_t sum = fat_lfn_checksum(name11);
	for (uint32_t i = 0; i < slots && err == 0; i++) {
		fat_fill_lfn(raw, units, nu, slots - i, i == 0, sum);
		err = fat_dir_put(v, &c, first + i, raw);
	}
	fat_fill_short(v, raw, name11, attr, cluster);
	if (err == 0)
		err = fat_dir_put(v, &c, first + slots, raw);
	*loc = (struct fat_loc){dir, first + slots, first};
	return err;
}

int fat_dir_remove(struct fat_vol *v, const struct fat_loc *loc)
{
	struct fat_cursor c;

	fat_cursor_init(&c, v, loc->dir);
	for (uint32_t i = loc->first; i <= loc->index; i++) {
		uint8_t *raw;
		uint64_t sector;
		int err = fat_dir_raw(v, &c, i, &raw, &sector);
		if (err != 0)
			return err < 0 ? err : fat_corrupt("entry past the directory's end", i);
		raw[0] = FAT_DELETED;
		fat_cache_dirty(v, sector);
	}
	return 0;
}

int fat_dir_update(struct fat_vol *v, const struct fat_loc *loc, uint32_t cluster, uint32_t size)
{
	struct fat_cursor c;
	uint8_t *raw;
	uint64_t sector;

	fat_cursor_init(&c, v, loc->dir);
	int err = fat_dir_raw(v, &c, loc->index, &raw, &sector);
	if (err != 0)
		return err < 0 ? err : fat_corrupt("entry past the directory's end", loc->index);
	fat_put_cluster(v, raw, cluster);
	fat_put32(raw + 28, size);
	fat_put16(raw + 24, FAT_STAMP_DATE);
	raw[11] |= FAT_ATTR_ARCHIVE;
	fat_cache_dirty(v, sector);
	return 0;
}

static int fat_not_dot(const struct fat_dirent *e, const struct fat_loc *loc, void *ctx)
{
	(void)loc;
	(void)ctx;
	return strcmp(e->short_name, ".") != 0 && strcmp(e->short_name, "..") != 0;
}

int fat_dir_is_empty(struct fat_vol *v, uint32_t dir)
{
	int err = fat_dir_iterate(v, dir, fat_not_dot, NULL);

	return err < 0 ? err : err == 0;
}

/* The 32-byte "." or ".." entry of a new directory. */
void fat_dir_dot_entry(const struct fat_vol *v, uint8_t *raw, bool dotdot, uint32_t cluster)
{
	uint8_t name11[11];

	memset(name11, ' ', 11);
	name11[0] = '.';
	if (dotdot)
		name11[1] = '.';
	fat_fill_short(v, raw, name11, FAT_ATTR_DIR, cluster);
}
