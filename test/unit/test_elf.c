/*
 * The ELF loader's checks (core/elf.c).  Two real images come from the
 * make rules in elf.mk: app-fixed.elf, whose layout app.ld pins down (text
 * RX at 0x401000, rodata R at 0x402000, data and bss RW at 0x403000,
 * PT_GNU_STACK RW, in that program header order), and app-default.elf,
 * ld.lld's own layout at PHOBOS_APP_BASE.  Each check then fails on a
 * copy of app-fixed.elf changed in one field (one cmocka test per check,
 * named after it), or on a small image written here when the fixture has
 * too few segments.  The system's <elf.h> is used only to edit and read
 * the test images.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/elf.h"

#define MIN_VA PHOBOS_APP_BASE
#define MAX_VA PHOBOS_GATE_ADDRESS
#define FIX_TEXT 0
#define FIX_RODATA 1
#define FIX_DATA 2
#define FIX_STACK 3

static const char fixture_text[] = "phobos elf fixture"; /* app.c's rodata */

/* Reads a whole file into a fresh buffer of *size bytes. */
static uint8_t *load(const char *name, size_t *size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", ELF_FIXTURE_DIR, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (built by test/unit/elf.mk)", path);
	fseek(f, 0, SEEK_END);
	*size = (size_t)ftell(f);
	rewind(f);
	uint8_t *buf = malloc(*size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *size, f), *size);
	fclose(f);
	return buf;
}

static Elf64_Ehdr *ehdr(uint8_t *f)
{
	return (Elf64_Ehdr *)f;
}

static Elf64_Phdr *phdr(uint8_t *f, unsigned i)
{
	return (Elf64_Phdr *)(f + ehdr(f)->e_phoff) + i;
}

static void test_fixed_layout(void **state)
{
	size_t size;
	uint8_t *f = load("app-fixed.elf", &size);
	struct elf_image img;
	const char *why = "not set";

	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), 0);
	assert_null(why);
	assert_int_equal(img.entry, 0x401000);
	assert_int_equal(img.nseg, 3);
	assert_int_equal(img.seg[0].vaddr, 0x401000);
	assert_int_equal(img.seg[0].offset, 0x1000);
	assert_int_equal(img.seg[0].prot, PHOBOS_PROT_READ | PHOBOS_PROT_EXEC);
	assert_int_equal(img.seg[0].filesz, img.seg[0].memsz);
	assert_int_equal(img.seg[1].vaddr, 0x402000);
	assert_int_equal(img.seg[1].prot, PHOBOS_PROT_READ);
	assert_int_equal(img.seg[1].filesz, sizeof(fixture_text));
	assert_memory_equal(f + img.seg[1].offset, fixture_text, sizeof(fixture_text));
	assert_int_equal(img.seg[2].vaddr, 0x403000);
	assert_int_equal(img.seg[2].prot, PHOBOS_PROT_READ | PHOBOS_PROT_WRITE);
	assert_int_equal(img.seg[2].filesz, 256);	 /* elf_fixture_data */
	assert_int_equal(img.seg[2].memsz, 256 + 10000); /* and elf_fixture_bss */
	assert_int_equal(f[img.seg[2].offset], 1);
	assert_int_equal(img.lowest, 0x401000);
	assert_int_equal(img.highest, 0x406000);
	/* why may be NULL; the file may sit at any alignment */
	uint8_t *odd = malloc(size + 1);
	memcpy(odd + 1, f, size);
	assert_int_equal(elf_parse(odd + 1, size, MIN_VA, MAX_VA, &img, NULL), 0);
	assert_int_equal(img.nseg, 3);
	free(odd);
	free(f);
}

/* ld.lld's own layout: the plan is exactly the file's non-empty PT_LOADs. */
static void test_default_layout(void **state)
{
	size_t size;
	uint8_t *f = load("app-default.elf", &size);
	struct elf_image img;
	const char *why;
	unsigned n = 0, exec = 0;

	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), 0);
	for (unsigned i = 0; i < ehdr(f)->e_phnum; i++) {
		Elf64_Phdr *p = phdr(f, i);
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		assert_true(n < img.nseg);
		struct elf_segment *s = &img.seg[n++];
		assert_int_equal(s->vaddr, p->p_vaddr);
		assert_int_equal(s->memsz, p->p_memsz);
		assert_int_equal(s->filesz, p->p_filesz);
		assert_int_equal(s->offset, p->p_offset);
		assert_int_equal(!!(s->prot & PHOBOS_PROT_WRITE), !!(p->p_flags & PF_W));
		assert_int_equal(!!(s->prot & PHOBOS_PROT_EXEC), !!(p->p_flags & PF_X));
		assert_true(s->prot & PHOBOS_PROT_READ);
		if (s->prot & PHOBOS_PROT_EXEC) {
			exec++;
			assert_true(img.entry >= s->vaddr && img.entry < s->vaddr + s->filesz);
		}
	}
	assert_int_equal(n, img.nseg);
	assert_int_equal(exec, 1);
	assert_int_equal(img.entry, ehdr(f)->e_entry);
	assert_int_equal(img.lowest, PHOBOS_APP_BASE);
	assert_true(img.highest > img.lowest && img.highest % PAGE_SIZE == 0);
	free(f);
}

