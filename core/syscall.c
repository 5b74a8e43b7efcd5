/*
 * syscall: see syscall.h.  Each handler takes the raw 64-bit arguments and
 * checks them before use: sizes and addresses for alignment, range and
 * overflow, descriptors against the table, strings and buffers by copying
 * them through user_copy_* (a bad pointer gives -EFAULT, never a kernel
 * fault).  Buffers move through a kernel bounce buffer a chunk at a time.
 */
#include "app/include/phobos/abi.h"
#include "core/arch/x86_64/user.h"
#include "core/console.h"
#include "core/dev/storage.h"
#include "core/mm/malloc.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_pageout.h"
#include "core/proc.h"
#include "core/syscall.h"
#include "fs/fat.h"
#include "fs/fat_pager.h"

#define SYS_FILES 16
#define SYS_CHUNK 4096 /* bytes per bounce through the kernel */
#define SYS_PATH_MAX 1024
/*
 * What the app can make the kernel hold: each live block or file mapping
 * costs a map entry, buddy descriptors and at most one more reserved
 * piece (a block inside a reservation cuts one piece in two), about 300
 * bytes in all.  One block per 4 pages of memory keeps that near 2% of
 * memory; the floor leaves small machines room to run.
 */
#define SYS_BLOCKS_PER_PAGE_SHIFT 2
#define SYS_BLOCKS_MIN 1024

_Static_assert(PHOBOS_EFAULT == EFAULT && PHOBOS_ENOMEM == ENOMEM && PHOBOS_EINVAL == EINVAL &&
		       PHOBOS_ENOENT == ENOENT && PHOBOS_EIO == EIO && PHOBOS_ENOSPC == ENOSPC &&
		       PHOBOS_ENODEV == ENODEV && PHOBOS_ENAMETOOLONG == ENAMETOOLONG &&
		       PHOBOS_EISDIR == EISDIR && PHOBOS_EFBIG == EFBIG &&
		       PHOBOS_ENOTDIR == ENOTDIR && PHOBOS_EACCES == EACCES &&
		       PHOBOS_EBUSY == EBUSY && PHOBOS_EBADF == EBADF && PHOBOS_EMFILE == EMFILE &&
		       PHOBOS_EROFS == EROFS && PHOBOS_ENOSYS == ENOSYS,
	       "the ABI's error codes are the kernel's");

struct sys_file {
	struct fat_file *f;
	uint64_t pos;
	bool read_only; /* a protected path (sys_path_protected) */
};

static struct sys_file sys_files[SYS_FILES];

/*
 * The app's file mappings, for W^X across views: two mappings of one file
 * share its object, so a shared writable one and an executable one (whose
 * private shadow still reads the file's pages) would let the app write
 * code and run it.  Whichever comes second is refused.
 */
struct sys_map {
	struct sys_map *next;
	uint64_t va;
	struct vm_object *file; /* the file's object; the mapping holds it */
	bool writes_file, exec;
};

static struct sys_map *sys_maps;
static uint64_t sys_blocks; /* the app's live heap blocks and file mappings */

/*
 * The app's reservations (sys_reserve_space), which it may allocate inside
 * at exact addresses: the kernel's own (below the image, the stack guard,
 * the gate area) are not among them and stay untouchable.  Allocating
 * inside one cuts it around the block; freeing the block reserves its
 * range again, so the pieces may lie side by side.  Every piece of a
 * reservation lies inside its [start, end): pieces are only ever made
 * there, and only pieces found there are cut or let go.
 */
#define SYS_RESERVATIONS 16

struct sys_reservation {
	uint64_t start, end;
};

static struct sys_reservation sys_res[SYS_RESERVATIONS];

static struct sys_reservation *sys_res_holding(uint64_t a, uint64_t size)
{
	for (int i = 0; i < SYS_RESERVATIONS; i++) {
		struct sys_reservation *r = &sys_res[i];
		if (r->end != 0 && a >= r->start && a < r->end && size <= r->end - a)
			return r;
	}
	return NULL;
}

