/* proc: see proc.h. */
#include "app/include/phobos/abi.h"
#include "core/arch/x86_64/apic.h"
#include "core/arch/x86_64/clock.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_md.h"
#include "core/arch/x86_64/user.h"
#include "core/boot_info.h"
#include "core/config.h"
#include "core/console.h"
#include "core/dev/blk.h"
#include "core/dev/storage.h"
#include "core/elf.h"
#include "core/kernel.h"
#include "core/mm/kmem.h"
#include "core/mm/pmap.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_map.h"
#include "core/proc.h"
#include "core/syscall.h"

#define PROC_MAP_END (USER_SPACE_END - PAGE_SIZE)
#define PROC_STACK_SIZE (1ull << 20)
#define PROC_ARGS_MAX 512
/* Page tables the app can make the kernel hold: 1/16 of memory, enough
 * to map all of it 32 times over (a table maps 2 MiB). */
#define PROC_TABLES_SHIFT 4
#define PROC_TABLES_MIN 64

_Static_assert(PHOBOS_GATE_ADDRESS == GATE_AREA_ADDRESS, "the ABI's gate is SPEC 3's");

extern const uint8_t app_image[], app_image_end[];

static struct {
	struct vm_map map;
	struct pmap *pmap;
	struct vm_object *heap, *gate;
	struct proc_kstack kstack;
	uint64_t heap_base; /* above the image: the app's own space starts here */
	uint64_t deadline;  /* clock_us() when timeout= stops the app; 0: none */
	bool running, stopped;
} proc;

struct vm_map *proc_map(void)
{
	return &proc.map;
}

struct vm_object *proc_heap(void)
{
	return proc.heap;
}

void proc_app_space(uint64_t *lo, uint64_t *hi)
{
	*lo = proc.heap_base;
	*hi = GATE_AREA_ADDRESS - PROC_STACK_SIZE - PAGE_SIZE; /* the stack's guard page */
}

static const char *proc_prot(vm_prot_t p)
{
	static const char *const names[8] = {"---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx"};

	return names[p & 7];
}

/* "app: stopped: ..." then back to proc_run: the app is over, the kernel goes on. */
static _Noreturn void proc_stop(void)
{
	proc.stopped = true;
	user_leave(0);
}

_Noreturn void proc_exit(int code)
{
	user_leave((uint64_t)(uint32_t)code);
}

/* Reached by iretq from a trap frame proc_stop_by_iret rewrote. */
static _Noreturn void proc_stop_after_iret(void)
{
	proc_stop();
}

/*
 * An NMI blocks further NMIs until the next iretq, so a stop from the NMI
 * or #MC handler must not unwind past it: the frame is rewritten to
 * "return" into ring 0 at proc_stop_after_iret, on the app's kernel stack,
 * interrupts off, and the handler returns through iretq.
 */
static void proc_stop_by_iret(struct trap_frame *tf)
{
	tf->rip = (uint64_t)proc_stop_after_iret;
	tf->cs = GDT_KERNEL_CS;
	tf->ss = GDT_KERNEL_DS;
	tf->rsp = proc.kstack.base + PROC_KSTACK_SIZE - 8; /* as after a call */
	tf->rflags = 0x2;
}

/* The timer's tick: the time limit and Ctrl-C are looked at, nothing else. */
static void proc_tick(struct trap_frame *tf)
{
	if (proc.deadline != 0 && clock_us() >= proc.deadline) {
		log_error("app: stopped: the time limit of %u s (timeout=) ran out at rip %llx",
			  kernel_config.timeout, (unsigned long long)tf->rip);
		proc_stop();
	}
	if (console_interrupted()) {
		log_error("app: stopped: Ctrl-C on the serial console at rip %llx",
			  (unsigned long long)tf->rip);
		proc_stop();
	}
}

/* What the timer tick took from the app: its handler's time in the
 * kernel, per tick and as a share of the app's run. */
static void proc_tick_report(uint64_t run_us)
{
	uint64_t tsc, ticks = trap_take_tick_cost(&tsc), per_us = clock_tsc_freq() / 1000000;

	if (ticks == 0 || per_us == 0 || run_us == 0)
		return;
	uint64_t us = tsc / per_us;
	log_info("app: %llu timer ticks took %llu us in the kernel (%llu ns each, %llu.%03llu %% "
		 "of the app's %llu ms)",
		 (unsigned long long)ticks, (unsigned long long)us,
		 (unsigned long long)(tsc * 1000 / per_us / ticks),
		 (unsigned long long)(us * 100 / run_us),
		 (unsigned long long)(us * 100000 / run_us % 1000),
		 (unsigned long long)(run_us / 1000));
}

