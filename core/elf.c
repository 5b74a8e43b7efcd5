/*
 * elf: see elf.h.  Constants and layouts are those of the System V gABI
 * (ELF-64 object file format) and its AMD64 supplement; the file is read
 * through memcpy into local copies, so it may sit at any alignment.
 */
#include "core/elf.h"

/* e_ident indexes and the values accepted there */
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define EI_OSABI 7
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFOSABI_SYSV 0
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define PT_TLS 7
#define PT_GNU_STACK 0x6474e551
#define PF_X 0x1
#define PF_W 0x2
#define PF_R 0x4

struct elf_ehdr {
	uint8_t e_ident[16];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

/* The natural layout has no padding, so these are the on-disk sizes. */
_Static_assert(sizeof(struct elf_ehdr) == 64, "Elf64_Ehdr is 64 bytes");
_Static_assert(sizeof(struct elf_phdr) == 56, "Elf64_Phdr is 56 bytes");

/* Checks the file header in h (the file is size bytes); a reason, or NULL. */
static const char *elf_check_header(const struct elf_ehdr *h, uint64_t size)
{
	if (memcmp(h->e_ident, "\177ELF", 4) != 0)
		return "bad magic (not an ELF file)";
	if (h->e_ident[EI_CLASS] != ELFCLASS64)
		return "class is not ELFCLASS64";
	if (h->e_ident[EI_DATA] != ELFDATA2LSB)
		return "data encoding is not little-endian";
	if (h->e_ident[EI_VERSION] != EV_CURRENT)
		return "e_ident version is not EV_CURRENT";
	if (h->e_ident[EI_OSABI] != ELFOSABI_SYSV)
		return "OS ABI is not System V";
	if (h->e_type != ET_EXEC)
		return "type is not ET_EXEC (static, non-PIE executables only)";
	if (h->e_machine != EM_X86_64)
		return "machine is not x86-64";
	if (h->e_version != EV_CURRENT)
		return "e_version is not EV_CURRENT";
	if (h->e_ehsize != sizeof(struct elf_ehdr))
		return "e_ehsize is not 64";
	if (h->e_phentsize != sizeof(struct elf_phdr))
		return "e_phentsize is not 56";
	/* phnum * 56 < 2^22 cannot overflow; the subtraction is safe once
	 * phoff <= size. */
	if (h->e_phoff > size || (uint64_t)h->e_phnum * sizeof(struct elf_phdr) > size - h->e_phoff)
		return "program headers outside the file";
	return NULL;
}

/*
 * Checks PT_LOAD header p against the file, the address range and the
 * segments accepted so far, and appends it to out; a reason, or NULL.
 */
static const char *elf_add_load(const struct elf_phdr *p, uint64_t size, uint64_t min_va,
				uint64_t max_va, struct elf_image *out)
{
	if (p->p_filesz > p->p_memsz)
		return "p_filesz > p_memsz";
	if (p->p_memsz == 0)
		return NULL; /* maps nothing */
	if (out->nseg == ELF_MAX_SEGMENTS)
		return "more PT_LOAD segments than ELF_MAX_SEGMENTS";
	if (p->p_filesz > size || p->p_offset > size - p->p_filesz)
		return "segment's file bytes outside the file";
	if (p->p_memsz > UINT64_MAX - p->p_vaddr)
		return "p_vaddr + p_memsz overflows";
	/* min_va and max_va are page-aligned, so the segment's whole pages
	 * lie inside the range too, and rounding the end up cannot wrap. */
	if (p->p_vaddr < min_va || p->p_vaddr + p->p_memsz > max_va)
		return "segment outside the app's address range";
	if (p->p_align != 0 && !IS_POW2(p->p_align)) /* 0 and 1: no constraint */
		return "p_align is not a power of two";
	if ((p->p_vaddr & PAGE_MASK) != (p->p_offset & PAGE_MASK))
		return "p_vaddr and p_offset differ modulo the page size";
	if (!(p->p_flags & PF_R))
		return "segment not readable";
	if ((p->p_flags & PF_W) && (p->p_flags & PF_X))
		return "segment both writable and executable";
	if (out->nseg > 0) {
		const struct elf_segment *prev = &out->seg[out->nseg - 1];
		if (p->p_vaddr < prev->vaddr)
			return "PT_LOAD segments not in ascending address order";
		/* Sorted: only the previous segment can reach into this one's
		 * first page; sharing it would need both protections. */
		if (ALIGN_DOWN(p->p_vaddr, PAGE_SIZE) <
		    ALIGN_UP(prev->vaddr + prev->memsz, PAGE_SIZE))
			return "PT_LOAD segments share a page";
	}
	struct elf_segment *s = &out->seg[out->nseg++];
	s->vaddr = p->p_vaddr;
	s->memsz = p->p_memsz;
	s->filesz = p->p_filesz;
	s->offset = p->p_offset;
	s->prot = PHOBOS_PROT_READ | ((p->p_flags & PF_W) ? PHOBOS_PROT_WRITE : 0) |
		  ((p->p_flags & PF_X) ? PHOBOS_PROT_EXEC : 0);
	return NULL;
}

/* Checks one program header and records it if it is PT_LOAD; a reason, or NULL. */
static const char *elf_check_phdr(const struct elf_phdr *p, uint64_t size, uint64_t min_va,
				  uint64_t max_va, struct elf_image *out)
{
	switch (p->p_type) {
	case PT_LOAD:
		return elf_add_load(p, size, min_va, max_va, out);
	case PT_DYNAMIC:
		return "PT_DYNAMIC: not a static executable";
	case PT_INTERP:
		return "PT_INTERP: not a static executable";
	case PT_TLS:
		return "PT_TLS: thread-local storage is not supported";
	case PT_GNU_STACK:
		return (p->p_flags & PF_X) ? "PT_GNU_STACK asks for an executable stack" : NULL;
	default:
		return NULL; /* notes, PT_PHDR, PT_GNU_RELRO and the like change nothing */
	}
}

/* The first instruction must come from the file and be executable. */
static bool elf_entry_ok(const struct elf_image *img)
{
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		if ((s->prot & PHOBOS_PROT_EXEC) && img->entry >= s->vaddr &&
		    img->entry - s->vaddr < s->filesz)
			return true;
	}
	return false;
}

