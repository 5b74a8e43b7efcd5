/*
 * The ELF loader's test program: a freestanding static executable with
 * code, read-only data, initialised data and bss, so a linked image has a
 * segment of each kind.  It is parsed, never run.
 */
const char elf_fixture_text[] = "phobos elf fixture";
char elf_fixture_data[256] = {1};
char elf_fixture_bss[10000];

__attribute__((section(".text.start"), noreturn)) void _start(void)
{
	for (unsigned i = 0; i < sizeof(elf_fixture_data); i++)
		elf_fixture_bss[i] =
		    elf_fixture_data[i] + elf_fixture_text[i % sizeof(elf_fixture_text)];
	for (;;)
		__asm__ volatile("hlt");
}
