/*
 * The kernel's GDT and TSS.  Long mode ignores segment bases and limits
 * except for the TSS, whose IST slots give double fault, NMI and machine
 * check their own stacks: these arrive when the current stack may be the
 * very thing that is broken.  User segments are ordered data-then-code as
 * SYSRET requires (STAR: user CS = base + 16, SS = base + 8).
 */
#include "core/arch/x86_64/trap.h"

struct gdt_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

#define GDT_IST_SIZE 16384

static struct gdt_tss gdt_tss;
static uint8_t gdt_ist_stacks[3][GDT_IST_SIZE] __attribute__((aligned(16)));
static uint64_t gdt_table[7];

void gdt_init(void)
{
	uint64_t tss = (uint64_t)&gdt_tss;
	uint64_t limit = sizeof(gdt_tss) - 1;

	/* access byte: P | DPL | S | type; flags: L (64-bit code) */
	gdt_table[0] = 0;
	gdt_table[1] = 0x00209a0000000000ull; /* kernel code: P, DPL0, code, L */
	gdt_table[2] = 0x0000920000000000ull; /* kernel data: P, DPL0, data, writable */
	gdt_table[3] = 0x0000f20000000000ull; /* user data: DPL3 */
	gdt_table[4] = 0x0020fa0000000000ull; /* user code: DPL3, L */
	/* 16-byte TSS descriptor: base split over both halves, type 9 (available) */
	gdt_table[5] = (limit & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ull << 40) |
		       ((limit >> 16) << 48) | (((tss >> 24) & 0xff) << 56);
	gdt_table[6] = tss >> 32;

	for (int i = 0; i < 3; i++)
		gdt_tss.ist[i] = (uint64_t)&gdt_ist_stacks[i][GDT_IST_SIZE];
	gdt_tss.iomap_base = sizeof(gdt_tss);

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = {sizeof(gdt_table) - 1, (uint64_t)gdt_table};

	__asm__ volatile("lgdt %0\n\t"
			 "mov %1, %%ds\n\t"
			 "mov %1, %%es\n\t"
			 "mov %1, %%ss\n\t"
			 "xor %%eax, %%eax\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 "pushq %2\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "r"((uint64_t)GDT_KERNEL_DS), "i"(GDT_KERNEL_CS), "r"(GDT_TSS)
			 : "rax", "memory");
}

/* The ring-0 stack used when a trap arrives from ring 3. */
void gdt_set_kernel_stack(uint64_t top)
{
	gdt_tss.rsp[0] = top;
}
