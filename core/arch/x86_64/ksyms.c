/*
 * The kernel's own symbol table, generated from the first link of the
 * image (scripts/gen_ksyms.py) and linked into the .ksyms section by the
 * second: a count, then sorted (address, name offset) pairs, then the
 * names.  Lookup is a binary search for the last symbol at or below addr.
 */
#include "core/kernel.h"

struct ksyms_entry {
	uint64_t addr;
	uint32_t name;
	uint32_t size;
};

struct ksyms_table {
	uint64_t count;
	struct ksyms_entry entries[];
};

extern const char __ksyms_start[], __ksyms_end[];

bool ksyms_lookup(uintptr_t addr, const char **name, uintptr_t *offset)
{
	if ((size_t)(__ksyms_end - __ksyms_start) < sizeof(struct ksyms_table))
		return false;
	const struct ksyms_table *t = (const void *)__ksyms_start;
	const char *names = (const char *)&t->entries[t->count];
	size_t lo = 0, hi = t->count;

	if (t->count == 0 || addr < t->entries[0].addr)
		return false;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->entries[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	const struct ksyms_entry *e = &t->entries[lo];
	if (e->size != 0 && addr >= e->addr + e->size)
		return false;
	*name = names + e->name;
	*offset = addr - e->addr;
	return true;
}

void ksymbolize(uintptr_t addr, char *buf, size_t size)
{
	const char *name;
	uintptr_t off;

	if (ksyms_lookup(addr, &name, &off))
		ksnprintf(buf, size, "%s+0x%llx", name, (unsigned long long)off);
	else
		ksnprintf(buf, size, "%p", (void *)addr);
}
