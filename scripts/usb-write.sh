#!/usr/bin/env python3
"""usb-write.sh DEV IMAGE [CFG]: writes the Phobos image to a USB stick,
and only to the USB stick it checked.

(Python despite the name, which `make usb` calls: O_EXCL, flock, a write
and a direct-I/O readback through one descriptor are not to be had from a
shell.)

DEV is resolved (readlink -f, so /dev/disk/by-id/... names work) and must
be a block device; the sysfs entry checked is the one of its major:minor
(/sys/dev/block/M:m), and that entry must say the same numbers.  Refused,
before anything is written: a partition, a disk not on the USB bus, one
larger than 256 GB (unless FORCE=1), one smaller than the image, one
that anything holds in the kernel's view (a mount of it or of a
partition, in /proc/self/mountinfo by device number, so /dev/root and
friends count; an active swap; a holder such as dm-crypt, LVM or md; an
O_EXCL open failing), one another program has flock'ed.  A USB disk
whose `removable` is 0 (most USB SSDs) is written only when the answer
names its model and size.

The device is opened once, O_EXCL, and locked with flock before the
question; after the answer its serial, model and size are read again,
and the write, the flush and the readback go through that same
descriptor.  The image written is a private copy: with CFG given it gets
fresh GPT GUIDs and CFG as \\phobos.cfg; its backup GPT is moved to the
end of the stick.  After writing, the device's cache is flushed and
everything written is read back with direct I/O and compared: a stick
that does not hold what it was given (fake capacity) fails here.

Exit codes: 0 written and checked, 1 refused or failed, 2 usage.
Options for the tests only (test/host/usb_write_test.py):
--test-sysfs DIR, --test-mountinfo FILE, --test-swaps FILE.
"""
import fcntl
import mmap
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

LIMIT = 256000000000
TAIL = 1 << 20  # the end of the stick written: the backup GPT is in its last sectors
CHUNK = 4 << 20
BLKGETSIZE64 = 0x80081272
BLKFLSBUF = 0x1261


class Refused(Exception):
    pass


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


class Disk:
    """The disk behind a device number, as sysfs describes it."""

    def __init__(self, sysfs, rdev):
        self.rdev = rdev
        self.numbers = "%d:%d" % (os.major(rdev), os.minor(rdev))
        link = os.path.join(sysfs, "dev", "block", self.numbers)
        if not os.path.exists(link):
            raise Refused("sysfs knows no block device %s" % self.numbers)
        self.entry = os.path.realpath(link)
        self.name = os.path.basename(self.entry)
        if read(os.path.join(self.entry, "dev")) != self.numbers:
            raise Refused("its sysfs entry %s is not device %s" % (self.entry, self.numbers))
        self.partition = os.path.exists(os.path.join(self.entry, "partition"))
        self.removable = read(os.path.join(self.entry, "removable")) == "1"
        self.bytes = int(read(os.path.join(self.entry, "size"), "0")) * 512
        self.device = os.path.realpath(os.path.join(self.entry, "device"))
        dev = os.path.join(self.entry, "device")
        self.vendor = " ".join((read(os.path.join(dev, "vendor")) or "").split())
        self.model = " ".join((read(os.path.join(dev, "model")) or "").split())
        self.serial = self.usb_serial()

    def usb_serial(self):
        """iSerialNumber of the USB device the disk hangs off, "" when it has none."""
        d = self.device
        while d != os.path.dirname(d):
            if os.path.exists(os.path.join(d, "idVendor")):
                return read(os.path.join(d, "serial"), "")
            d = os.path.dirname(d)
        return ""

    def on_usb(self):
        return re.search(r"/usb\d+/", self.device + "/") is not None

    def parts(self):
        """(name, numbers, sysfs dir) of the disk and each of its partitions."""
        out = [(self.name, self.numbers, self.entry)]
        for sub in sorted(os.listdir(self.entry)):
            d = os.path.join(self.entry, sub)
            if os.path.exists(os.path.join(d, "partition")):
                out.append((sub, read(os.path.join(d, "dev")), d))
        return out

    def identity(self):
        return (self.numbers, self.serial, self.vendor, self.model, self.bytes)

    def describe(self):
        return "%s %s, %d MB%s" % (self.vendor, self.model, self.bytes // 1000000,
                                   ", serial " + self.serial if self.serial else "")


