#!/bin/sh
# mkesp.sh OUT LOADER CFG: a FAT32 ESP image carrying the loader and the
# configuration, checked with fsck.fat.  ESP_SIZE (e.g. 40M) from the
# environment.  Uses mtools only: no root, no loop devices.
set -eu
out=$1 loader=$2 cfg=$3
size_kib=$(numfmt --from=iec "${ESP_SIZE:-40M}" | awk '{print int($1 / 1024)}')
rm -f "$out"
mkfs.fat -F 32 -n PHOBOS -C "$out" "$size_kib" >/dev/null
mmd -i "$out" ::/EFI ::/EFI/BOOT
mcopy -i "$out" "$loader" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out" "$cfg" ::/phobos.cfg
fsck.fat -n "$out" >/dev/null
