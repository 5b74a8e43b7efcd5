/*
 * kmain: the boot sequence of the kernel proper, from the loader's
 * hand-off to the app and the exit line.
 */
#include "core/acpi.h"
#include "core/arch/x86_64/clock.h"
#include "core/arch/x86_64/cpu.h"
#include "core/arch/x86_64/pmap_boot.h"
#include "core/arch/x86_64/trap.h"
#include "core/console.h"
#include "core/check.h"
#include "core/dev/storage.h"
#include "core/dev/swap_dev.h"
#include "core/kbench.h"
#include "core/kernel.h"
#include "core/ktest.h"
#include "core/mm/malloc.h"
#include "core/mm/slab.h"
#include "core/mm/vm_map.h"
#include "core/mm/vm_page.h"
#include "core/mm/swap_pager.h"
#include "core/mm/vm_pageout.h"
#include "core/mm/vm_trace.h"
#include "core/proc.h"
#include "core/arch/x86_64/user.h"

struct boot_info *kernel_boot_info;
struct config kernel_config;

static const char *main_efi_type_name(uint32_t t)
{
	static const char *const names[] = {
		"Reserved", "LoaderCode", "LoaderData", "BootServicesCode", "BootServicesData",
		"RuntimeServicesCode", "RuntimeServicesData", "Conventional", "Unusable",
		"ACPIReclaim", "ACPINVS", "MMIO", "MMIOPortSpace", "PalCode", "Persistent",
		"Unaccepted"};

	if (t < ARRAY_SIZE(names))
		return names[t];
	if (t == 0x80000001u)
		return "PhobosKernel";
	if (t == 0x80000002u)
		return "PhobosBootData";
	return "Other";
}

/* Usable MiB, then MiB by firmware type (MMIO excluded from the sums). */
static void main_memory_report(const struct boot_info *bi)
{
	uint64_t by_type[18] = {0}, usable = 0;

	for (uint32_t i = 0; i < bi->range_count; i++) {
		const struct boot_mem_range *r = &bi->ranges[i];
		uint32_t t = r->efi_type < 16 ? r->efi_type : r->efi_type == 0x80000001u ? 16 : 17;
		by_type[t] += r->pages;
		if (r->type == BOOT_MEM_FREE || r->type == BOOT_MEM_LOADER ||
		    r->type == BOOT_MEM_BOOT_DATA)
			usable += r->pages;
	}
	log_info("memory: %llu MiB usable in %u ranges", (unsigned long long)(usable >> 8),
		 bi->range_count);
	if (bi->ranges_dropped > 0)
		log_error("memory: %u more firmware ranges did not fit the hand-off; left unused",
			  bi->ranges_dropped);
	for (uint32_t t = 0; t < 18; t++) {
		if (by_type[t] == 0)
			continue;
		uint32_t efi = t < 16 ? t : t == 16 ? 0x80000001u : 0x80000002u;
		log_info("memory:   %-20s %6llu MiB (%llu pages)", main_efi_type_name(efi),
			 (unsigned long long)(by_type[t] >> 8), (unsigned long long)by_type[t]);
	}
}

/* vm_page found nothing: give back what the caches hold. */
static void main_low_memory(void)
{
	size_t pages = slab_reclaim();

	log_debug("low memory: slab reclaim returned %zu pages", pages);
}

struct vm_map *kernel_submaps[KERNEL_SUBMAPS];

/* SPEC 3: buffer space, device memory and kernel stacks, each a submap of
 * the kernel map at a fixed place at its start. */
static void main_kernel_submaps(void)
{
	static const char *const names[KERNEL_SUBMAPS] = {"buffer space", "device memory",
							  "kernel stacks"};
	static const vm_size_t sizes[KERNEL_SUBMAPS] = {64ull << 30, 64ull << 30, 16ull << 30};
	vaddr_t at = KERNEL_DYN_BASE;

	for (int i = 0; i < KERNEL_SUBMAPS; i++) {
		if (vm_map_create_submap(vm_map_kernel(), &at, sizes[i], true, &kernel_submaps[i]) < 0)
			panic("main_kernel_submaps: no room for the %s submap", names[i]);
		log_debug("vm_map: %s submap %llx-%llx", names[i], (unsigned long long)at,
			  (unsigned long long)(at + sizes[i]));
		at += sizes[i];
	}
}

/*
 * Hands free memory to vm_page: conventional and boot-services memory and,
 * since boot_info has been copied and the loader's tables are no longer
 * used, the loader's own pages.  ACPI reclaim memory stays: its tables are
 * read again by drivers.
 */