/* Traps from ring 3: page faults the VM can serve are served, the rest
 * stop the app with a line saying where, what and which mapping. */
static void proc_trap(struct trap_frame *tf)
{
	uint64_t nmi_rip, nmis = trap_take_kernel_nmis(&nmi_rip);

	if (nmis != 0) /* now the console is free to say so */
		log_info("kernel: %llu NMI while in the kernel, the last at rip %llx; going on",
			 (unsigned long long)nmis, (unsigned long long)nmi_rip);
	if (tf->vector == APIC_TIMER_VECTOR) {
		proc_tick(tf);
		return;
	}
	if (tf->vector == TRAP_NMI) {
		/* not the app's doing: a watchdog, a button, a stray one */
		log_info("app: NMI at rip %llx; the app goes on", (unsigned long long)tf->rip);
		return;
	}
	if (tf->vector == TRAP_MC) {
		log_error("app: stopped: %s at rip %llx", trap_name(TRAP_MC),
			  (unsigned long long)tf->rip);
		proc_stop_by_iret(tf);
		return;
	}
	if (tf->vector != TRAP_PF) {
		log_error("app: stopped: %s at rip %llx (error %llx, cpl %llu)",
			  trap_name((unsigned)tf->vector), (unsigned long long)tf->rip,
			  (unsigned long long)tf->error, (unsigned long long)(tf->cs & 3));
		proc_stop();
	}
	uint64_t addr = read_cr2();
	vm_prot_t access = (tf->error & PF_I)   ? VM_PROT_EXECUTE
			   : (tf->error & PF_W) ? VM_PROT_WRITE
						: VM_PROT_READ;
	int err = addr < PROC_MAP_END ? vm_fault(&proc.map, addr, access, true) : -EFAULT;
	if (err == 0)
		return;
	/* built only now: filling it on every fault costs a memset */
	struct vm_map_entry e;
	char where[96] = "no mapping";
	if (addr < PROC_MAP_END && vm_map_lookup(&proc.map, addr, &e) == 0)
		ksnprintf(where, sizeof(where), "%s %llx-%llx %s",
			  e.kind == VM_ENTRY_RESERVED ? "reserved (guard)" : e.kind == VM_ENTRY_OBJECT
			  ? "mapping" : "space", (unsigned long long)e.start, (unsigned long long)e.end,
			  proc_prot(e.prot));
	else if (addr >= USER_SPACE_END)
		ksnprintf(where, sizeof(where), "kernel address");
	log_error("app: stopped: %s of %llx at rip %llx (cpl %llu): %s; %s",
		  access == VM_PROT_EXECUTE ? "execute" : access == VM_PROT_WRITE ? "write" : "read",
		  (unsigned long long)addr, (unsigned long long)tf->rip,
		  (unsigned long long)(tf->cs & 3), err == -ENOMEM ? "out of memory" : err_name(err),
		  where);
	proc_stop();
}

/* Copies the image's file bytes into the heap object's pages. */
static int proc_fill(const struct elf_segment *s)
{
	for (uint64_t done = 0; done < s->filesz;) {
		uint64_t va = s->vaddr + done, n = MIN(s->filesz - done, PAGE_SIZE - (va & PAGE_MASK));
		struct vm_page *m;
		int err = vm_fault_object_hold(proc.heap, va / PAGE_SIZE, &m);
		if (err < 0)
			return err;
		memcpy((uint8_t *)pmap_phys_to_virt(vm_page_phys(m)) + (va & PAGE_MASK),
		       app_image + s->offset + done, n);
		vm_fault_object_release(m);
		done += n;
	}
	return 0;
}

static vm_prot_t proc_vm_prot(unsigned p)
{
	return (vm_prot_t)(((p & PHOBOS_PROT_READ) ? VM_PROT_READ : 0) |
			   ((p & PHOBOS_PROT_WRITE) ? VM_PROT_WRITE : 0) |
			   ((p & PHOBOS_PROT_EXEC) ? VM_PROT_EXECUTE : 0));
}

/* Every PT_LOAD as a heap mapping at its address; the space below the
 * image reserved.  *heap_base gets the first address above it. */