def check_in_use(disk, mountinfo, swaps):
    """Anything the kernel says holds the disk or one of its partitions."""
    numbers = {n: name for name, n, _ in disk.parts()}
    for name, _, d in disk.parts():
        holders = sorted(os.listdir(os.path.join(d, "holders"))) \
            if os.path.isdir(os.path.join(d, "holders")) else []
        if holders:
            raise Refused("%s is held by %s (device mapper, LVM, md?)" % (name, ", ".join(holders)))
    for line in (read(mountinfo, "") or "").splitlines():
        f = line.split()
        if len(f) > 4 and f[2] in numbers:
            raise Refused("%s is mounted on %s" % (numbers[f[2]], f[4]))
    for line in (read(swaps, "") or "").splitlines()[1:]:
        path = line.split()[0] if line.split() else ""
        try:
            st = os.stat(path)
        except OSError:
            continue
        n = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        if stat.S_ISBLK(st.st_mode) and n in numbers:
            raise Refused("%s is an active swap" % numbers[n])


def open_exclusive(path, disk):
    """The one descriptor everything goes through: O_EXCL, the same device, flock'ed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_EXCL | os.O_CLOEXEC)
    except OSError as e:
        raise Refused("it is in use (%s): mounted, swap, or claimed by a driver" % e.strerror)
    try:
        if os.fstat(fd).st_rdev != disk.rdev:
            raise Refused("the device changed while it was opened")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise Refused("another program holds a lock on it")
    except Refused:
        os.close(fd)
        raise
    return fd


def fd_bytes(fd):
    return struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]


def private_image(image, cfg, disk_bytes, workdir):
    """A copy of image for this run alone, its backup GPT at the end of a disk of disk_bytes."""
    tmp = os.path.join(workdir, "phobos-usb.img")
    subprocess.run(["cp", "--sparse=always", image, tmp], check=True)
    if cfg is not None:
        subprocess.run(["sgdisk", "-G", tmp], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["mcopy", "-o", "-i", tmp + "@@1M", cfg, "::/phobos.cfg"], check=True)
    size = os.path.getsize(tmp)
    os.truncate(tmp, disk_bytes)
    subprocess.run(["sgdisk", "-e", tmp], check=True, stdout=subprocess.DEVNULL)
    guid = subprocess.run(["sgdisk", "-p", tmp], check=True, capture_output=True,
                          text=True).stdout
    m = re.search(r"Disk identifier \(GUID\): (\S+)", guid)
    return tmp, size, m.group(1) if m else "?"


def regions(image_bytes, disk_bytes):
    return [(0, image_bytes), (disk_bytes - TAIL, disk_bytes)]


def write_all(fd, tmp, image_bytes, disk_bytes):
    with open(tmp, "rb") as src:
        for start, end in regions(image_bytes, disk_bytes):
            src.seek(start)
            pos = start
            while pos < end:
                buf = src.read(min(CHUNK, end - pos))
                done = 0
                while done < len(buf):
                    done += os.pwrite(fd, buf[done:], pos + done)
                pos += len(buf)
    os.fsync(fd)  # on a block device: written, then the device's write cache flushed


def read_back(fd, tmp, image_bytes, disk_bytes):
    """Everything written, read with direct I/O past every cache; where it differs, or None."""
    try:
        fcntl.ioctl(fd, BLKFLSBUF)
    except OSError:
        pass
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
    buf = mmap.mmap(-1, CHUNK)  # page-aligned, as O_DIRECT wants
    with open(tmp, "rb") as src:
        for start, end in regions(image_bytes, disk_bytes):
            pos = start
            while pos < end:
                n = min(CHUNK, end - pos)
                view = memoryview(buf)[:n]
                got = os.preadv(fd, [view], pos)
                src.seek(pos)
                want = src.read(n)
                if got != n or view.tobytes() != want:
                    view.release()
                    return pos
                view.release()
                pos += n
    return None


def ask(disk):
    """Yes for a removable disk; for a fixed one, its model and size typed out."""
    if disk.removable:
        print("Everything on it will be lost. Type yes to write it:", flush=True)
        want = "yes"
    else:
        want = "%s %d MB" % (disk.model, disk.bytes // 1000000)
        print("It says it is not removable (most USB SSDs say so). Everything on it will be lost.")
        print("To write it, type its model and size: %s" % want, flush=True)
    answer = sys.stdin.readline().strip()
    return answer == want


def main(argv):
    sysfs, mountinfo, swaps = "/sys", "/proc/self/mountinfo", "/proc/swaps"
    args = []
    it = iter(argv)
    for a in it:
        if a in ("--test-sysfs", "--test-mountinfo", "--test-swaps"):
            v = next(it, None)
            if v is None:
                args = []
                break
            if a == "--test-sysfs":
                sysfs = v
            elif a == "--test-mountinfo":
                mountinfo = v
            else:
                swaps = v
        else:
            args.append(a)
    if len(args) not in (2, 3):
        print("usage: usb-write.sh /dev/sdX image [phobos.cfg]", file=sys.stderr)
        return 2
    dev, image = args[0], args[1]
    cfg = args[2] if len(args) == 3 else None
    workdir = None
    try:
        path = os.path.realpath(dev)
        try:
            st = os.stat(path)
        except OSError:
            raise Refused("no such device (%s)" % path)
        if not stat.S_ISBLK(st.st_mode):
            raise Refused("%s is not a block device" % path)
        disk = Disk(sysfs, st.st_rdev)
        if disk.partition:
            raise Refused("it is a partition, not a whole disk")
        if not disk.on_usb():
            raise Refused("it is not on the USB bus")
        if disk.bytes > LIMIT and os.environ.get("FORCE", "0") != "1":
            raise Refused("it holds %d GB, more than a stick should (FORCE=1 to write anyway)"
                          % (disk.bytes // 1000000000))
        check_in_use(disk, mountinfo, swaps)
        fd = open_exclusive(path, disk)
        if fd_bytes(fd) != disk.bytes:
            raise Refused("sysfs says %d bytes, the device %d" % (disk.bytes, fd_bytes(fd)))
        if os.path.getsize(image) + TAIL > disk.bytes:
            raise Refused("it is smaller than the image")
        workdir = tempfile.mkdtemp(prefix="phobos-usb-")
        tmp, image_bytes, guid = private_image(image, cfg, disk.bytes, workdir)
        print("Device %s (%s): %s." % (dev, path, disk.describe()))
        if not ask(disk):
            print("make usb: not written.", file=sys.stderr)
            return 1
        # the answer may have come long after the question: the same stick still?
        if Disk(sysfs, disk.rdev).identity() != disk.identity() or \
                os.fstat(fd).st_rdev != disk.rdev or fd_bytes(fd) != disk.bytes:
            raise Refused("it changed while waiting for the answer")
        write_all(fd, tmp, image_bytes, disk.bytes)
        bad = read_back(fd, tmp, image_bytes, disk.bytes)
        if bad is not None:
            print("make usb: %s does not hold what was written, at byte %d "
                  "(a stick with less flash than it claims?)" % (dev, bad), file=sys.stderr)
            return 1
        os.close(fd)
        print("Written and checked: %d MB read back, disk %s." %
              ((image_bytes + TAIL) // 1000000, guid))
        return 0
    except Refused as e:
        print("make usb: refusing %s: %s" % (dev, e), file=sys.stderr)
        return 1
    finally:
        if workdir is not None:
            shutil.rmtree(workdir)


sys.exit(main(sys.argv[1:]))