/* The least memory Phobos runs in, usable pages counted: below it the
 * kernel's own maps, the app and the self-tests cannot all have what they
 * need (mem=16M leaves about 15.8 MiB usable). */
#define MAIN_MEM_MIN (14ull << 20)

static void main_vm_startup(const struct boot_info *bi)
{
	static struct vm_phys_range ranges[BOOT_RANGES_MAX];
	unsigned n = 0;

	for (uint32_t i = 0; i < bi->range_count; i++) {
		const struct boot_mem_range *r = &bi->ranges[i];
		if (r->type != BOOT_MEM_FREE && r->type != BOOT_MEM_LOADER &&
		    r->type != BOOT_MEM_BOOT_DATA)
			continue;
		if (r->pages == 0)
			continue;
		if (n > 0 && ranges[n - 1].base + ranges[n - 1].pages * PAGE_SIZE == r->base) {
			ranges[n - 1].pages += r->pages;
			continue;
		}
		ranges[n++] = (struct vm_phys_range){r->base, r->pages};
	}
	/* the firmware's map is sorted on every machine seen; the cap needs it */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && ranges[j - 1].base > ranges[j].base; j--) {
			struct vm_phys_range t = ranges[j];
			ranges[j] = ranges[j - 1];
			ranges[j - 1] = t;
		}
	if (vm_page_startup(ranges, n, kernel_config.mem_cap) < 0)
		panic("main_vm_startup: no usable memory");
	struct vm_stats st;
	vm_page_stats(&st);
	if (st.total * PAGE_SIZE < MAIN_MEM_MIN) {
		log_error("memory: %llu KiB usable%s; Phobos needs at least %llu MiB (its maps, "
			  "page tables, the app and the self-tests' working sets)",
			  (unsigned long long)(st.total * PAGE_SIZE >> 10),
			  kernel_config.mem_cap ? " under the mem= cap" : "",
			  (unsigned long long)(MAIN_MEM_MIN >> 20));
		kernel_exit(EXIT_CONFIG);
	}
	pmap_boot_handoff();
	vm_pageout_init(swap_pager_alloc);
	vm_page_set_hooks(vm_pageout_reclaim, main_low_memory);
	mm_malloc_init();
	if (vm_map_kernel_init(KERNEL_DYN_BASE, KERNEL_BASE - KERNEL_DYN_BASE) < 0)
		panic("main_vm_startup: no kernel map");
	main_kernel_submaps();
	vm_fault_md_init();
	if (kernel_config.mem_cap)
		log_info("vm_page: mem= caps usable memory at %llu MiB",
			 (unsigned long long)(kernel_config.mem_cap >> 20));
	vm_page_report();
}

static const char *main_app_name(enum config_app app)
{
	static const char *const names[] = {"bench", "selftest", "check", "demo"};

	return names[app];
}

/* The end of a run that did not panic: the files volume marked clean
 * (its dirty flag set while writing), what the VM did, the exit line. */
static _Noreturn void main_finish(int code)
{
	if (proc_test_stopped && code != EXIT_CONFIG)
		code = EXIT_STOPPED;
	if (storage.vol != NULL && fat_unmount(storage.vol) < 0 && code == EXIT_OK)
		code = EXIT_FAILED;
	vm_pageout_report();
	if (swap_enabled()) {
		struct swap_stats ss;
		swap_pager_stats(&ss);
		log_info("swap: %llu of %llu slots in use (%llu retired); %llu pages read, %llu "
			 "written, %llu I/O errors",
			 (unsigned long long)ss.slots_used, (unsigned long long)ss.slots_total,
			 (unsigned long long)ss.slots_lost, (unsigned long long)ss.pages_read,
			 (unsigned long long)ss.pages_written, (unsigned long long)ss.io_errors);
	}
	vm_trace_dump();
	kernel_exit(code);
}

/*
 * boot_info lives in loader memory the page allocator will reuse; the
 * kernel keeps its own copy.
 */
static struct boot_info main_boot_info;

/* Runs the app with args; non-zero when it failed or was stopped. */
static int main_app(const char *args)
{
	int code = 0;

	if (proc_run(args, &code) < 0)
		main_finish(EXIT_CONFIG);
	proc_test_stopped = code == PROC_EXIT_STOPPED;
	return code != 0;
}

/* app=bench: the kernel-side figures bench= names, then the benchmark app
 * with the rest of the list and the words that size its workloads. */
