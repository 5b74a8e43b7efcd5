#!/bin/sh
# Seeds for fat_fuzz: the first 64 KiB of FAT12, FAT16 and FAT32 volumes
# holding long names, nested directories and fragmented files.
set -eu
out=$(dirname "$0")/corpus/fat
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1
seed() { # name fat-type size-kib sectors-per-cluster
	img=$tmp/$1.img
	mkfs.fat -F "$2" -s "$4" -C "$img" "$3" >/dev/null
	printf 'hello' >"$tmp/small"
	head -c 3000 /dev/zero | tr '\0' 'x' >"$tmp/mid"
	mmd -i "$img" "::/A Long Directory" "::/A Long Directory/sub dir" ::/D2
	mcopy -i "$img" "$tmp/small" "::/A Long Directory/sub dir/a file with a long name.txt"
	mcopy -i "$img" "$tmp/mid" ::/D2/MID.BIN
	mcopy -i "$img" "$tmp/mid" ::/PAD
	mcopy -i "$img" "$tmp/mid" ::/MID2.BIN
	mdel -i "$img" ::/PAD
	mcopy -i "$img" "$tmp/mid" "::/fragmented.bin"
	head -c 65536 "$img" >"$out/$1"
}
mkdir -p "$out"
seed fat12 12 64 1
seed fat16 16 2200 1
seed fat32 32 34000 1