/* Frees [at, at + size) of r's pieces covering it, keeping the rest of
 * them reserved; -EBUSY when something else lies in the range. */
static int sys_res_carve(const struct sys_reservation *r, uint64_t at, uint64_t size)
{
	struct vm_map_entry e;
	uint64_t first = 0, last = 0;

	for (uint64_t a = at; a < at + size; a = e.end) {
		if (vm_map_lookup(proc_map(), a, &e) < 0 || e.kind != VM_ENTRY_RESERVED ||
		    e.start < r->start || e.end > r->end)
			return -EBUSY;
		first = a == at ? e.start : first;
		last = e.end;
	}
	for (uint64_t a = first; a < last; a = e.end) {
		vm_map_lookup(proc_map(), a, &e);
		vm_map_unreserve_space(proc_map(), e.start, e.end - e.start);
	}
	int err = 0;
	if (first < at)
		err = vm_map_reserve_space(proc_map(), first, at - first);
	if (err == 0 && at + size < last)
		err = vm_map_reserve_space(proc_map(), at + size, last - at - size);
	return err;
}

static uint64_t sys_blocks_max(void)
{
	struct vm_stats st;

	vm_page_stats(&st);
	return MAX(SYS_BLOCKS_MIN, st.total >> SYS_BLOCKS_PER_PAGE_SHIFT);
}

/* [start, end) lies where the app's own blocks and file mappings go,
 * clear of the image, the stack with its guard and the gate. */
static bool sys_app_range(uint64_t start, uint64_t end)
{
	uint64_t lo, hi;

	proc_app_space(&lo, &hi);
	return start >= lo && end <= hi;
}

/* A buffer that lies wholly in the user half: checked before any byte
 * moves, so a length near 2^64 fails at once instead of after part of
 * the work. */
static bool sys_user_buffer(uint64_t a, uint64_t len)
{
	return a < USER_SPACE_END && len <= USER_SPACE_END - a;
}

static int64_t sys_exit(const uint64_t *a)
{
	proc_exit((int)a[0]);
}

static int64_t sys_console_write(const uint64_t *a)
{
	char buf[256];
	uint64_t done = 0;

	if (!sys_user_buffer(a[0], a[1]))
		return -EFAULT;
	while (done < a[1]) {
		size_t n = (size_t)MIN(a[1] - done, sizeof(buf));
		int err = user_copy_in(buf, a[0] + done, n);
		if (err < 0)
			return done > 0 ? (int64_t)done : err;
		/* a NUL is not text: it is left out, and what follows still goes */
		for (size_t i = 0, len; i < n; i += len + 1) {
			for (len = 0; i + len < n && buf[i + len] != '\0'; len++)
				;
			kprintf("%.*s", (int)len, buf + i);
		}
		done += n;
	}
	return (int64_t)done;
}

/* Text for one sink: RESULT lines for the serial line alone, bar charts
 * (colour cells) for the framebuffer alone. */
static int64_t sys_console_to(const uint64_t *a)
{
	char buf[256];

	if (a[2] > sizeof(buf) || (a[0] != PHOBOS_CONSOLE_SERIAL && a[0] != PHOBOS_CONSOLE_FB))
		return -EINVAL;
	int err = user_copy_in(buf, a[1], (size_t)a[2]);
	if (err == 0)
		err = console_write_to(a[0] == PHOBOS_CONSOLE_FB ? CONSOLE_FB : CONSOLE_SERIAL, buf,
				       (size_t)a[2]);
	return err < 0 ? err : (int64_t)a[2];
}

static int64_t sys_clock_us(const uint64_t *a __unused)
{
	return (int64_t)clock_us();
}