/*
 * A synthetic image of n one-page PT_LOAD segments, segment i at file
 * offset and address (i + 1) pages above 0 and PHOBOS_APP_BASE; the first
 * is read-execute and holds the entry, the rest read-only.
 */
static uint8_t *make_synthetic(unsigned n, size_t *size)
{
	*size = (n + 1) * PAGE_SIZE;
	uint8_t *f = calloc(1, *size);
	Elf64_Ehdr *h = ehdr(f);
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_version = EV_CURRENT;
	h->e_entry = PHOBOS_APP_BASE + PAGE_SIZE;
	h->e_phoff = sizeof(*h);
	h->e_ehsize = sizeof(*h);
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = n;
	assert_true(sizeof(*h) + n * sizeof(Elf64_Phdr) <= PAGE_SIZE);
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr *p = phdr(f, i);
		p->p_type = PT_LOAD;
		p->p_flags = PF_R | (i == 0 ? PF_X : 0);
		p->p_offset = (i + 1) * PAGE_SIZE;
		p->p_vaddr = p->p_paddr = PHOBOS_APP_BASE + (i + 1) * PAGE_SIZE;
		p->p_filesz = p->p_memsz = p->p_align = PAGE_SIZE;
	}
	return f;
}

static void test_synthetic_segments(void **state)
{
	size_t size;
	struct elf_image img;
	const char *why;
	uint8_t *f = make_synthetic(ELF_MAX_SEGMENTS, &size);

	/* exactly ELF_MAX_SEGMENTS, touching page to page, is fine */
	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), 0);
	assert_int_equal(img.nseg, ELF_MAX_SEGMENTS);
	assert_int_equal(img.lowest, PHOBOS_APP_BASE + PAGE_SIZE);
	assert_int_equal(img.highest, PHOBOS_APP_BASE + (ELF_MAX_SEGMENTS + 1) * PAGE_SIZE);
	/* the range's ends are inclusive and exclusive */
	assert_int_equal(elf_parse(f, size, img.lowest, img.highest, &img, &why), 0);
	assert_int_equal(elf_parse(f, size, img.lowest, img.highest - PAGE_SIZE, &img, &why),
			 -EINVAL);
	assert_string_equal(why, "segment outside the app's address range");
	assert_int_equal(elf_parse(f, size, img.lowest + PAGE_SIZE, MAX_VA, &img, &why), -EINVAL);
	assert_string_equal(why, "segment outside the app's address range");
	/* an empty PT_LOAD maps nothing and does not count */
	phdr(f, 1)->p_filesz = phdr(f, 1)->p_memsz = 0;
	phdr(f, 1)->p_vaddr = 0;
	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), 0);
	assert_int_equal(img.nseg, ELF_MAX_SEGMENTS - 1);
	free(f);

	f = make_synthetic(ELF_MAX_SEGMENTS + 1, &size);
	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), -EINVAL);
	assert_string_equal(why, "more PT_LOAD segments than ELF_MAX_SEGMENTS");
	free(f);
}

/* One mutation of app-fixed.elf per check; each may change *size. */
struct mutation {
	const char *name;
	void (*mutate)(uint8_t *f, size_t *size);
	const char *why;
};

