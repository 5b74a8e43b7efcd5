#!/usr/bin/env python3
"""scripts/usb-write.sh against a fake sysfs tree, mount table and swap
list (passed as --test-* options, never from the environment), over a
real block device: a loop device on a file in a temporary directory, so
no disk of the machine is ever opened.  Every refusal happens before a
byte is written; a device that passes is written only after the right
answer, then read back.  A regular file posing as the device is refused,
as is a bare name.  Needs root for the loop device; without it the cases
that need one are skipped.  Prints TAP."""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "usb-write.sh")
STICK = 32 << 20
results = []


def check(name, ok, why=""):
    results.append((name, "ok" if ok else "fail", why))


def skip(name, why):
    results.append((name, "skip", why))


def make_image(path):
    subprocess.run(["truncate", "-s", "8M", path], check=True)
    subprocess.run(["sgdisk", "-n", "1:1M:+4M", "-t", "1:EF00", path], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["mkfs.vfat", "--offset", "2048", path, "4096"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def numbers(path):
    st = os.stat(path)
    return "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))


def fake_sysfs(root, name, nums, removable=1, bus="usb", sectors=STICK // 512,
               partition=False, vendor="Phobos", model="TestStick", serial="0123",
               holders=(), parts=(), dev_file=None):
    """A fresh sysfs tree in root/sys with one disk: /sys/dev/block/<nums> leads to it."""
    sys_root = os.path.join(root, "sys")
    shutil.rmtree(sys_root, ignore_errors=True)
    usb = os.path.join(sys_root, "devices", "pci0000:00", "0000:00:14.0",
                       "usb2" if bus == "usb" else "ata1", "2-1")
    scsi = os.path.join(usb, "2-1:1.0", "host0", "target0:0:0", "0:0:0:0")
    entry = os.path.join(scsi, "block", name)
    os.makedirs(os.path.join(entry, "holders"))
    os.symlink(scsi, os.path.join(entry, "device"))
    files = {os.path.join(entry, "removable"): removable, os.path.join(entry, "size"): sectors,
             os.path.join(entry, "dev"): dev_file or nums, os.path.join(scsi, "vendor"): vendor,
             os.path.join(scsi, "model"): model}
    if bus == "usb":
        files[os.path.join(usb, "idVendor")] = "46f4"
        files[os.path.join(usb, "serial")] = serial
    if partition:
        files[os.path.join(entry, "partition")] = 1
    for h in holders:
        os.makedirs(os.path.join(entry, "holders", h))
    for pname, pnums in parts:
        os.makedirs(os.path.join(entry, pname, "holders"))
        files[os.path.join(entry, pname, "partition")] = 1
        files[os.path.join(entry, pname, "dev")] = pnums
    for path, v in files.items():
        with open(path, "w") as f:
            f.write("%s\n" % v)
    os.makedirs(os.path.join(sys_root, "dev", "block"))
    if nums is not None:
        os.symlink(entry, os.path.join(sys_root, "dev", "block", nums))
    return entry


def run(root, dev, image, answer="yes\n", force=False, mounts="", swaps="", cfg=None,
        env=None, hooks=True, cwd=None):
    with open(os.path.join(root, "mountinfo"), "w") as f:
        f.write(mounts)
    with open(os.path.join(root, "swaps"), "w") as f:
        f.write("Filename\tType\tSize\tUsed\tPriority\n" + swaps)
    args = [SCRIPT, dev, image] + ([cfg] if cfg else [])
    if hooks:
        args += ["--test-sysfs", os.path.join(root, "sys"), "--test-mountinfo",
                 os.path.join(root, "mountinfo"), "--test-swaps", os.path.join(root, "swaps")]
    e = dict(os.environ, **(env or {}))
    e.pop("FORCE", None)
    if force:
        e["FORCE"] = "1"
    return subprocess.run(args, input=answer, capture_output=True, text=True, env=e, cwd=cwd)


def digest(path, n=None):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read() if n is None else f.read(n)).hexdigest()


class Loop:
    """A loop device over a zeroed file: the stick."""

    def __init__(self, root):
        self.file = os.path.join(root, "stick")
        with open(self.file, "wb") as f:
            f.truncate(STICK)
        self.dev = subprocess.run(["losetup", "-f", "--show", self.file], check=True,
                                  capture_output=True, text=True).stdout.strip()

    def wipe(self):
        with open(self.dev, "r+b") as f:
            f.write(bytes(STICK))
            f.flush()
            os.fsync(f.fileno())

    def untouched(self):
        with open(self.dev, "rb") as f:
            return f.read().count(0) == STICK

    def close(self):
        subprocess.run(["losetup", "-d", self.dev], check=False)


def without_loop(root, image):
    """What needs no block device: a regular file and a bare name are refused."""
    fake = os.path.join(root, "dev", "sdq")
    os.makedirs(os.path.dirname(fake))
    with open(fake, "wb") as f:
        f.truncate(8 << 20)
    fake_sysfs(root, "sdq", "8:16")
    p = run(root, fake, image)
    with open(fake, "rb") as f:
        untouched = f.read().count(0) == 8 << 20
    check("refuses a regular file posing as the device", p.returncode == 1 and
          "not a block device" in p.stderr and untouched, p.stderr.strip())
    cwd = os.path.join(root, "cwd")
    os.makedirs(cwd)
    p = run(root, "sdb", image, cwd=cwd)
    check("refuses a bare name, writing no file of that name", p.returncode == 1 and
          "no such device" in p.stderr and not os.listdir(cwd), p.stderr.strip())


def refusals(root, image, loop):
    nums = numbers(loop.dev)
    big = os.path.join(root, "big.img")
    shutil.copy(image, big)
    os.truncate(big, STICK)
    cases = [
        ("a device sysfs does not know", dict(nums=None), {}, "sysfs knows no block device"),
        ("a sysfs entry of other numbers", dict(dev_file="8:32"), {}, "is not device"),
        ("a partition", dict(partition=True), {}, "not a whole disk"),
        ("a removable disk on SATA", dict(bus="ata"), {}, "not on the USB bus"),
        ("a 1 TB stick", dict(sectors=2000000000), {}, "more than a stick"),
        ("a mounted disk (by number, as /dev/root)", {},
         dict(mounts="22 1 %s / / rw - ext4 /dev/root rw\n" % nums), "mounted on /"),
        ("a disk with a mounted partition", dict(parts=[("sdx1", "259:77")]),
         dict(mounts="40 22 259:77 / /media/stick rw - vfat /dev/sdx1 rw\n"),
         "mounted on /media/stick"),
        ("a disk that device mapper holds", dict(holders=["dm-0"]), {}, "held by dm-0"),
        ("a disk with active swap", {}, dict(swaps="%s partition 1024 0 -2\n" % loop.dev),
         "active swap"),
        ("a disk whose size sysfs misstates", dict(sectors=12 << 11), {}, "sysfs says"),
        ("a stick smaller than the image", {}, dict(image=big), "smaller than the image"),
    ]
    for what, kw, runkw, why in cases:
        fake_sysfs(root, "sdx", kw.pop("nums", nums), **kw)
        p = run(root, loop.dev, runkw.pop("image", image), **runkw)
        check("refuses %s" % what, p.returncode == 1 and why in p.stderr and loop.untouched(),
              p.stderr.strip())
    fake_sysfs(root, "sdx", nums, sectors=2000000000)
    p = run(root, loop.dev, image, force=True)
    check("FORCE=1 lifts the size limit, not the other checks", p.returncode == 1 and
          "more than a stick" not in p.stderr and "sysfs says" in p.stderr and
          loop.untouched(), p.stderr.strip())
    fake_sysfs(root, "sdx", nums)
    fd = os.open(loop.dev, os.O_RDONLY | os.O_EXCL)
    p = run(root, loop.dev, image)
    os.close(fd)
    check("refuses a disk another opened exclusively", p.returncode == 1 and
          "in use" in p.stderr and loop.untouched(), p.stderr.strip())
    fd = os.open(loop.dev, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    p = run(root, loop.dev, image)
    os.close(fd)
    check("refuses a disk another program has locked", p.returncode == 1 and
          "holds a lock" in p.stderr and loop.untouched(), p.stderr.strip())
    p = run(root, loop.dev, image, hooks=False,
            env=dict(SYSFS=os.path.join(root, "sys"), MOUNTS=os.path.join(root, "mountinfo")))
    check("stray SYSFS and MOUNTS variables redirect nothing", p.returncode == 1 and
          "not on the USB bus" in p.stderr and loop.untouched(), p.stderr.strip())


def writes(root, image, cfg, loop):
    nums = numbers(loop.dev)
    fake_sysfs(root, "sdx", nums)
    p = run(root, loop.dev, image, answer="no\n")
    check("writes nothing without yes", p.returncode == 1 and loop.untouched(), p.stderr)
    check("shows vendor, model, size and serial",
          "Phobos TestStick, 33 MB, serial 0123" in p.stdout, p.stdout)

    byid = os.path.join(root, "dev", "disk", "by-id", "usb-Phobos_TestStick_0123-0:0")
    os.makedirs(os.path.dirname(byid), exist_ok=True)
    os.symlink(loop.dev, byid)
    before = digest(image)
    p = run(root, byid, image)
    with open(loop.dev, "rb") as f:
        disk = f.read()
    with open(image, "rb") as f:
        img = f.read()
    verify = subprocess.run(["sgdisk", "-v", loop.dev], capture_output=True, text=True).stdout
    check("writes a stick named by /dev/disk/by-id after yes, image and backup GPT",
          p.returncode == 0 and "Written and checked" in p.stdout and
          disk[1 << 20:len(img)] == img[1 << 20:] and disk[-512:-504] == b"EFI PART" and
          "No problems found" in verify, p.stdout + p.stderr + verify)
    check("leaves the image it was given as it was", digest(image) == before)

    loop.wipe()
    p = run(root, loop.dev, image, cfg=cfg)
    got = subprocess.run(["mtype", "-i", loop.dev + "@@1M", "::/phobos.cfg"],
                         capture_output=True, text=True).stdout
    guids = [subprocess.run(["sgdisk", "-p", x], capture_output=True, text=True).stdout
             .split("Disk identifier (GUID): ")[1].split()[0] for x in (image, loop.dev)]
    check("with a configuration: a private copy gets it and fresh GUIDs",
          p.returncode == 0 and got == open(cfg).read() and guids[0] != guids[1] and
          digest(image) == before, p.stderr + got)

    loop.wipe()
    fake_sysfs(root, "sdx", nums, removable=0, model="FastSSD")
    p = run(root, loop.dev, image)
    check("a fixed USB disk is not written on a mere yes", p.returncode == 1 and
          loop.untouched() and "FastSSD 33 MB" in p.stdout, p.stdout + p.stderr)
    p = run(root, loop.dev, image, answer="FastSSD 33 MB\n")
    check("a fixed USB disk is written when its model and size are typed",
          p.returncode == 0 and "Written and checked" in p.stdout, p.stdout + p.stderr)

    loop.wipe()
    fake_sysfs(root, "sdx", nums)
    args = [SCRIPT, loop.dev, image, "--test-sysfs", os.path.join(root, "sys"),
            "--test-mountinfo", os.path.join(root, "mountinfo"), "--test-swaps",
            os.path.join(root, "swaps")]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    shown = proc.stdout.readline()
    serial = os.path.join(root, "sys", "devices", "pci0000:00", "0000:00:14.0", "usb2", "2-1",
                          "serial")
    with open(serial, "w") as f:
        f.write("9999\n")  # another stick under the same numbers
    out, err = proc.communicate("yes\n")
    check("refuses when the stick changed while the question waited",
          proc.returncode == 1 and "changed while waiting" in err and loop.untouched(),
          shown + out + err)


def main():
    root = tempfile.mkdtemp(prefix="usb-write-test-")
    loop = None
    try:
        image = os.path.join(root, "phobos.img")
        make_image(image)
        cfg = os.path.join(root, "usb.cfg")
        with open(cfg, "w") as f:
            f.write("exit=halt\n")
        without_loop(root, image)
        try:
            loop = Loop(root) if os.geteuid() == 0 else None
        except (OSError, subprocess.CalledProcessError):
            loop = None
        if loop is None:
            skip("refusals and writes on a loop device", "needs root and a loop device")
        else:
            refusals(root, image, loop)
            writes(root, image, cfg, loop)
    finally:
        if loop is not None:
            loop.close()
        shutil.rmtree(root)
    print("1..%d" % len(results))
    for i, (name, state, why) in enumerate(results, 1):
        if state == "skip":
            print("ok %d - %s # SKIP %s" % (i, name, why))
        else:
            print("%sok %d - %s%s" % ("" if state == "ok" else "not ", i, name,
                                      "" if state == "ok" else " # " + why))
    sys.exit(0 if all(state != "fail" for _, state, _ in results) else 1)


main()