static vm_prot_t sys_prot(uint64_t p)
{
	return (vm_prot_t)(((p & PHOBOS_PROT_READ) ? VM_PROT_READ : 0) |
			   ((p & PHOBOS_PROT_WRITE) ? VM_PROT_WRITE : 0) |
			   ((p & PHOBOS_PROT_EXEC) ? VM_PROT_EXECUTE : 0));
}

/* prot: readable, never writable and executable at once */
static bool sys_prot_ok(uint64_t p)
{
	return (p & ~7ull) == 0 && (p & PHOBOS_PROT_READ) &&
	       (p & (PHOBOS_PROT_WRITE | PHOBOS_PROT_EXEC)) != (PHOBOS_PROT_WRITE | PHOBOS_PROT_EXEC);
}

/* (size, prot, location, zeroed): fresh heap pages are always zero, since
 * a block given back gives its pages back too. */
static int64_t sys_allocate_heap(const uint64_t *a)
{
	uint64_t size = a[0], at = a[2];
	vaddr_t va;

	if (size == 0 || size > GATE_AREA_ADDRESS || !sys_prot_ok(a[1]) ||
	    !IS_ALIGNED(at, PAGE_SIZE) || a[3] > 1)
		return -EINVAL;
	size = ALIGN_UP(size, PAGE_SIZE);
	if (sys_blocks >= sys_blocks_max())
		return -ENOMEM;
	const struct sys_reservation *r = at != 0 ? sys_res_holding(at, size) : NULL;
	int err = r != NULL ? sys_res_carve(r, at, size) : 0;
	if (err == 0)
		err = vm_map_insert_heap(proc_map(), proc_heap(), at, size, sys_prot(a[1]),
					 MAP_ENTRY_USER, &va);
	if (err < 0 && r != NULL)
		vm_map_reserve_space(proc_map(), at, size); /* the cut healed */
	sys_blocks += err == 0;
	return err < 0 ? err : (int64_t)va;
}

/*
 * A heap block or file mapping of the app's given back: its heap pages go
 * too.  What the kernel made (the image, the stack, the gate) lies outside
 * the app's range and stays.
 */
static int64_t sys_free_heap(const uint64_t *a)
{
	struct vm_map_entry e;

	if (vm_map_lookup(proc_map(), a[0], &e) < 0 || e.start != a[0] ||
	    e.kind != VM_ENTRY_OBJECT || e.object == NULL || !sys_app_range(e.start, e.end))
		return -EINVAL;
	bool heap = e.object == proc_heap();
	int err = vm_map_free(proc_map(), a[0]);
	if (err < 0)
		return err;
	sys_blocks--;
	if (heap)
		vm_object_page_remove_range(proc_heap(), e.start / PAGE_SIZE, e.end / PAGE_SIZE);
	for (struct sys_map **p = &sys_maps; *p != NULL; p = &(*p)->next)
		if ((*p)->va == e.start) {
			struct sys_map *m = *p;
			*p = m->next;
			mm_mfree(m);
			break;
		}
	if (sys_res_holding(e.start, e.end - e.start) != NULL)
		err = vm_map_reserve_space(proc_map(), e.start, e.end - e.start);
	return err;
}

static int64_t sys_reserve_space(const uint64_t *a)
{
	vaddr_t va;
	uint64_t size = a[0];

	if (size == 0 || size > GATE_AREA_ADDRESS)
		return -EINVAL;
	size = ALIGN_UP(size, PAGE_SIZE);
	struct sys_reservation *r = NULL;
	for (int i = 0; i < SYS_RESERVATIONS && r == NULL; i++)
		if (sys_res[i].end == 0)
			r = &sys_res[i];
	if (r == NULL)
		return -ENOMEM;
	/* take the space, then turn it into a reservation at the same place */
	int err = vm_map_allocate_space(proc_map(), size, &va);
	if (err == 0 && (err = vm_map_free(proc_map(), va)) == 0)
		err = vm_map_reserve_space(proc_map(), va, size);
	if (err == 0)
		*r = (struct sys_reservation){va, va + size};
	return err < 0 ? err : (int64_t)va;
}