static void m_short(uint8_t *f, size_t *size)
{
	*size = sizeof(Elf64_Ehdr) - 1;
}
static void m_magic(uint8_t *f, size_t *size)
{
	f[EI_MAG1] = 'e';
}
static void m_class(uint8_t *f, size_t *size)
{
	f[EI_CLASS] = ELFCLASS32;
}
static void m_data(uint8_t *f, size_t *size)
{
	f[EI_DATA] = ELFDATA2MSB;
}
static void m_ident_version(uint8_t *f, size_t *size)
{
	f[EI_VERSION] = EV_NONE;
}
static void m_osabi(uint8_t *f, size_t *size)
{
	f[EI_OSABI] = ELFOSABI_GNU;
}
static void m_type(uint8_t *f, size_t *size)
{
	ehdr(f)->e_type = ET_DYN;
}
static void m_machine(uint8_t *f, size_t *size)
{
	ehdr(f)->e_machine = EM_386;
}
static void m_version(uint8_t *f, size_t *size)
{
	ehdr(f)->e_version = 2;
}
static void m_ehsize(uint8_t *f, size_t *size)
{
	ehdr(f)->e_ehsize = 52;
}
static void m_phentsize(uint8_t *f, size_t *size)
{
	ehdr(f)->e_phentsize = 32;
}
static void m_phoff(uint8_t *f, size_t *size)
{
	ehdr(f)->e_phoff = *size - 3 * sizeof(Elf64_Phdr);
}
static void m_phoff_wrap(uint8_t *f, size_t *size)
{
	ehdr(f)->e_phoff = UINT64_MAX - 16;
}
static void m_phnum(uint8_t *f, size_t *size)
{
	ehdr(f)->e_phnum = 0xffff;
}
static void m_dynamic(uint8_t *f, size_t *size)
{
	phdr(f, FIX_STACK)->p_type = PT_DYNAMIC;
}
static void m_interp(uint8_t *f, size_t *size)
{
	phdr(f, FIX_STACK)->p_type = PT_INTERP;
}
static void m_tls(uint8_t *f, size_t *size)
{
	phdr(f, FIX_STACK)->p_type = PT_TLS;
}
static void m_exec_stack(uint8_t *f, size_t *size)
{
	phdr(f, FIX_STACK)->p_flags |= PF_X;
}
static void m_filesz(uint8_t *f, size_t *size)
{
	phdr(f, FIX_RODATA)->p_filesz = phdr(f, FIX_RODATA)->p_memsz + 1;
}
static void m_offset(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_offset = ALIGN_UP(*size, PAGE_SIZE); /* still congruent */
}
static void m_offset_wrap(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_offset = ALIGN_DOWN(UINT64_MAX, PAGE_SIZE); /* + filesz wraps */
}
static void m_filesz_huge(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_filesz = phdr(f, FIX_DATA)->p_memsz = UINT64_MAX;
}
static void m_memsz_wrap(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_memsz = UINT64_MAX - 0x1000;
}
static void m_vaddr_low(uint8_t *f, size_t *size)
{
	phdr(f, FIX_TEXT)->p_vaddr = 0x1000; /* page 1: below PHOBOS_APP_BASE */
}
static void m_vaddr_high(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_vaddr = MAX_VA - 0x1000; /* the bss runs past the gate */
}
static void m_align(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_align = 0x3000;
}
static void m_congruent(uint8_t *f, size_t *size)
{
	phdr(f, FIX_RODATA)->p_offset += 8;
}
static void m_unreadable(uint8_t *f, size_t *size)
{
	phdr(f, FIX_RODATA)->p_flags = 0;
}
static void m_wx(uint8_t *f, size_t *size)
{
	phdr(f, FIX_TEXT)->p_flags |= PF_W;
}
static void m_wx_data(uint8_t *f, size_t *size)
{
	phdr(f, FIX_DATA)->p_flags |= PF_X;
}
static void m_order(uint8_t *f, size_t *size)
{
	Elf64_Phdr t = *phdr(f, FIX_TEXT);
	*phdr(f, FIX_TEXT) = *phdr(f, FIX_RODATA);
	*phdr(f, FIX_RODATA) = t;
}
static void m_same_page(uint8_t *f, size_t *size)
{
	phdr(f, FIX_RODATA)->p_vaddr = 0x401000;
}
static void m_tail_page(uint8_t *f, size_t *size)
{
	phdr(f, FIX_TEXT)->p_memsz = 0x1001; /* its last byte in rodata's page */
}
static void m_overlap(uint8_t *f, size_t *size)
{
	phdr(f, FIX_RODATA)->p_memsz = 0x1001; /* rodata reaches into data */
}
static void m_no_load(uint8_t *f, size_t *size)
{
	for (unsigned i = FIX_TEXT; i <= FIX_DATA; i++)
		phdr(f, i)->p_type = PT_NOTE;
}
static void m_phnum_zero(uint8_t *f, size_t *size)
{
	ehdr(f)->e_phnum = 0;
}
static void m_entry_rodata(uint8_t *f, size_t *size)
{
	ehdr(f)->e_entry = 0x402000;
}
static void m_entry_past(uint8_t *f, size_t *size)
{
	ehdr(f)->e_entry = phdr(f, FIX_TEXT)->p_vaddr + phdr(f, FIX_TEXT)->p_filesz;
}
static void m_entry_zero(uint8_t *f, size_t *size)
{
	ehdr(f)->e_entry = 0;
}

