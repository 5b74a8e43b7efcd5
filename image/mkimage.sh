#!/bin/sh
# mkimage.sh OUT ESP_IMG: the GPT disk.  Partition 1 is the ESP at 1 MiB,
# partition 2 a Linux swap partition initialised by mkswap.  Sizes and
# GUIDs come from the environment (see mk/image.mk); an empty GUID is drawn
# at random, so every image is a disk of its own.
set -eu
guid() { [ -n "$1" ] && echo "$1" || cat /proc/sys/kernel/random/uuid; }
DISK_GUID=$(guid "${DISK_GUID:-}") ESP_GUID=$(guid "${ESP_GUID:-}") SWAP_GUID=$(guid "${SWAP_GUID:-}")
out=$1 esp=$2
mib() { numfmt --from=iec "$1" | awk '{print int($1 / 1048576)}'; }
img=$(mib "$IMAGE_SIZE") espm=$(mib "$ESP_SIZE") swapm=$(mib "$SWAP_SIZE")
[ $((1 + espm + swapm + 1)) -le "$img" ] || { echo "IMAGE_SIZE too small for ESP_SIZE + SWAP_SIZE" >&2; exit 1; }
rm -f "$out.tmp"
truncate -s "${img}M" "$out.tmp"

sgdisk -U "$DISK_GUID" \
	-n 1:1M:+"${espm}M" -t 1:EF00 -c 1:"EFI system" -u 1:"$ESP_GUID" \
	-n 2:0:+"${swapm}M" -t 2:8200 -c 2:"Phobos swap" -u 2:"$SWAP_GUID" "$out.tmp" >/dev/null
dd if="$esp" of="$out.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
start=$(sgdisk -i 2 "$out.tmp" | awk '/First sector/ {print $3}')
truncate -s "${swapm}M" "$out.swap"
mkswap -q "$out.swap" >/dev/null
dd if="$out.swap" of="$out.tmp" bs=512 seek="$start" conv=notrunc,sparse status=none
rm -f "$out.swap"
sgdisk -v "$out.tmp" | grep -q "No problems found" || { sgdisk -v "$out.tmp"; exit 1; }
mv "$out.tmp" "$out"