/* The whole check; a reason, or NULL with *out filled. */
static const char *elf_check(const uint8_t *file, uint64_t size, uint64_t min_va, uint64_t max_va,
			     struct elf_image *out)
{
	struct elf_ehdr h;
	struct elf_phdr p;
	const char *why;

	if (size < sizeof(h))
		return "file smaller than the ELF header";
	memcpy(&h, file, sizeof(h));
	if ((why = elf_check_header(&h, size)) != NULL)
		return why;
	out->nseg = 0;
	for (unsigned i = 0; i < h.e_phnum; i++) {
		memcpy(&p, file + h.e_phoff + (uint64_t)i * sizeof(p), sizeof(p));
		if ((why = elf_check_phdr(&p, size, min_va, max_va, out)) != NULL)
			return why;
	}
	if (out->nseg == 0)
		return "no PT_LOAD segment";
	out->entry = h.e_entry;
	if (!elf_entry_ok(out))
		return "entry point outside the executable segments' file bytes";
	out->lowest = ALIGN_DOWN(out->seg[0].vaddr, PAGE_SIZE);
	const struct elf_segment *last = &out->seg[out->nseg - 1];
	out->highest = ALIGN_UP(last->vaddr + last->memsz, PAGE_SIZE);
	return NULL;
}

int elf_parse(const void *file, size_t size, uint64_t min_va, uint64_t max_va,
	      struct elf_image *out, const char **why)
{
	KASSERT(IS_ALIGNED(min_va, PAGE_SIZE) && IS_ALIGNED(max_va, PAGE_SIZE) && min_va < max_va);
	const char *reason = elf_check(file, size, min_va, max_va, out);
	if (why != NULL)
		*why = reason;
	return reason != NULL ? -EINVAL : 0;
}
