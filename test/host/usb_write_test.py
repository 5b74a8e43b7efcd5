#!/usr/bin/env python3
"""scripts/usb-write.sh against a fake sysfs tree and mount table: every
refusal happens before a byte is written, and a device that passes is
written only after "yes", then checked.  The "devices" are plain files in
a temporary directory: no real device is ever opened.  Prints TAP."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "usb-write.sh")
results = []


def make_image(path):
    subprocess.run(["truncate", "-s", "8M", path], check=True)
    subprocess.run(["sgdisk", "-n", "1:1M:+4M", "-t", "1:EF00", path], check=True,
                   stdout=subprocess.DEVNULL)


def fake_disk(root, name, removable=1, bus="usb", sectors=16384, partition=False,
              vendor="Phobos", model="TestStick"):
    """A /sys/class/block/<name> entry, and a device file in root/dev."""
    blk = os.path.join(root, "sys", "class", "block", name)
    dev = os.path.join(root, "sys", "devices", "pci0000:00", "0000:00:14.0",
                       "usb2" if bus == "usb" else "ata1", "2-1", "host0", "target0", name)
    os.makedirs(blk)
    os.makedirs(dev)
    os.symlink(dev, os.path.join(blk, "device"))
    for f, v in (("removable", removable), ("size", sectors), ("vendor", vendor),
                 ("model", model)):
        with open(os.path.join(blk if f in ("removable", "size") else dev, f), "w") as out:
            out.write("%s\n" % v)
    if partition:
        open(os.path.join(blk, "partition"), "w").write("1\n")
    path = os.path.join(root, "dev", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(8 << 20)
    return path


def run(root, dev, image, answer="yes\n", force=None, mounts=""):
    with open(os.path.join(root, "mounts"), "w") as f:
        f.write(mounts)
    env = dict(os.environ, SYSFS=os.path.join(root, "sys"), MOUNTS=os.path.join(root, "mounts"))
    if force:
        env["FORCE"] = "1"
    return subprocess.run([SCRIPT, dev, image], input=answer, capture_output=True, text=True,
                          env=env)


def untouched(dev):
    with open(dev, "rb") as f:
        return f.read().count(0) == 8 << 20


def check(name, ok, why=""):
    results.append((name, ok, why))


def main():
    root = tempfile.mkdtemp(prefix="usb-write-test-")
    try:
        image = os.path.join(root, "phobos.img")
        make_image(image)
        cases = [
            ("a partition", dict(name="sdb1", partition=True), "", "not a whole disk"),
            ("a fixed disk", dict(name="sdc", removable=0), "", "not removable"),
            ("a removable disk on SATA", dict(name="sdd", bus="ata"), "", "not on the USB bus"),
            ("a stick with a mounted partition", dict(name="sde"),
             "/dev/sde1 /media/stick vfat rw 0 0\n", "mounted partition"),
            ("a 1 TB stick", dict(name="sdf", sectors=2000000000), "", "more than a stick"),
        ]
        for what, kw, mounts, why in cases:
            dev = fake_disk(root, **kw)
            p = run(root, dev, image, mounts=mounts)
            check("refuses %s" % what, p.returncode == 1 and why in p.stderr and untouched(dev),
                  p.stderr.strip())
        p = run(root, os.path.join(root, "dev", "sdz"), image)
        check("refuses a device sysfs does not know", p.returncode == 1 and
              "no such block device" in p.stderr, p.stderr.strip())
        dev = fake_disk(root, "sdg")
        p = run(root, dev, image, answer="no\n")
        check("writes nothing without yes", p.returncode == 1 and untouched(dev), p.stderr)
        check("shows vendor, model and size", "Phobos TestStick, 8 MB" in p.stdout, p.stdout)
        p = run(root, dev, image)
        with open(dev, "rb") as f, open(image, "rb") as g:
            same = f.read(1 << 20) == g.read(1 << 20)
        check("writes a stick after yes and checks its GPT", p.returncode == 0 and same and
              "Written and checked" in p.stdout, p.stdout + p.stderr)
        dev = fake_disk(root, "sdh", sectors=2000000000)
        p = run(root, dev, image, force=True)
        check("FORCE=1 lifts the size limit only", p.returncode == 0, p.stderr)
    finally:
        shutil.rmtree(root)
    print("1..%d" % len(results))
    for i, (name, ok, why) in enumerate(results, 1):
        print("%sok %d - %s%s" % ("" if ok else "not ", i, name, "" if ok else " # " + why))
    sys.exit(0 if all(ok for _, ok, _ in results) else 1)


main()
