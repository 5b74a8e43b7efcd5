/*
 * libFuzzer harness for the ELF loader's parser: the input is the whole
 * file.  elf_parse must return 0 or -EINVAL (with a reason) without a
 * crash, and a plan it accepts must keep every promise of elf.h: this
 * harness checks them again, field by field, and reads every file byte a
 * segment names so the sanitizer sees any that lie outside the input.
 */
#include <stdlib.h>

#include "core/elf.h"

static void elf_fuzz_check_plan(const uint8_t *data, size_t size, const struct elf_image *img)
{
	volatile uint8_t sink = 0;

	if (img->nseg == 0 || img->nseg > ELF_MAX_SEGMENTS)
		abort();
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		if (s->memsz == 0 || s->filesz > s->memsz || s->filesz > size ||
		    s->offset > size - s->filesz)
			abort();
		if (s->vaddr < PHOBOS_APP_BASE || s->memsz > PHOBOS_GATE_ADDRESS - s->vaddr)
			abort();
		if ((s->vaddr & PAGE_MASK) != (s->offset & PAGE_MASK))
			abort();
		if (!(s->prot & PHOBOS_PROT_READ) ||
		    ((s->prot & PHOBOS_PROT_WRITE) && (s->prot & PHOBOS_PROT_EXEC)))
			abort();
		if (i > 0 && ALIGN_DOWN(s->vaddr, PAGE_SIZE) <
				 ALIGN_UP(img->seg[i - 1].vaddr + img->seg[i - 1].memsz, PAGE_SIZE))
			abort();
		for (uint64_t b = 0; b < s->filesz; b++)
			sink ^= data[s->offset + b];
	}
	bool entry_ok = false;
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		entry_ok |= (s->prot & PHOBOS_PROT_EXEC) && img->entry >= s->vaddr &&
			    img->entry - s->vaddr < s->filesz;
	}
	const struct elf_segment *last = &img->seg[img->nseg - 1];
	if (!entry_ok || img->lowest != ALIGN_DOWN(img->seg[0].vaddr, PAGE_SIZE) ||
	    img->highest != ALIGN_UP(last->vaddr + last->memsz, PAGE_SIZE))
		abort();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	const char *why = NULL;

	int r = elf_parse(data, size, PHOBOS_APP_BASE, PHOBOS_GATE_ADDRESS, &img, &why);
	if (r == 0 && why == NULL)
		elf_fuzz_check_plan(data, size, &img);
	else if (r != -EINVAL || why == NULL || why[0] == '\0')
		abort();
	return 0;
}
