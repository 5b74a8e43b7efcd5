#!/bin/sh
# usb-write.sh DEV IMAGE: writes the Phobos image to a USB stick, and only
# to a USB stick.  It refuses, before writing anything, a device that is
# not a whole disk, is not removable, is not on the USB bus, has a mounted
# partition, or is larger than 256 GB (unless FORCE=1); it shows the
# device's vendor, model and size and writes only after the user types
# "yes"; it writes with dd conv=fsync and then reads the GPT back and
# checks it against the image's.
#
# SYSFS and MOUNTS name the sysfs root and the mount table, so the
# refusals can be tested on a fake tree (test/host/usb_write_test.py).
# Exit codes: 0 written and checked, 1 refused or failed, 2 usage.
set -eu
SYSFS=${SYSFS:-/sys}
MOUNTS=${MOUNTS:-/proc/mounts}
LIMIT=256000000000

refuse() {
	echo "make usb: refusing $DEV: $*" >&2
	exit 1
}

[ $# -eq 2 ] || { echo "usage: usb-write.sh /dev/sdX image" >&2; exit 2; }
DEV=$1 IMG=$2
name=$(basename "$DEV")
blk="$SYSFS/class/block/$name"
[ -e "$blk" ] || refuse "no such block device in $SYSFS/class/block"
[ ! -e "$blk/partition" ] || refuse "it is a partition, not a whole disk"
[ "$(cat "$blk/removable" 2>/dev/null || echo 0)" = 1 ] || refuse "it is not removable"
case "$(readlink -f "$blk/device" 2>/dev/null || echo none)" in
*/usb[0-9]*) ;;
*) refuse "it is not on the USB bus" ;;
esac
if awk -v d="/dev/$name" '$1 == d || index($1, d) == 1 { found = 1 } END { exit !found }' "$MOUNTS"; then
	refuse "it has a mounted partition ($(awk -v d="/dev/$name" 'index($1, d) == 1 { print $1 " on " $2 }' "$MOUNTS" | head -1))"
fi
bytes=$(( $(cat "$blk/size") * 512 ))
if [ "$bytes" -gt "$LIMIT" ] && [ "${FORCE:-0}" != 1 ]; then
	refuse "it holds $((bytes / 1000000000)) GB, more than a stick should (FORCE=1 to write anyway)"
fi
vendor=$(cat "$blk/device/vendor" 2>/dev/null | tr -s ' ' || true)
model=$(cat "$blk/device/model" 2>/dev/null | tr -s ' ' || true)
echo "Device $DEV: $vendor $model, $((bytes / 1000000)) MB."
echo "Everything on it will be lost. Type yes to write $IMG to it:"
read -r answer || answer=
[ "$answer" = yes ] || { echo "make usb: not written." >&2; exit 1; }
dd if="$IMG" of="$DEV" bs=4M conv=fsync,notrunc status=none
# a stick larger than the image: the backup table belongs at its end
sgdisk -e "$DEV" >/dev/null
sync
# The table that reached the stick must be the image's, and sound.
want=$(sgdisk -p "$IMG" | awk '/Disk identifier/ {print $4}')
got=$(sgdisk -p "$DEV" 2>/dev/null | awk '/Disk identifier/ {print $4}')
[ -n "$want" ] && [ "$want" = "$got" ] || { echo "make usb: the GPT read back from $DEV is not the image's" >&2; exit 1; }
sgdisk -v "$DEV" | grep -q "No problems found" || { echo "make usb: sgdisk -v finds problems on $DEV" >&2; exit 1; }
echo "Written and checked: disk $got."
