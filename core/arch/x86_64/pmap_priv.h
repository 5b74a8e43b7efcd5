/*
 * Inside the x86-64 pmap: shared by pmap.c (the page-table engine),
 * pmap_pv.c (the reverse map), pmap_boot.c (the first tables), pmap_md.c
 * (the CPU's side), the kernel self-tests and the host's simulated MMU
 * (test/sim/pmap_sim.c), which compiles pmap.c and pmap_pv.c itself and
 * supplies the machine hooks below.
 *
 * Page tables: four levels (3 = PML4, 2 = PDPT, 1 = PD, 0 = PT, pte.h).
 * A table page taken from vm_page carries VM_PAGE_PTABLE and counts its
 * present entries in its vm_page's pindex (it belongs to no object, so
 * the field is free); it goes back to vm_page when the count drops to
 * zero.  Tables carved at boot, before vm_page existed, have no vm_page:
 * they are never counted and never freed.  Two kinds of table stay even
 * when empty: every PML4, and the PDPTs of the kernel half, because user
 * PML4s hold copies of the kernel's PML4 entries.  A new kernel PML4 entry
 * is copied into every user PML4 at once, so the copies never go stale.
 *
 * Leaves: 4 KiB for everything pmap_enter maps; 2 MiB and 1 GiB only in
 * the direct map and boot mappings installed with pmap_install.  NX unless
 * executable, G in the kernel half only, U only for PMAP_USER below
 * PMAP_USER_END, PCD|PWT for PMAP_NOCACHE.  Two software bits: MANAGED
 * (the leaf has a pv entry on its page's reverse map) and WIRED.
 *
 * Reverse map: a managed page's md field heads a singly linked list of pv
 * entries (pmap, va), one per mapping, held as the first entry's 32-bit
 * physical address.  pv entries live in whole pages taken from vm_page
 * below 4 GiB, never from malloc, so no pmap call re-enters the VM.  When no pv page has a free entry one more page is taken (-ENOMEM
 * from pmap_enter if vm_page has none); a pv page goes back as soon as its
 * last entry is freed.  Removing a mapping whose dirty bit is set marks
 * the page VM_PAGE_DIRTY, so a modification outlives its mapping.
 *
 * TLB: after a change to a leaf the CPU may have cached, one invlpg per
 * page for up to PMAP_FLUSH_ALL pages per call, beyond that one full flush
 * (CR3 reload, or a CR4.PGE toggle when global entries are involved):
 * 32 invlpg cost about what a reload and the refills after it do.  A leaf
 * whose accessed bit is clear cannot be in the TLB (the CPU sets the bit
 * before it caches a translation) and needs no flush, unless its table
 * page is freed as well.  Only the current pmap and the kernel pmap can
 * have live entries; loading CR3 flushes the rest.
 *
 * Lock key: (p) pmap_lock, one lock over every pmap, the reverse map and
 * the pv pages.  Phobos runs one CPU, and a single lock avoids the order
 * problem between a pmap and a page that reverse-map walks would meet.
 */
#ifndef PHOBOS_ARCH_PMAP_PRIV_H
#define PHOBOS_ARCH_PMAP_PRIV_H

#include "core/arch/x86_64/pte.h"
#include "core/mm/pmap.h"

#define PMAP_USER_END 0x0000800000000000ull	/* user half: [0, this) */
#define PMAP_KERNEL_START 0xffff800000000000ull /* kernel half: [this, 2^64) */
#define PMAP_FLUSH_ALL 32			/* pages per call before a full flush */

#define PMAP_PTE_MANAGED (1ull << 9) /* software: a pv entry exists */
#define PMAP_PTE_WIRED (1ull << 10)  /* software: entered PMAP_WIRED */

struct pmap {
	paddr_t pml4;		  /* (c) physical address of the top table */
	uint64_t resident;	  /* (p) 4 KiB leaves (pmap_enter's and pmap_install's) */
	uint64_t wired;		  /* (p) of which PMAP_WIRED */
	uint64_t tables;	  /* (p) table pages below the PML4 */
	uint64_t tables_max;	  /* (p) cap on tables (pmap_set_table_cap); 0: none */
	struct pmap *next, *prev; /* (p) user pmaps, for kernel PML4 entries */
};

/*
 * Start-up.  The kernel pmap adopts pml4; table pages come from
 * early_alloc (zeroed, 0 when none is left) until pmap_bootstrap_done,
 * from vm_page after it.  early_alloc may be NULL when vm_page is already
 * up (the host simulation).
 */
void pmap_bootstrap(paddr_t pml4, paddr_t (*early_alloc)(void));
void pmap_bootstrap_done(void);
/*
 * Gives every PML4 slot of [start, end) (kernel half) its PDPT now, so that
 * mappings there never add one later (the PDPTs of the kernel half stay
 * forever, and page counts stay steady).  -ENOMEM (some made) if pages run out.
 */
int pmap_kernel_prealloc(vaddr_t start, vaddr_t end);

/*
 * The entry of va at `level` (for tests and checks; no lock taken); NULL
 * when a table on the way is missing or a large page lies above `level`.
 */
uint64_t *pmap_walk(struct pmap *pmap, vaddr_t va, int level);
/*
 * Copies the leaf translating va (any level) into *pte and its level into
 * *level; false if va is not mapped.
 */
bool pmap_leaf(struct pmap *pmap, vaddr_t va, uint64_t *pte, int *level);
/*
 * Installs pte as the entry of va at `level` (boot mappings, the direct
 * map, MMIO): never managed nor wired.  Replacing a table or a managed
 * leaf is a programmer error.  false (nothing changed) when a table page
 * cannot be had.
 */
bool pmap_install(struct pmap *pmap, vaddr_t va, int level, uint64_t pte);

/* Pages holding pv entries now. */
uint64_t pmap_pv_pages(void);

/*
 * Every invariant of every pmap: table counts agree with present entries,
 * no counted table is empty unless it must stay, kernel slots of user
 * PML4s equal the kernel's, U/G/NX bits as above, each managed leaf has
 * exactly its pv entry and each pv entry its leaf, statistics add up.
 * Panics naming the broken rule.
 */
void pmap_check(void);

/*
 * Between pmap.c (the tables) and pmap_pv.c (the reverse map); all with
 * pmap_lock held.  pmap_pv_alloc gives NULL when vm_page has no page left;
 * pmap_pv_unlink panics if (pmap, va) is not on m's list.  pmap_remove_leaf
 * removes the present 4 KiB leaf e of va and flushes the TLB for it.
 */
struct pmap_pv;
extern struct irq_lock pmap_lock;
struct pmap_pv *pmap_pv_alloc(void);
void pmap_pv_free(struct pmap_pv *pv);
void pmap_pv_link(struct vm_page *m, struct pmap_pv *pv, struct pmap *pmap, vaddr_t va);
struct pmap_pv *pmap_pv_unlink(struct vm_page *m, struct pmap *pmap, vaddr_t va);
void pmap_invalidate(struct pmap *pmap, vaddr_t va, uint64_t old);
void pmap_remove_leaf(struct pmap *pmap, uint64_t *e, vaddr_t va);
/* pmap_check's part of the reverse map: one managed leaf, then the totals. */
void pmap_pv_check_leaf(struct vm_page *m, struct pmap *pmap, vaddr_t va);
void pmap_pv_check_pool(uint64_t managed);

/*
 * Machine hooks: the CPU in pmap_md.c, the simulated MMU on the host.
 * Called with pmap_lock held.
 */
void pmap_md_invalidate_page(vaddr_t va);
void pmap_md_invalidate_all(bool global);
void pmap_md_load(paddr_t pml4);

#endif
