# The GPT disk image: an ESP (FAT32, made with mtools: no root, no loop
# devices) holding the loader and phobos.cfg, and a Linux swap partition in
# mkswap's format.  Every build gets fresh random disk and partition GUIDs
# (and every stick made by `make usb` fresh ones again): the kernel knows its
# own disk only by them, so two disks must never share them.  Set DISK_GUID,
# ESP_GUID or SWAP_GUID to fix one; tests read them from the image.

OVMF_CODE ?= /usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS ?= /usr/share/OVMF/OVMF_VARS_4M.fd
DISK_GUID ?=
ESP_GUID ?=
SWAP_GUID ?=
IMAGE := $(BUILD)/phobos.img
IMAGE_CFG ?= image/phobos.cfg

$(BUILD)/esp.img: $(LOADER) $(IMAGE_CFG) image/mkesp.sh
	ESP_SIZE=$(ESP_SIZE) image/mkesp.sh $@ $(LOADER) $(IMAGE_CFG)

$(IMAGE): $(BUILD)/esp.img image/mkimage.sh
	IMAGE_SIZE=$(IMAGE_SIZE) SWAP_SIZE=$(SWAP_SIZE) ESP_SIZE=$(ESP_SIZE) DISK_GUID=$(DISK_GUID) \
	ESP_GUID=$(ESP_GUID) SWAP_GUID=$(SWAP_GUID) image/mkimage.sh $@ $(BUILD)/esp.img

image: $(IMAGE)

QEMU_ARGS = -machine $(QEMU_MACHINE) -cpu max -m $(QEMU_MEM) -no-reboot \
	-drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
	-drive if=pflash,format=raw,file=$(BUILD)/ovmf_vars.fd \
	-drive if=none,format=raw,file=$(IMAGE),id=boot -device virtio-blk-pci,drive=boot \
	-device isa-debug-exit,iobase=0x501,iosize=1

$(BUILD)/ovmf_vars.fd: $(OVMF_VARS)
	@mkdir -p $(@D)
	cp $< $@

run: deps
	@$(MAKE) --no-print-directory image $(BUILD)/ovmf_vars.fd
	qemu-system-x86_64 $(QEMU_ARGS) -serial stdio -display none; \
		s=$$?; [ $$s -eq 1 ] || [ $$s -eq 0 ]

run-gui: deps
	@$(MAKE) --no-print-directory image $(BUILD)/ovmf_vars.fd
	qemu-system-x86_64 $(QEMU_ARGS) -serial stdio

debug: deps
	@$(MAKE) --no-print-directory image $(BUILD)/ovmf_vars.fd
	@echo "QEMU waits for gdb on :1234. In another terminal run:"
	@echo "  gdb -ex 'file $(KERNEL_ELF)' -ex 'target remote localhost:1234' -ex 'break kmain' -ex continue"
	@echo "($(KERNEL_ELF) is linked at the address it runs at, 0xffffffff80000000: no offset needed)"
	qemu-system-x86_64 $(QEMU_ARGS) -serial stdio -display none -s -S

# A stick gets image/usb.cfg (exit=halt: results stay on screen) and GUIDs of
# its own, drawn anew for every stick written.
usb: $(IMAGE) image/usb.cfg
	@test -n "$(DEV)" || { echo "usage: make usb DEV=/dev/sdX [FORCE=1]"; exit 2; }
	FORCE=$(FORCE) scripts/usb-write.sh $(DEV) $(IMAGE) image/usb.cfg
.PHONY: usb