static int proc_load(struct elf_image *img, uint64_t *heap_base)
{
	const char *why = NULL;
	int err = elf_parse(app_image, (size_t)(app_image_end - app_image), PHOBOS_APP_BASE,
			    GATE_AREA_ADDRESS - PROC_STACK_SIZE - PAGE_SIZE, img, &why);

	if (err < 0) {
		log_error("app: the embedded image is not a valid app: %s", why);
		return err;
	}
	if ((err = vm_map_reserve_space(&proc.map, PAGE_SIZE, img->lowest - PAGE_SIZE)) < 0)
		return err;
	for (unsigned i = 0; i < img->nseg && err == 0; i++) {
		const struct elf_segment *s = &img->seg[i];
		vaddr_t start = ALIGN_DOWN(s->vaddr, PAGE_SIZE), va;
		err = vm_map_insert_heap(&proc.map, proc.heap, start,
					 ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE) - start,
					 proc_vm_prot(s->prot), MAP_ENTRY_USER, &va);
		if (err == 0)
			err = proc_fill(s);
	}
	*heap_base = ALIGN_UP(img->highest, PAGE_SIZE);
	return err;
}

static void proc_gate_fill(struct phobos_gate *g, uint64_t heap_base)
{
	struct vm_stats st;
	unsigned n = 0;

	vm_page_stats(&st);
	memset(g, 0, PAGE_SIZE);
	g->magic = PHOBOS_GATE_MAGIC;
	g->version = 2;
	g->page_size = PAGE_SIZE;
	g->tsc_hz = clock_tsc_freq();
	g->tsc_base = clock_tsc_base();
	g->mem_total = st.total * PAGE_SIZE;
	g->heap_base = heap_base;
	g->heap_end = GATE_AREA_ADDRESS;
	g->swap_on = swap_enabled();
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next)
		if (d->parent == NULL && n < 8) {
			g->disk_bytes[n] = d->sectors * d->sector_size;
			memcpy(g->disk_names[n++], d->name, sizeof(g->disk_names[0]) - 1);
		}
	g->disks = n;
	g->files_on = storage.vol != NULL;
	g->tsc_loader = kernel_boot_info->tsc_entry;
	g->fw_revision = kernel_boot_info->fw_revision;
	memcpy(g->fw_vendor, kernel_boot_info->fw_vendor, sizeof(g->fw_vendor) - 1);
}

/* The gate page, the stack with its guard, the arguments on the stack. */
static int proc_layout(uint64_t heap_base, const char *args, uint64_t *sp)
{
	struct vm_page *m;
	vaddr_t va, stack = GATE_AREA_ADDRESS - PROC_STACK_SIZE;
	int err = vm_fault_object_hold(proc.gate, 0, &m);

	if (err < 0)
		return err;
	proc_gate_fill(pmap_phys_to_virt(vm_page_phys(m)), heap_base);
	vm_fault_object_release(m);
	if ((err = vm_map_insert_object_at(&proc.map, GATE_AREA_ADDRESS, proc.gate, 0, PAGE_SIZE,
					   VM_PROT_READ, MAP_ENTRY_USER)) < 0 ||
	    (err = vm_map_reserve_space(&proc.map, GATE_AREA_ADDRESS + PAGE_SIZE,
					PROC_MAP_END - GATE_AREA_ADDRESS - PAGE_SIZE)) < 0 ||
	    (err = vm_map_reserve_space(&proc.map, stack - PAGE_SIZE, PAGE_SIZE)) < 0 ||
	    (err = vm_map_insert_heap(&proc.map, proc.heap, stack, PROC_STACK_SIZE, VM_PROT_RW,
				      MAP_ENTRY_USER, &va)) < 0)
		return err;
	/* the argument string at the top of the stack, written into the page */
	size_t len = MIN(strlen(args), PROC_ARGS_MAX - 1);
	if ((err = vm_fault_object_hold(proc.heap, (GATE_AREA_ADDRESS - 1) / PAGE_SIZE, &m)) < 0)
		return err;
	char *top = (char *)pmap_phys_to_virt(vm_page_phys(m)) + PAGE_SIZE - PROC_ARGS_MAX;
	memcpy(top, args, len);
	top[len] = '\0';
	vm_fault_object_release(m);
	*sp = GATE_AREA_ADDRESS - PROC_ARGS_MAX - 8; /* as after a call: rsp + 8 aligned */
	return 0;
}

/*
 * The reserved page below the stack makes an overflow fault there (a
 * double fault, on its own stack) instead of running on into whatever
 * lies below.  The pages are wired as vm_map_allocate wires them.
 */
