/*
 * The app ABI: what an app in ring 3 and the kernel agree on.  Shared,
 * unchanged, by core/ (the kernel) and app/ (the app and its library), so
 * it includes nothing and uses only fixed-width types.
 *
 * System calls: the `syscall` instruction with the number in rax and up to
 * six arguments in rdi, rsi, rdx, r10, r8, r9 (rcx and r11 are the CPU's:
 * they hold the return rip and rflags and are clobbered).  The result comes
 * back in rax: a value >= 0, or a negative error code of the same set the
 * kernel uses (PHOBOS_E*).  Every pointer argument is checked: a pointer
 * that does not lie in the app's mapped space gives -PHOBOS_EFAULT and the
 * app goes on; an unknown number gives -PHOBOS_ENOSYS.
 *
 * Address space: page 0 is never mapped; the app image is linked at
 * PHOBOS_APP_BASE; the heap object spans [0, PHOBOS_GATE_ADDRESS) and a
 * heap block at address B maps heap offset B; the gate page (read-only,
 * struct phobos_gate) is at PHOBOS_GATE_ADDRESS.
 */
#ifndef PHOBOS_APP_ABI_H
#define PHOBOS_APP_ABI_H

#include <stdint.h>

#define PHOBOS_APP_BASE 0x400000ull
#define PHOBOS_GATE_ADDRESS 0x00007fffc0000000ull
#define PHOBOS_PAGE_SIZE 4096ull

enum phobos_sys {
	PHOBOS_SYS_EXIT,             /* (code): never returns */
	PHOBOS_SYS_CONSOLE_WRITE,    /* (buf, len): bytes written */
	PHOBOS_SYS_CLOCK_US,         /* (): microseconds since boot */
	PHOBOS_SYS_ALLOCATE_HEAP,    /* (size, prot, location, zeroed): the block's address */
	PHOBOS_SYS_FREE_HEAP,        /* (addr): 0 */
	PHOBOS_SYS_RESERVE_SPACE,    /* (size): the reservation's address */
	PHOBOS_SYS_UNRESERVE_SPACE,  /* (addr): 0 */
	PHOBOS_SYS_OPEN,             /* (path, flags): a file descriptor */
	PHOBOS_SYS_CLOSE,            /* (fd): 0 */
	PHOBOS_SYS_READ,             /* (fd, buf, len): bytes read, 0 at the end */
	PHOBOS_SYS_WRITE,            /* (fd, buf, len): bytes written */
	PHOBOS_SYS_SEEK,             /* (fd, offset, whence): the new offset */
	PHOBOS_SYS_STAT,             /* (path, struct phobos_stat *): 0 */
	PHOBOS_SYS_LIST,             /* (path, struct phobos_dirent *, max): entries filled */
	PHOBOS_SYS_MAP_FILE,         /* (fd, offset, size, prot, flags): the mapping's address */
	PHOBOS_SYS_SYNC,             /* (addr, size): 0 once written back */
	PHOBOS_SYS_UNMAP,            /* (addr): 0 */
	PHOBOS_SYS_VM_STATS,         /* (struct phobos_vm_stats *): 0 */
	PHOBOS_SYS_MKDIR,            /* (path): 0; -EEXIST when it exists */
	PHOBOS_SYS_CONSOLE_TO,       /* (sink, buf, len <= 256): len; -ENODEV without that sink */
	PHOBOS_SYS_ADVISE,           /* (addr, size, advice): 0 */
	PHOBOS_SYS_COUNT
};

/* prot bits (sys_allocate_heap, sys_map_file) */
#define PHOBOS_PROT_READ 0x1
#define PHOBOS_PROT_WRITE 0x2
#define PHOBOS_PROT_EXEC 0x4

/* sys_allocate_heap location: anywhere, or exactly there */
#define PHOBOS_HEAP_ANYWHERE 0ull

