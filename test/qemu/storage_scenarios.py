"""QEMU scenarios of the storage stack: check mode (SPEC 6/7) over each
disk controller, and bad storage (corrupt GPT, corrupt FAT, missing disk),
which must end in a clear message and PHOBOS EXIT 2."""
import hashlib
import os
import random
import subprocess

from phobos_qemu import ROOT, boot

WORK = os.path.join(ROOT, "build", "qemu-tests")
DIR1 = "Deep_Directory_With_A_Long_Name"
DIR2 = "second.level-Long Name".replace(" ", "_")
FILES = [("one-byte-file.bin", 1), ("almost-a-page.dat", 4095), ("exactly-one-page.dat", 4096),
         ("a-megabyte-and-three.bin", (1 << 20) + 3)]
BAD_GUID = "0BADF00D-0000-4000-8000-000000000BAD"
CORRUPT_GPT_DISK_PART = "5048424F-5300-4000-8000-0000000000C1"
CORRUPT_FAT_PART = "5048424F-5300-4000-8000-0000000000C2"


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def check_image():
    """phobos.img plus the check files in nested long-named directories of
    the ESP; returns (image, {fat path: (sha256 from sha256sum, size)})."""
    os.makedirs(WORK, exist_ok=True)
    img = os.path.join(WORK, "check-base.img")
    sh("cp", "--sparse=always", os.path.join(ROOT, "build", "phobos.img"), img)
    target = img + "@@1M"
    sh("mmd", "-i", target, "::/" + DIR1, "::/%s/%s" % (DIR1, DIR2))
    rng = random.Random(20261124)
    want = {}
    for name, size in FILES:
        host = os.path.join(WORK, name)
        with open(host, "wb") as f:
            f.write(bytes(rng.getrandbits(8) for _ in range(size)))
        path = "/%s/%s/%s" % (DIR1, DIR2, name)
        sh("mcopy", "-o", "-i", target, host, "::" + path)
        digest = subprocess.run(["sha256sum", host], check=True, capture_output=True,
                                text=True).stdout.split()[0]
        want[path] = (digest, size)
    return img, want


def check_lines(log):
    got = {}
    for line in log.splitlines():
        if line.startswith("CHECK "):
            parts = line.split()
            if len(parts) == 4:
                got[parts[1]] = (parts[2], int(parts[3]) if parts[3].isdigit() else -1)
    return got


def scenario_check(bus):
    def run():
        img, want = check_image()
        b = boot("check-" + bus, "app=check exit=qemu check=" + ",".join(want), image=img,
                 disk_bus=bus, mem="256M")
        got = check_lines(b.log)
        checks = []
        for path, (digest, size) in want.items():
            checks.append(("check-%s: %s (%d bytes) matches sha256sum" % (bus, os.path.basename(path), size),
                           got.get(path) == (digest, size),
                           "got %s want %s" % (got.get(path), (digest, size))))
        checks.append(("check-%s: exit 0" % bus, b.exit_code == 0 and b.qemu_code() == 0,
                       "exit %s status %s" % (b.exit_code, b.status)))
        return b, checks
    run.__name__ = "scenario_check_" + bus
    return run


def second_disk(name, part_guid, corrupt):
    """A GPT disk with one FAT partition; corrupt = 'gpt' (both headers) or 'fat'."""
    path = os.path.join(WORK, name + ".img")
    fat = path + ".fat"
    sh("rm", "-f", path, fat)
    sh("truncate", "-s", "8M", path)
    sh("sgdisk", "-n", "1:1M:0", "-t", "1:0700", "-u", "1:" + part_guid, path)
    sh("mkfs.fat", "-F", "16", "-C", fat, str(6 * 1024))
    sh("dd", "if=" + fat, "of=" + path, "bs=1M", "seek=1", "conv=notrunc", "status=none")
    os.unlink(fat)
    with open(path, "r+b") as f:
        if corrupt == "gpt":
            for lba in (1, os.path.getsize(path) // 512 - 1):
                f.seek(lba * 512 + 16)  # the header CRC
                f.write(b"\xde\xad\xbe\xef")
        else:
            f.seek(1 << 20)
            f.write(os.urandom(512))
    return path


def expect_exit2(name, b, words):
    return [("%s: clear message (%s)" % (name, words), all(w in b.log for w in words),
             "message missing"),
            ("%s: no panic" % name, "PANIC" not in b.log, "panicked"),
            ("%s: exit code 2" % name, b.exit_code == 2 and b.qemu_code() == 2,
             "exit %s status %s" % (b.exit_code, b.status))]


def scenario_corrupt_gpt():
    disk = second_disk("corrupt-gpt", CORRUPT_GPT_DISK_PART, "gpt")
    b = boot("corrupt-gpt", "app=check check=/x exit=qemu fs=" + CORRUPT_GPT_DISK_PART,
             extra=["-drive", "if=none,format=raw,file=%s,id=d2" % disk,
                    "-device", "virtio-blk-pci,drive=d2"])
    return b, expect_exit2("corrupt-gpt", b, ["gpt", "CRC"])


def scenario_corrupt_fat():
    disk = second_disk("corrupt-fat", CORRUPT_FAT_PART, "fat")
    b = boot("corrupt-fat", "app=check check=/x exit=qemu fs=" + CORRUPT_FAT_PART,
             extra=["-drive", "if=none,format=raw,file=%s,id=d2" % disk,
                    "-device", "virtio-blk-pci,drive=d2"])
    return b, expect_exit2("corrupt-fat", b, ["fat"])


def scenario_missing_disk():
    b = boot("missing-disk", "app=check check=/x exit=qemu fs=" + BAD_GUID)
    return b, expect_exit2("missing-disk", b, [BAD_GUID.lower()[:8]])


SCENARIOS = [scenario_check("virtio"), scenario_check("ahci"), scenario_check("nvme"),
             scenario_corrupt_gpt, scenario_corrupt_fat, scenario_missing_disk]