int proc_kstack_alloc(struct proc_kstack *ks)
{
	struct vm_map *k = vm_map_kernel();
	vaddr_t va;

	*ks = (struct proc_kstack){0, 0};
	int err = vm_map_allocate_space(k, PROC_KSTACK_SIZE + PAGE_SIZE, &va);
	if (err < 0)
		return err;
	vm_map_free(k, va);
	if ((err = vm_map_reserve_space(k, va, PAGE_SIZE)) < 0)
		return err;
	ks->guard = va;
	struct vm_object *obj = vm_object_allocate(PROC_KSTACK_SIZE);
	if (obj == NULL)
		return -ENOMEM;
	err = vm_map_insert_object_at(k, va + PAGE_SIZE, obj, 0, PROC_KSTACK_SIZE, VM_PROT_RW,
				      MAP_ENTRY_WIRED);
	vm_object_deallocate(obj); /* the entry holds its own reference */
	if (err < 0)
		return err;
	ks->base = va + PAGE_SIZE;
	for (vaddr_t a = ks->base; err == 0 && a < ks->base + PROC_KSTACK_SIZE; a += PAGE_SIZE)
		err = vm_fault(k, a, VM_PROT_WRITE, false);
	return err;
}

void proc_kstack_free(struct proc_kstack *ks)
{
	if (ks->base != 0)
		vm_map_free(vm_map_kernel(), ks->base);
	if (ks->guard != 0)
		vm_map_unreserve_space(vm_map_kernel(), ks->guard, PAGE_SIZE);
	*ks = (struct proc_kstack){0, 0};
}

static int proc_create(void)
{
	memset(&proc, 0, sizeof(proc));
	struct vm_stats st;
	int err = pmap_create(&proc.pmap);
	if (err < 0)
		return err;
	vm_page_stats(&st);
	pmap_set_table_cap(proc.pmap, MAX(PROC_TABLES_MIN, st.total >> PROC_TABLES_SHIFT));
	if ((err = vm_map_init(&proc.map, proc.pmap, PAGE_SIZE, PROC_MAP_END - PAGE_SIZE)) < 0) {
		pmap_destroy(proc.pmap);
		return err;
	}
	proc.heap = vm_object_allocate(GATE_AREA_ADDRESS);
	proc.gate = vm_object_allocate(PAGE_SIZE);
	if (proc.heap == NULL || proc.gate == NULL)
		return -ENOMEM;
	return proc_kstack_alloc(&proc.kstack);
}

static void proc_destroy(void)
{
	syscall_proc_end();
	pmap_activate(pmap_kernel());
	vm_map_remove_all(&proc.map);
	buddy_destroy(&proc.map.space);
	pmap_destroy(proc.pmap);
	if (proc.heap != NULL)
		vm_object_deallocate(proc.heap);
	if (proc.gate != NULL)
		vm_object_deallocate(proc.gate);
	proc_kstack_free(&proc.kstack);
	user_vm_map = NULL;
	trap_user_hook = NULL;
}

int proc_run(const char *args, int *code)
{
	struct elf_image img;
	uint64_t heap_base = 0, sp = 0;

	KASSERT(!proc.running);
	clock_refine(); /* before the gate page hands the rate out */
	int err = proc_create();
	if (err == 0)
		err = proc_load(&img, &heap_base);
	if (err == 0)
		err = proc_layout(heap_base, args, &sp);
	proc.heap_base = heap_base;
	if (err < 0) {
		log_error("app: cannot start: %s", err_name(err));
		proc_destroy();
		return err;
	}
	user_set_kernel_stack(proc.kstack.base + PROC_KSTACK_SIZE);
	user_vm_map = &proc.map;
	trap_user_hook = proc_trap;
	pmap_activate(proc.pmap);
	proc.running = true;
	if (kernel_config.timeout != 0)
		proc.deadline = clock_us() + (uint64_t)kernel_config.timeout * 1000000;
	console_interrupted(); /* a Ctrl-C typed before the app started is not for it */
	user_fpu_reset();
	/* a time limit needs the tick whatever tick= says */
	if (!kernel_config.tick_off || kernel_config.timeout != 0)
		apic_timer_start();
	log_info("app: started at %llx, heap from %llx", (unsigned long long)img.entry,
		 (unsigned long long)heap_base);
	uint64_t tick_tsc, started = clock_us();
	trap_take_tick_cost(&tick_tsc);
	uint64_t r = user_run(img.entry, sp, GATE_AREA_ADDRESS - PROC_ARGS_MAX);
	apic_timer_stop();
	proc_tick_report(clock_us() - started);
	proc.running = false;
	*code = proc.stopped ? PROC_EXIT_STOPPED : (int)(uint32_t)r;
	proc_destroy();
	return 0;
}