static int main_bench(void)
{
	static char rest[CONFIG_LIST_MAX - 96], args[CONFIG_LIST_MAX];
	int failed = kbench_run(kernel_config.bench, rest, sizeof(rest));

	if (rest[0] == 0)
		return failed;
	ksnprintf(args, sizeof(args), "bench bench=%s bench_mem=%llu bench_file=%llu trace=%d", rest,
		  (unsigned long long)kernel_config.bench_mem,
		  (unsigned long long)(kernel_config.bench_file ? kernel_config.bench_file
								: 64ull << 20),
		  kernel_config.trace);
	return failed + main_app(args);
}

void kmain(struct boot_info *loader_bi)
{
	uint64_t tsc_kmain = rdtsc();

	console_init(NULL);
	gdt_init();
	idt_init();
	if (loader_bi->magic != BOOT_INFO_MAGIC)
		panic("kmain: boot_info magic %llx is wrong", (unsigned long long)loader_bi->magic);
	main_boot_info = *loader_bi;
	struct boot_info *bi = &main_boot_info;
	kernel_boot_info = bi;
	int cfg_err = config_parse(&kernel_config, bi->config);
	if (config_check_text(bi->config, bi->config_len, BOOT_CONFIG_MAX) < 0)
		cfg_err = -EINVAL;
	kern_set_log_level(kernel_config.log);

	pmap_boot_init(bi);
	console_init(&bi->fb);
	if (kernel_config.console != 0)
		console_select(kernel_config.console);

	kprintf("\nPhobos x86-64 unikernel\n");
	if (acpi_init(bi->rsdp) < 0)
		log_error("acpi: no usable tables");
	if (clock_init() < 0) {
		log_error("clock: no PM timer, HPET, CPUID TSC rate or PIT: nothing bounds the "
			  "wait for a device; storage not attached");
		kernel_exit(EXIT_CONFIG);
	}
	log_info("clock: TSC %llu kHz, from the %s", (unsigned long long)(clock_tsc_freq() / 1000),
		 clock_reference());
	if (bi->tsc_entry != 0 && bi->tsc_entry <= bi->tsc_exit && bi->tsc_exit <= tsc_kmain) {
		uint64_t per_ms = clock_tsc_freq() / 1000;
		log_info("boot: the loader ran %llu ms, leaving boot services %llu ms, the kernel "
			 "before its clock %llu ms",
			 (unsigned long long)((bi->tsc_exit - bi->tsc_entry) / per_ms),
			 (unsigned long long)((tsc_kmain - bi->tsc_exit) / per_ms),
			 (unsigned long long)((clock_tsc_base() - tsc_kmain) / per_ms));
	}
	log_info("config: %s, app=%s", bi->config_source == BOOT_CONFIG_FILE ? "\\phobos.cfg"
				       : bi->config_source == BOOT_CONFIG_LOAD_OPTIONS ? "load options"
											  : "defaults",
		 main_app_name(kernel_config.app));
	if (bi->fb.format != BOOT_FB_NONE)
		log_info("framebuffer: %ux%u at %llx", bi->fb.width, bi->fb.height,
			 (unsigned long long)bi->fb.base);
	else
		log_info("framebuffer: none (headless)");
	main_memory_report(bi);
	if (cfg_err < 0) {
		log_error("config: bad configuration");
		kernel_exit(EXIT_CONFIG);
	}
	main_vm_startup(bi);
	user_cpu_init();
	if (storage_init(bi, kernel_config.fs_guid, kernel_config.swap, kernel_config.swap_guid) < 0)
		kernel_exit(EXIT_CONFIG);
	if (kernel_config.swap != CONFIG_SWAP_OFF)
		swap_dev_attach(storage.swap);

	/* a quarter of memory (16-byte events): paging itself needs the rest */
	struct vm_stats st;
	vm_page_stats(&st);
	if (kernel_config.trace && vm_trace_start(st.total * PAGE_SIZE / 4 / 16) < 0)
		log_error("trace: no memory for the trace ring; not tracing");
	int failed = 0;
	switch (kernel_config.app) {
	case CONFIG_APP_SELFTEST:
		failed = ktest_run(kernel_config.selftest);
		break;
	case CONFIG_APP_BENCH:
		failed = main_bench();
		break;
	case CONFIG_APP_CHECK:
		failed = check_run(kernel_config.check);
		if (failed == -ENODEV)
			kernel_exit(EXIT_CONFIG);
		break;
	case CONFIG_APP_DEMO:
		failed = main_app("demo");
		break;
	}
	main_finish(failed ? EXIT_FAILED : EXIT_OK);
}