/* sys_advise advice, posix_madvise's: how [addr, addr + size) will be
 * used.  RANDOM (no pages read around a fault) and SEQUENTIAL (the most
 * read ahead, pages far behind dropped first) are remembered for the
 * range until NORMAL, or until the block is freed or unmapped; WILLNEED
 * reads what is in swap or the file now; DONTNEED drops the pages,
 * writing changed ones to swap or the file first (the data stays). */
#define PHOBOS_ADVICE_NORMAL 0
#define PHOBOS_ADVICE_RANDOM 1
#define PHOBOS_ADVICE_SEQUENTIAL 2
#define PHOBOS_ADVICE_WILLNEED 3
#define PHOBOS_ADVICE_DONTNEED 4

/* sys_console_to sinks: the serial line, or the framebuffer alone (where
 * bytes 1-6 draw solid cells: green, grey, red, blue, amber, white) */
#define PHOBOS_CONSOLE_SERIAL 1
#define PHOBOS_CONSOLE_FB 2

/* sys_open flags */
#define PHOBOS_O_CREATE 0x1
#define PHOBOS_O_EXCL 0x2
#define PHOBOS_O_TRUNC 0x4

/* sys_seek whence */
#define PHOBOS_SEEK_SET 0
#define PHOBOS_SEEK_CUR 1
#define PHOBOS_SEEK_END 2

/* sys_map_file flags */
#define PHOBOS_MAP_SHARED 0x1
#define PHOBOS_MAP_PRIVATE 0x2

/* Error codes: the kernel's own (core/errno.h), negated in rax. */
#define PHOBOS_ENOENT 2
#define PHOBOS_EIO 5
#define PHOBOS_EBADF 9
#define PHOBOS_ENOMEM 12
#define PHOBOS_EACCES 13
#define PHOBOS_EFAULT 14
#define PHOBOS_EBUSY 16
#define PHOBOS_EEXIST 17
#define PHOBOS_ENODEV 19
#define PHOBOS_ENOTDIR 20
#define PHOBOS_EISDIR 21
#define PHOBOS_EINVAL 22
#define PHOBOS_EMFILE 24
#define PHOBOS_EFBIG 27
#define PHOBOS_ENOSPC 28
#define PHOBOS_EROFS 30
#define PHOBOS_ERANGE 34
#define PHOBOS_ENAMETOOLONG 36
#define PHOBOS_ENOSYS 38

struct phobos_stat {
	uint64_t size;
	uint32_t is_dir;
	uint32_t attr;
};

struct phobos_dirent {
	char name[256]; /* truncated to 255 bytes and NUL */
	uint64_t size;
	uint32_t is_dir;
	uint32_t pad;
};

struct phobos_vm_stats {
	uint64_t faults_major, faults_minor, pageins, pageouts, scanned, reactivated;
	uint64_t swap_slots_used, swap_slots_total;
	uint64_t pages_total, pages_free;
};

#define PHOBOS_GATE_MAGIC 0x4554414753424850ull /* "PHBSGATE" */

/* The gate page: read without a system call. */
struct phobos_gate {
	uint64_t magic;
	uint32_t version;      /* 2 */
	uint32_t page_size;    /* 4096 */
	uint64_t tsc_hz;       /* the TSC's rate: microseconds = (rdtsc - tsc_base) * 1e6 / tsc_hz */
	uint64_t tsc_base;     /* the TSC when the clock read 0 */
	uint64_t mem_total;    /* bytes of memory the kernel manages */
	uint64_t heap_base;    /* the lowest heap address (above the app's data and bss) */
	uint64_t heap_end;     /* PHOBOS_GATE_ADDRESS */
	uint32_t disks;        /* disks found */
	uint32_t swap_on;      /* 1 when a swap partition is in use */
	char disk_names[8][16];
	/* version 2 */
	uint64_t tsc_loader;   /* the TSC at the loader's first instruction */
	uint32_t fw_revision;  /* the firmware's revision number */
	uint32_t files_on;     /* 1 when the files partition is mounted */
	char fw_vendor[64];    /* the firmware's vendor, printable ASCII */
	uint64_t disk_bytes[8]; /* the size of each disk of disk_names */
};

#endif
