/*
 * elf: the parser and validator of the app's ELF64 executable (System V
 * gABI 4.1 and its x86-64 supplement).
 *
 * elf_parse reads an image that sits whole in memory and, when every field
 * it uses is sane, hands back a plan of what to map: the entry point and
 * each PT_LOAD segment with its protection.  It maps nothing, allocates
 * nothing and keeps no state, so the kernel's app loader and the host's
 * tests and fuzzer call the same code.
 *
 * What is accepted: a static, little-endian x86-64 ELFCLASS64 executable
 * (ET_EXEC, linked at its final address; ET_DYN and static PIE are refused,
 * as nothing here relocates), OS ABI System V (0, what clang and ld.lld give
 * for x86_64-unknown-none-elf), 1 to ELF_MAX_SEGMENTS PT_LOAD segments.
 * PT_DYNAMIC and PT_INTERP (dynamic linking), PT_TLS (nothing sets up a
 * thread pointer) and PT_GNU_STACK with PF_X are refused; every other
 * program header (PT_NOTE, PT_PHDR, PT_GNU_RELRO, ...) is ignored, as are
 * the section headers, which loading never reads.
 *
 * The plan's guarantees, on success (0):
 *   - seg[0..nseg) are the PT_LOAD segments with p_memsz > 0 (empty ones
 *     map nothing and are dropped), in the file's order, which is by
 *     ascending address;
 *   - each has filesz <= memsz, [offset, offset + filesz) inside the file,
 *     [vaddr, vaddr + memsz) inside [min_va, max_va) without overflow, and
 *     vaddr % PAGE_SIZE == offset % PAGE_SIZE, so its file bytes can be
 *     copied page by page;
 *   - no two segments touch the same page: [ALIGN_DOWN(vaddr, PAGE_SIZE),
 *     ALIGN_UP(vaddr + memsz, PAGE_SIZE)) are disjoint, so each page has
 *     exactly one protection;
 *   - prot is PHOBOS_PROT_READ, plus PHOBOS_PROT_WRITE or PHOBOS_PROT_EXEC
 *     (never both: W^X);
 *   - entry lies inside the file bytes of an executable segment;
 *   - [lowest, highest) is the page-aligned span of all segments (highest
 *     is exclusive), inside [min_va, max_va).
 * The mapper copies file bytes [offset, offset + filesz) to vaddr and must
 * zero every other byte of the segment's pages: the bss [vaddr + filesz,
 * vaddr + memsz) and the page heads and tails outside the segment, which
 * in the file may hold a neighbouring segment's bytes.
 *
 * Errors: -EINVAL for any malformed or unsupported image; *why (when why
 * is not NULL) then names the first check that failed, a static string for
 * the caller's log line.  On success *why is NULL.  *out is meaningful only
 * on success.
 * Misuse (panics): min_va or max_va not page-aligned, or min_va >= max_va.
 */
#ifndef PHOBOS_ELF_H
#define PHOBOS_ELF_H

#include "app/include/phobos/abi.h"
#include "core/env.h"

#define ELF_MAX_SEGMENTS 8

struct elf_segment {
	uint64_t vaddr;	 /* where the segment's first byte goes */
	uint64_t memsz;	 /* its size in memory, bss included */
	uint64_t filesz; /* the bytes copied from the file (<= memsz) */
	uint64_t offset; /* where they start in the file */
	unsigned prot;	 /* PHOBOS_PROT_* */
};

struct elf_image {
	uint64_t entry;
	unsigned nseg;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	uint64_t lowest, highest; /* [lowest, highest): page-aligned span of all segments */
};

int elf_parse(const void *file, size_t size, uint64_t min_va, uint64_t max_va,
	      struct elf_image *out, const char **why);

#endif
