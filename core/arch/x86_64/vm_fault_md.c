/*
 * Page faults from the CPU into vm_fault.  Kernel-half addresses go to the
 * kernel map.  A fault vm_fault cannot resolve is described (address,
 * access, entry) before the trap code panics with the registers.
 */
#include "core/arch/x86_64/trap.h"
#include "core/boot_info.h"
#include "core/mm/vm_map.h"

static const char *vm_fault_md_kind(const struct vm_map_entry *e)
{
	return e->kind == VM_ENTRY_OBJECT ? "object" : e->kind == VM_ENTRY_SPACE ? "pure space"
										  : "reserved";
}

static const char *vm_fault_md_access(vm_prot_t access)
{
	return access == VM_PROT_WRITE ? "write" : access == VM_PROT_READ ? "read" : "execute";
}

/*
 * Resolves the fault or describes it for the PANIC line:
 * "#PF page fault: <addr> <access> from <mode>: <error>; entry <range> <kind> prot <p>".
 */
static int vm_fault_md(struct trap_frame *tf, uint64_t addr, char *why, size_t len)
{
	struct vm_map *map = addr >= KERNEL_DYN_BASE ? vm_map_kernel() : NULL;
	vm_prot_t access = (tf->error & PF_I)   ? VM_PROT_EXECUTE
			   : (tf->error & PF_W) ? VM_PROT_WRITE
						: VM_PROT_READ;
	bool user = tf->error & PF_U;
	const char *mode = user ? "user" : "kernel";
	struct vm_map_entry e;

	if (map == NULL) {
		ksnprintf(why, len, "#PF page fault: %llx %s from %s mode: no map covers it",
			  (unsigned long long)addr, vm_fault_md_access(access), mode);
		return -EFAULT;
	}
	int err = vm_fault(map, addr, access, user);
	if (err == 0)
		return 0;
	const char *what = err == -ENOMEM ? "out of memory (-ENOMEM)" : err_name(err);
	if (vm_map_lookup(map, addr, &e) == 0)
		ksnprintf(why, len,
			  "#PF page fault: %llx %s from %s mode: %s; entry %llx-%llx %s prot %s%s%s",
			  (unsigned long long)addr, vm_fault_md_access(access), mode, what,
			  (unsigned long long)e.start, (unsigned long long)e.end, vm_fault_md_kind(&e),
			  (e.prot & VM_PROT_READ) ? "r" : "-", (e.prot & VM_PROT_WRITE) ? "w" : "-",
			  (e.prot & VM_PROT_EXECUTE) ? "x" : "-");
	else
		ksnprintf(why, len, "#PF page fault: %llx %s from %s mode: %s; no entry",
			  (unsigned long long)addr, vm_fault_md_access(access), mode, what);
	return err;
}

void vm_fault_md_init(void)
{
	trap_page_fault_hook = vm_fault_md;
}
