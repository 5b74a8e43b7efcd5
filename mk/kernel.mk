# The kernel ELF (linked at KERNEL_BASE) and the UEFI loader that carries it.

KCC ?= clang
# ThinLTO: the VM's hot paths cross files (vm_fault, vm_object, vm_page,
# pmap) through many small calls; inlined, a first touch's kernel part
# takes about a fifth less time (TSC, under TCG, where every call and
# return costs a translated-block lookup).
KCFLAGS := -target x86_64-unknown-none-elf -std=gnu11 -ffreestanding -fno-stack-protector \
	-fno-pic -mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -g -O2 -flto=thin -Wall -Wextra -Werror -I. -MMD -MP
EFI_CFLAGS := -target x86_64-unknown-windows -std=gnu11 -ffreestanding -fno-stack-protector \
	-fshort-wchar -mno-red-zone -mgeneral-regs-only -O2 -Wall -Wextra -Werror \
	-Wno-unused-parameter -I. -I/usr/include/efi -I/usr/include/efi/x86_64 -MMD -MP

KSRCS := $(sort $(shell find core fs app/kernel -name '*.c' 2>/dev/null))
KASM := $(sort $(wildcard core/arch/x86_64/*.S)) core/app_blob.S
KOBJS := $(patsubst %.c,$(BUILD)/kernel/%.o,$(KSRCS)) $(patsubst %.S,$(BUILD)/kernel/%.o,$(KASM))
LDSCRIPT := core/arch/x86_64/linker.ld
EFI_SRCS := $(sort $(wildcard efi/*.c))
EFI_OBJS := $(patsubst %.c,$(BUILD)/efi/%.o,$(EFI_SRCS)) $(BUILD)/efi/efi/kernel_blob.o

KERNEL_ELF := $(BUILD)/kernel.elf
LOADER := $(BUILD)/BOOTX64.EFI

-include $(KOBJS:.o=.d) $(EFI_OBJS:.o=.d)

$(BUILD)/kernel/%.o: %.c
	@mkdir -p $(@D)
	$(KCC) $(KCFLAGS) -c $< -o $@

$(BUILD)/kernel/%.o: %.S
	@mkdir -p $(@D)
	$(KCC) $(KCFLAGS) -c $< -o $@

# Two links: the first gives the addresses for the symbol table, the second
# adds the table in the last section, which moves nothing; the check below
# proves it.  The last check keeps the kernel general-registers-only: the
# app's FPU/SSE/AVX state then survives every trap and system call without
# being saved (user.c restores a clean one for each app, nothing else).
$(BUILD)/ksyms0.o: scripts/gen_ksyms.py
	@mkdir -p $(@D)
	python3 scripts/gen_ksyms.py $(BUILD)/ksyms0.S
	$(KCC) $(KCFLAGS) -c $(BUILD)/ksyms0.S -o $@

$(KERNEL_ELF): $(KOBJS) $(BUILD)/ksyms0.o $(LDSCRIPT) scripts/gen_ksyms.py
	ld.lld -nostdlib -z max-page-size=4096 -T $(LDSCRIPT) -o $(BUILD)/kernel.pass1.elf $(KOBJS) $(BUILD)/ksyms0.o
	llvm-nm -n -S --defined-only $(BUILD)/kernel.pass1.elf > $(BUILD)/kernel.pass1.syms
	python3 scripts/gen_ksyms.py $(BUILD)/ksyms.S $(BUILD)/kernel.pass1.syms
	$(KCC) $(KCFLAGS) -c $(BUILD)/ksyms.S -o $(BUILD)/ksyms.o
	ld.lld -nostdlib -z max-page-size=4096 -T $(LDSCRIPT) -o $@ $(KOBJS) $(BUILD)/ksyms.o
	llvm-nm -n -S --defined-only $@ > $(BUILD)/kernel.syms
	@grep -v '__ksyms\|__kernel_end' $(BUILD)/kernel.pass1.syms > $(BUILD)/kernel.pass1.cmp
	@grep -v '__ksyms\|__kernel_end' $(BUILD)/kernel.syms | cmp -s - $(BUILD)/kernel.pass1.cmp || \
		{ echo "kernel: symbol addresses moved between links"; exit 1; }
	@if llvm-objdump -d --no-show-raw-insn $@ | \
		grep -E '%(x|y|z)?mm[0-9]|%st|^ *[0-9a-f]+:[[:space:]]+(f[a-z0-9]*|ldmxcsr|stmxcsr|emms)([[:space:]]|$$)' | \
		grep -vE '[[:space:]]fxrstor[[:space:]]'; then \
		echo "kernel: the FPU/SSE instructions above: the kernel is general-registers-only" \
			"(only user_fpu_reset restores the app's clean state)"; rm -f $@; exit 1; fi

$(BUILD)/kernel.stripped.elf: $(KERNEL_ELF)
	llvm-objcopy --strip-debug $< $@

$(BUILD)/efi/%.o: %.c
	@mkdir -p $(@D)
	$(KCC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/efi/kernel_blob.o: efi/kernel_blob.S $(BUILD)/kernel.stripped.elf
	@mkdir -p $(@D)
	$(KCC) -target x86_64-unknown-windows -DKERNEL_BLOB='"$(BUILD)/kernel.stripped.elf"' -c $< -o $@

$(LOADER): $(EFI_OBJS)
	lld-link -nologo -subsystem:efi_application -entry:efi_main -nodefaultlib -out:$@ $(EFI_OBJS)

kernel: $(KERNEL_ELF)
loader: $(LOADER)
.PHONY: kernel loader
