"""make bench's Linux guest: Debian's cloud kernel (linux-image-cloud-amd64,
fetched with apt-get download into build/bench/linux-pkg and unpacked with
dpkg -x, never installed), an initramfs holding the workloads' static init
(test/bench/linux_init.c), the dynamic workload binary with glibc,
mimalloc and jemalloc, and the modules for virtio-blk and vfat; booted in
the same QEMU as Phobos with a copy of the same disk image."""
import glob
import gzip
import io
import os
import shutil
import struct
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.path.join(ROOT, "build", "bench")
MODULES = ["virtio_pci", "virtio_blk", "vfat", "nls_cp437", "nls_ascii", "nls_utf8"]
CMDLINE = "console=ttyS0 panic=-1 mitigations=off init_on_alloc=0"
# QEMU options both systems' benchmark boots take.  -mem-prealloc: QEMU
# backs all guest RAM before the guest starts; otherwise the host's own
# first touch of a guest page (a huge page zeroed, at times after
# compaction: up to 3 ms on this host) is charged to whichever guest
# first writes there, and those stalls ruled first_touch for both.
QEMU_BENCH = ["-mem-prealloc"]
PRELOAD = {"mimalloc": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
           "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}


def fetch():
    """The kernel package, unpacked; returns (vmlinuz, modules dir, version)."""
    pkgdir = os.path.join(WORK, "linux-pkg")
    root = os.path.join(pkgdir, "root")
    found = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
    if not found:
        os.makedirs(pkgdir, exist_ok=True)
        dep = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"],
                             capture_output=True, text=True, check=True).stdout
        name = [ln.split()[-1] for ln in dep.splitlines() if "Depends:" in ln
                and "linux-image-" in ln][0]
        subprocess.run(["apt-get", "download", name], cwd=pkgdir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deb = glob.glob(os.path.join(pkgdir, name + "_*.deb"))[0]
        subprocess.run(["dpkg", "-x", deb, root], check=True)
        found = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
    vmlinuz = found[0]
    version = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    return vmlinuz, os.path.join(root, "lib", "modules", version), version


def modinfo_depends(path):
    """The depends= field of a module's .modinfo section (ELF64, little-endian)."""
    data = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    sec = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = sec[shstrndx]
    for s in sec:
        end = data.index(b"\0", strtab[4] + s[0])
        if data[strtab[4] + s[0]:end] == b".modinfo":
            for field in data[s[4]:s[4] + s[5]].split(b"\0"):
                if field.startswith(b"depends="):
                    return [d for d in field[8:].decode().split(",") if d]
    return []


def module_order(moddir):
    """Paths (inside the initramfs) of MODULES and what they depend on, dependencies first."""
    by_name = {}
    for p in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko"), recursive=True):
        by_name[os.path.basename(p)[:-3].replace("-", "_")] = p
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for d in modinfo_depends(by_name[name]):
            visit(d)
        order.append(by_name[name])
    for m in MODULES:
        visit(m)
    return order


class Cpio:
    """A newc archive, written in memory."""
    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1

    def add(self, name, data=b"", mode=0o100644):
        name_b = name.encode() + b"\0"
        hdr = "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
        self.ino += 1
        self.out.write(hdr.encode() + name_b)
        self.out.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        self.out.write(data)
        self.out.write(b"\0" * ((4 - len(data) % 4) % 4))

    def add_dir(self, name):
        self.add(name, mode=0o040755)

    def add_file(self, name, path, mode=0o100755):
        self.add(name, open(path, "rb").read(), mode)

    def finish(self):
        self.add("TRAILER!!!")
        return self.out.getvalue()


def shared_libs(paths):
    """Every shared library the given binaries and libraries need (ldd), resolved."""
    libs = set()
    for p in paths:
        out = subprocess.run(["ldd", p], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            for tok in parts:
                if tok.startswith("/"):
                    libs.add(tok)
    return sorted(libs)


def initramfs(init, dyn, moddir):
    """Writes build/bench/linux-initramfs.gz; returns its path."""
    c = Cpio()
    for d in ("dev", "proc", "sys", "mnt", "lib", "lib64", "lib/preload", "usr", "usr/lib",
              "lib/x86_64-linux-gnu", "lib/modules"):
        c.add_dir(d)
    c.add_file("init", init)
    c.add_file("phobos-bench", dyn)
    mods = module_order(moddir)
    for i, m in enumerate(mods):
        c.add_file("lib/modules/%02d-%s" % (i, os.path.basename(m)), m, 0o100644)
    c.add("modules.order", "".join("/lib/modules/%02d-%s\n" % (i, os.path.basename(m))
                                   for i, m in enumerate(mods)).encode())
    for name, lib in PRELOAD.items():
        c.add_file("lib/preload/%s.so" % name, lib)
    done = set()
    for lib in shared_libs([dyn] + list(PRELOAD.values())):
        real = os.path.realpath(lib)
        dest = lib.lstrip("/")
        if dest.startswith("usr/lib/x86_64-linux-gnu/"):
            dest = dest[len("usr/"):]
        if dest not in done:
            done.add(dest)
            c.add_file(dest, real)
    out = os.path.join(WORK, "linux-initramfs.gz")
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(c.finish())
    return out, [os.path.basename(m) for m in mods]


def boot(name, words, image, mem, timeout=3600):
    """Boots the guest with the kernel words plus the workload words; returns
    (log, seconds, exit code of the workloads or None)."""
    vmlinuz, _, _ = fetch()
    initrd = os.path.join(WORK, "linux-initramfs.gz")
    img = os.path.join(WORK, name + ".img")
    log_path = os.path.join(WORK, name + ".log")
    subprocess.run(["cp", "--sparse=always", image, img], check=True)
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-m", mem, "-no-reboot",
           "-display", "none", "-monitor", "none", "-serial", "file:" + log_path,
           "-kernel", vmlinuz, "-initrd", initrd, "-append", CMDLINE + " " + words,
           "-drive", "if=none,format=raw,file=%s,id=d" % img, "-device", "virtio-blk-pci,drive=d"
           ] + QEMU_BENCH
    start = time.time()
    try:
        subprocess.run(cmd, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass
    seconds = time.time() - start
    os.unlink(img)
    log = open(log_path, "rb").read().decode("utf-8", "replace").replace("\r", "")
    code = None
    for line in log.splitlines():
        if line.startswith("LINUX EXIT "):
            code = int(line.split()[2])
    return log, seconds, code


def prepare(init, dyn):
    """Fetches the kernel and builds the initramfs; returns the kernel's version."""
    _, moddir, version = fetch()
    initramfs(init, dyn, moddir)
    return version


def kernel_rev():
    """The kernel's release and Debian version, for the table's heading."""
    vmlinuz, _, version = fetch()
    deb = glob.glob(os.path.join(WORK, "linux-pkg", "*.deb"))
    return version + (" (%s)" % os.path.basename(deb[0]).split("_")[1] if deb else "")


if __name__ == "__main__":
    import sys
    v = prepare(os.path.join(ROOT, "build/bench/linux/init"),
                os.path.join(ROOT, "build/bench/linux/phobos-bench"))
    print("linux", v)
    log, secs, code = boot("linux-try", " ".join(sys.argv[2:]), sys.argv[1], "256M")
    print(log[-4000:])
    print("seconds", secs, "code", code)
