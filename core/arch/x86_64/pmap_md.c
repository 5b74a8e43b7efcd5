/*
 * The CPU's side of the pmap: the pmap_md_* hooks of pmap_priv.h.  The
 * host's simulated MMU provides the same hooks in test/sim/pmap_sim.c.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_priv.h"

void pmap_md_invalidate_page(vaddr_t va)
{
	invlpg(va);
}

/*
 * Reloading CR3 drops every non-global translation; any change of CR4.PGE
 * drops all of them, global ones included (Intel SDM vol. 3, 4.10.4.1).
 */
void pmap_md_invalidate_all(bool global)
{
	uint64_t cr4 = read_cr4();

	if (global && (cr4 & CR4_PGE)) {
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

void pmap_md_load(paddr_t pml4)
{
	write_cr3(pml4);
}