/* A whole reservation of the app's, while nothing is allocated inside it. */
static int64_t sys_unreserve_space(const uint64_t *a)
{
	struct sys_reservation *r = NULL;
	struct vm_map_entry e;

	for (int i = 0; i < SYS_RESERVATIONS && r == NULL; i++)
		if (sys_res[i].end != 0 && sys_res[i].start == a[0])
			r = &sys_res[i];
	if (r == NULL)
		return -EINVAL; /* not the app's: the gate area and stack guard stay */
	for (uint64_t x = r->start; x < r->end; x = e.end)
		if (vm_map_lookup(proc_map(), x, &e) < 0 || e.kind != VM_ENTRY_RESERVED)
			return -EBUSY;
	for (uint64_t x = r->start; x < r->end; x = e.end) {
		vm_map_lookup(proc_map(), x, &e);
		vm_map_unreserve_space(proc_map(), e.start, e.end - e.start);
	}
	r->end = 0;
	return 0;
}

static int sys_path(uint64_t upath, char *path)
{
	if (storage.vol == NULL)
		return -ENODEV;
	return user_copy_str(path, upath, SYS_PATH_MAX);
}

static bool sys_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* name is want (lower case) but for the case of ASCII letters */
static bool sys_name_is(const char *name, size_t len, const char *want)
{
	size_t i = 0;

	for (; i < len && want[i] != '\0'; i++)
		if (name[i] != want[i] && !(sys_upper(name[i]) && (name[i] | 0x20) == want[i]))
			return false;
	return i == len && want[i] == '\0';
}

/*
 * The loader (everything under \EFI\) and \phobos.cfg are the stick's
 * life: the app may read them, never change them.  The path is resolved
 * as fat_walk will (either slash, empty and "." parts skipped, ".." one
 * up, names compared without case, as FAT does for ASCII), so no spelling
 * of it gets past.  Only the first part counts, so ".." is followed only
 * as far as it says.
 */
static bool sys_path_protected(const char *path)
{
	const char *first = NULL, *last = NULL;
	size_t first_len = 0, last_len = 0, depth = 0;

	for (const char *p = path; *p != '\0';) {
		while (*p == '/' || *p == '\\')
			p++;
		const char *name = p;
		while (*p != '\0' && *p != '/' && *p != '\\')
			p++;
		size_t len = (size_t)(p - name);
		if (len == 0 || sys_name_is(name, len, "."))
			continue;
		if (sys_name_is(name, len, "..")) {
			depth -= depth > 0;
			continue;
		}
		if (depth++ == 0) {
			first = name;
			first_len = len;
		}
		last = name;
		last_len = len;
	}
	return depth >= 1 && (sys_name_is(first, first_len, "efi") ||
			      (depth == 1 && sys_name_is(last, last_len, "phobos.cfg")));
}

static struct sys_file *sys_fd(uint64_t fd)
{
	return fd < SYS_FILES && sys_files[fd].f != NULL ? &sys_files[fd] : NULL;
}

static int64_t sys_open(const uint64_t *a)
{
	char *path = mm_malloc(SYS_PATH_MAX);
	int err = path == NULL ? -ENOMEM : sys_path(a[0], path);
	unsigned flags = (unsigned)a[1];
	int64_t fd = -EMFILE;

	if (err == 0 && (a[1] & ~7ull) != 0)
		err = -EINVAL;
	bool protected = err == 0 && sys_path_protected(path);
	if (protected && (flags & (PHOBOS_O_CREATE | PHOBOS_O_TRUNC)))
		err = -EACCES;
	for (int i = 0; err == 0 && i < SYS_FILES && fd < 0; i++)
		if (sys_files[i].f == NULL)
			fd = i;
	if (err == 0 && fd >= 0) {
		err = fat_open(storage.vol, path,
			       ((flags & PHOBOS_O_CREATE) ? FAT_O_CREATE : 0) |
				   ((flags & PHOBOS_O_EXCL) ? FAT_O_EXCL : 0),
			       &sys_files[fd].f);
		if (err == 0 && (flags & PHOBOS_O_TRUNC) &&
		    (err = fat_truncate(sys_files[fd].f, 0)) < 0) {
			fat_close(sys_files[fd].f);
			sys_files[fd].f = NULL;
		}
		sys_files[fd].pos = 0;
		sys_files[fd].read_only = protected;
	}
	mm_mfree(path);
	return err < 0 ? err : fd;
}