static const struct mutation mutations[] = {
    {"file too small", m_short, "file smaller than the ELF header"},
    {"bad magic", m_magic, "bad magic (not an ELF file)"},
    {"ELFCLASS32", m_class, "class is not ELFCLASS64"},
    {"big-endian", m_data, "data encoding is not little-endian"},
    {"e_ident version", m_ident_version, "e_ident version is not EV_CURRENT"},
    {"OS ABI GNU", m_osabi, "OS ABI is not System V"},
    {"ET_DYN", m_type, "type is not ET_EXEC (static, non-PIE executables only)"},
    {"EM_386", m_machine, "machine is not x86-64"},
    {"e_version", m_version, "e_version is not EV_CURRENT"},
    {"e_ehsize", m_ehsize, "e_ehsize is not 64"},
    {"e_phentsize", m_phentsize, "e_phentsize is not 56"},
    {"program headers past the end", m_phoff, "program headers outside the file"},
    {"e_phoff wraps", m_phoff_wrap, "program headers outside the file"},
    {"e_phnum 0xffff", m_phnum, "program headers outside the file"},
    {"PT_DYNAMIC", m_dynamic, "PT_DYNAMIC: not a static executable"},
    {"PT_INTERP", m_interp, "PT_INTERP: not a static executable"},
    {"PT_TLS", m_tls, "PT_TLS: thread-local storage is not supported"},
    {"executable stack", m_exec_stack, "PT_GNU_STACK asks for an executable stack"},
    {"p_filesz > p_memsz", m_filesz, "p_filesz > p_memsz"},
    {"file bytes past the end", m_offset, "segment's file bytes outside the file"},
    {"p_offset + p_filesz wraps", m_offset_wrap, "segment's file bytes outside the file"},
    {"p_filesz huge", m_filesz_huge, "segment's file bytes outside the file"},
    {"p_vaddr + p_memsz wraps", m_memsz_wrap, "p_vaddr + p_memsz overflows"},
    {"below min_va", m_vaddr_low, "segment outside the app's address range"},
    {"past max_va", m_vaddr_high, "segment outside the app's address range"},
    {"p_align 0x3000", m_align, "p_align is not a power of two"},
    {"p_vaddr, p_offset not congruent", m_congruent,
     "p_vaddr and p_offset differ modulo the page size"},
    {"no PF_R", m_unreadable, "segment not readable"},
    {"text writable", m_wx, "segment both writable and executable"},
    {"data executable", m_wx_data, "segment both writable and executable"},
    {"segments out of order", m_order, "PT_LOAD segments not in ascending address order"},
    {"two segments in one page", m_same_page, "PT_LOAD segments share a page"},
    {"text tail in rodata's page", m_tail_page, "PT_LOAD segments share a page"},
    {"rodata overlaps data", m_overlap, "PT_LOAD segments share a page"},
    {"no PT_LOAD", m_no_load, "no PT_LOAD segment"},
    {"e_phnum 0", m_phnum_zero, "no PT_LOAD segment"},
    {"entry in rodata", m_entry_rodata, "entry point outside the executable segments' file bytes"},
    {"entry just past the text", m_entry_past,
     "entry point outside the executable segments' file bytes"},
    {"entry 0", m_entry_zero, "entry point outside the executable segments' file bytes"},
};

static void test_mutation(void **state)
{
	const struct mutation *m = *state;
	size_t size;
	uint8_t *f = load("app-fixed.elf", &size);
	struct elf_image img;
	const char *why = NULL;

	m->mutate(f, &size);
	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), -EINVAL);
	assert_non_null(why);
	assert_string_equal(why, m->why);
	free(f);
}

/* Edits that stay inside the rules are accepted. */
static void test_allowed_variations(void **state)
{
	size_t size;
	uint8_t *f = load("app-fixed.elf", &size);
	struct elf_image img;
	const char *why;

	phdr(f, FIX_STACK)->p_type = PT_NOTE;	    /* other types ignored */
	phdr(f, FIX_DATA)->p_align = 0;		    /* 0: no alignment asked */
	phdr(f, FIX_RODATA)->p_flags |= 0x00100000; /* OS-specific flag bits */
	phdr(f, FIX_TEXT)->p_memsz = 0x1000;	    /* ends where rodata's page starts */
	ehdr(f)->e_entry = 0x401000 + phdr(f, FIX_TEXT)->p_filesz - 1;
	ehdr(f)->e_shoff = UINT64_MAX; /* sections are never read */
	assert_int_equal(elf_parse(f, size, MIN_VA, MAX_VA, &img, &why), 0);
	assert_int_equal(img.seg[0].memsz, 0x1000);
	assert_int_equal(img.seg[1].prot, PHOBOS_PROT_READ);
	free(f);
}

int main(void)
{
	struct CMUnitTest tests[4 + ARRAY_SIZE(mutations)] = {
	    cmocka_unit_test(test_fixed_layout),
	    cmocka_unit_test(test_default_layout),
	    cmocka_unit_test(test_synthetic_segments),
	    cmocka_unit_test(test_allowed_variations),
	};
	for (size_t i = 0; i < ARRAY_SIZE(mutations); i++)
		tests[4 + i] = (struct CMUnitTest){.name = mutations[i].name,
						   .test_func = test_mutation,
						   .initial_state = (void *)&mutations[i]};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
