#!/bin/sh
# Installs the Debian packages Phobos needs to build, boot and test, when
# run as root; otherwise prints the apt-get line to run.
set -eu
PKGS="clang lld llvm qemu-system-x86 ovmf gnu-efi mtools dosfstools gdisk util-linux
      libcmocka-dev python3 python3-matplotlib libmimalloc-dev libjemalloc-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
else
	echo "deps: missing packages. Run as root:"
	echo "  apt-get install -y$missing"
	exit 1
fi