static int64_t sys_close(const uint64_t *a)
{
	struct sys_file *s = sys_fd(a[0]);

	if (s == NULL)
		return -EBADF;
	fat_close(s->f);
	s->f = NULL;
	return 0;
}

/* Moves len bytes between the file and the app a chunk at a time. */
static int64_t sys_rw(const uint64_t *a, bool write)
{
	struct sys_file *s = sys_fd(a[0]);
	uint64_t done = 0;
	int64_t err = 0;

	if (s == NULL)
		return -EBADF;
	if (write && s->read_only)
		return -EACCES;
	if (!sys_user_buffer(a[1], a[2]))
		return -EFAULT;
	uint8_t *buf = mm_malloc(SYS_CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	while (done < a[2] && err >= 0) {
		size_t n = (size_t)MIN(a[2] - done, SYS_CHUNK);
		long got;
		if (write) {
			err = user_copy_in(buf, a[1] + done, n);
			got = err < 0 ? 0 : fat_write(s->f, s->pos, buf, n);
		} else {
			got = fat_read(s->f, s->pos, buf, n);
			if (got > 0)
				err = user_copy_out(a[1] + done, buf, (size_t)got);
		}
		if (got < 0)
			err = got;
		if (err < 0 || got <= 0)
			break;
		s->pos += (uint64_t)got;
		done += (uint64_t)got;
		if ((size_t)got < n)
			break;
	}
	mm_mfree(buf);
	return done > 0 ? (int64_t)done : err;
}

static int64_t sys_read(const uint64_t *a)
{
	return sys_rw(a, false);
}

static int64_t sys_write(const uint64_t *a)
{
	return sys_rw(a, true);
}

static int64_t sys_seek(const uint64_t *a)
{
	struct sys_file *s = sys_fd(a[0]);

	if (s == NULL)
		return -EBADF;
	if (a[2] > PHOBOS_SEEK_END)
		return -EINVAL;
	/* base is at most 2^63 - 1 (positions are kept below it), so the sum of
	 * it and any int64 offset fits in an __int128 without overflow */
	uint64_t base = a[2] == PHOBOS_SEEK_SET ? 0 : a[2] == PHOBOS_SEEK_CUR ? s->pos : fat_size(s->f);
	__int128 pos = (__int128)base + (int64_t)a[1];
	if (pos < 0 || pos > INT64_MAX)
		return -EINVAL;
	s->pos = (uint64_t)pos;
	return (int64_t)s->pos;
}

static int64_t sys_stat(const uint64_t *a)
{
	struct fat_dirent *d = mm_malloc(sizeof(*d) + SYS_PATH_MAX);
	struct phobos_stat st;

	if (d == NULL)
		return -ENOMEM;
	char *path = (char *)(d + 1);
	int err = sys_path(a[0], path);
	if (err == 0)
		err = fat_stat(storage.vol, path, d);
	if (err == 0) {
		st = (struct phobos_stat){d->size, (d->attr & FAT_ATTR_DIR) != 0, d->attr};
		err = user_copy_out(a[1], &st, sizeof(st));
	}
	mm_mfree(d);
	return err;
}

static int64_t sys_mkdir(const uint64_t *a)
{
	char *path = mm_malloc(SYS_PATH_MAX);
	int err = path == NULL ? -ENOMEM : sys_path(a[0], path);

	if (err == 0)
		err = fat_mkdir(storage.vol, path);
	mm_mfree(path);
	return err;
}

struct sys_list {
	uint64_t out, max, n;
	int err;
};

static int sys_list_one(const struct fat_dirent *e, void *ctx)
{
	struct sys_list *l = ctx;
	struct phobos_dirent d;

	if (l->n == l->max)
		return 1;
	memset(&d, 0, sizeof(d));
	memcpy(d.name, e->name, MIN(strlen(e->name), sizeof(d.name) - 1));
	d.size = e->size;
	d.is_dir = (e->attr & FAT_ATTR_DIR) != 0;
	l->err = user_copy_out(l->out + l->n * sizeof(d), &d, sizeof(d));
	l->n += l->err == 0;
	return l->err != 0;
}

static int64_t sys_list(const uint64_t *a)
{
	char *path = mm_malloc(SYS_PATH_MAX);
	struct sys_list l = {a[1], a[2], 0, 0};

	if (path == NULL)
		return -ENOMEM;
	int err = sys_path(a[0], path);
	if (err == 0 && a[2] > (USER_SPACE_END / sizeof(struct phobos_dirent)))
		err = -EINVAL;
	if (err == 0)
		err = fat_list(storage.vol, path, sys_list_one, &l);
	mm_mfree(path);
	if (l.err < 0)
		return l.err;
	return err < 0 ? err : (int64_t)l.n;
}

/* (fd, offset, size, prot, flags): shared mappings write to the file,
 * private ones copy on write and never touch it. */
static int64_t sys_map_file(const uint64_t *a)
{
	struct sys_file *s = sys_fd(a[0]);
	vaddr_t va;

	if (s == NULL)
		return -EBADF;
	if (!IS_ALIGNED(a[1], PAGE_SIZE) || a[2] == 0 || a[2] > GATE_AREA_ADDRESS ||
	    !sys_prot_ok(a[3]) || (a[4] != PHOBOS_MAP_SHARED && a[4] != PHOBOS_MAP_PRIVATE))
		return -EINVAL;
	bool writes_file = a[4] == PHOBOS_MAP_SHARED && (a[3] & PHOBOS_PROT_WRITE);
	if (writes_file && s->read_only)
		return -EACCES;
	if (sys_blocks >= sys_blocks_max())
		return -ENOMEM;
	struct sys_map *m = mm_malloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	/* anywhere in the app's map: above the gate it is all reserved */
	int err = fat_map(proc_map(), s->f, a[1], a[2], sys_prot(a[3]), a[4] == PHOBOS_MAP_SHARED,
			  MAP_ENTRY_USER, &va);
	struct vm_map_entry e;
	if (err == 0 && (err = vm_map_lookup(proc_map(), va, &e)) == 0) {
		*m = (struct sys_map){sys_maps, va, e.object, writes_file,
				      (a[3] & PHOBOS_PROT_EXEC) != 0};
		while (m->file->backing != NULL) /* a private mapping's shadow reads the file */
			m->file = m->file->backing;
		for (const struct sys_map *o = sys_maps; o != NULL; o = o->next)
			if (o->file == m->file && ((o->writes_file && m->exec) ||
						   (o->exec && m->writes_file)))
				err = -EACCES;
		if (err < 0)
			vm_map_free(proc_map(), va);
	}
	if (err < 0) {
		mm_mfree(m);
		return err;
	}
	sys_maps = m;
	sys_blocks++;
	return (int64_t)va;
}

/* The range of sync and advise: page-aligned start, in the app's space. */
static bool sys_range_ok(const uint64_t *a)
{
	return IS_ALIGNED(a[0], PAGE_SIZE) && a[1] != 0 && a[0] < GATE_AREA_ADDRESS &&
	       a[1] <= GATE_AREA_ADDRESS - a[0];
}

static int64_t sys_sync(const uint64_t *a)
{
	if (!sys_range_ok(a))
		return -EINVAL;
	return vm_map_sync(proc_map(), a[0], ALIGN_UP(a[1], PAGE_SIZE));
}

static int64_t sys_advise(const uint64_t *a)
{
	_Static_assert(PHOBOS_ADVICE_RANDOM == VM_ADVICE_RANDOM &&
			       PHOBOS_ADVICE_SEQUENTIAL == VM_ADVICE_SEQUENTIAL &&
			       PHOBOS_ADVICE_WILLNEED == VM_ADVICE_WILLNEED &&
			       PHOBOS_ADVICE_DONTNEED == VM_ADVICE_DONTNEED,
		       "the ABI's advice is the VM's");
	if (!sys_range_ok(a) || a[2] > PHOBOS_ADVICE_DONTNEED)
		return -EINVAL;
	return vm_map_advise(proc_map(), a[0], ALIGN_UP(a[1], PAGE_SIZE), (unsigned)a[2]);
}

static int64_t sys_vm_stats(const uint64_t *a)
{
	struct phobos_vm_stats s;
	struct swap_stats ss = {0};
	struct vm_stats st;

	vm_page_stats(&st);
	if (swap_enabled())
		swap_pager_stats(&ss);
	s = (struct phobos_vm_stats){vm_cnt.faults_major, vm_cnt.faults_minor, vm_cnt.pageins,
				     vm_cnt.pageouts, vm_cnt.scanned, vm_cnt.reactivated,
				     ss.slots_used, ss.slots_total, st.total, st.free};
	return user_copy_out(a[0], &s, sizeof(s));
}

static int64_t (*const sys_table[PHOBOS_SYS_COUNT])(const uint64_t *a) = {
	[PHOBOS_SYS_EXIT] = sys_exit,
	[PHOBOS_SYS_CONSOLE_WRITE] = sys_console_write,
	[PHOBOS_SYS_CLOCK_US] = sys_clock_us,
	[PHOBOS_SYS_ALLOCATE_HEAP] = sys_allocate_heap,
	[PHOBOS_SYS_FREE_HEAP] = sys_free_heap,
	[PHOBOS_SYS_RESERVE_SPACE] = sys_reserve_space,
	[PHOBOS_SYS_UNRESERVE_SPACE] = sys_unreserve_space,
	[PHOBOS_SYS_OPEN] = sys_open,
	[PHOBOS_SYS_CLOSE] = sys_close,
	[PHOBOS_SYS_READ] = sys_read,
	[PHOBOS_SYS_WRITE] = sys_write,
	[PHOBOS_SYS_SEEK] = sys_seek,
	[PHOBOS_SYS_STAT] = sys_stat,
	[PHOBOS_SYS_LIST] = sys_list,
	[PHOBOS_SYS_MAP_FILE] = sys_map_file,
	[PHOBOS_SYS_SYNC] = sys_sync,
	[PHOBOS_SYS_UNMAP] = sys_free_heap,
	[PHOBOS_SYS_VM_STATS] = sys_vm_stats,
	[PHOBOS_SYS_MKDIR] = sys_mkdir,
	[PHOBOS_SYS_CONSOLE_TO] = sys_console_to,
	[PHOBOS_SYS_ADVISE] = sys_advise,
};

int64_t syscall_dispatch(struct syscall_frame *f)
{
	if (f->nr >= PHOBOS_SYS_COUNT || sys_table[f->nr] == NULL)
		return -ENOSYS;
	return sys_table[f->nr](f->a);
}

void syscall_proc_end(void)
{
	memset(sys_res, 0, sizeof(sys_res));
	while (sys_maps != NULL) {
		struct sys_map *m = sys_maps;
		sys_maps = m->next;
		mm_mfree(m);
	}
	sys_blocks = 0;
	for (int i = 0; i < SYS_FILES; i++)
		if (sys_files[i].f != NULL) {
			fat_close(sys_files[i].f);
			sys_files[i].f = NULL;
		}
}
