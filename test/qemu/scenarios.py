"""QEMU scenarios of `make test`.  Each boots once and checks many things;
each check is one TAP-style result of the test run."""
import glob
import importlib
import os
import re

from phobos_qemu import boot


def expect_selftests_pass(b, checks):
    checks.append(("%s: booted to PHOBOS EXIT" % b.name, b.exit_code is not None,
                   "timed out" if b.timed_out else "no exit line"))
    checks.append(("%s: TAP plan matches results" % b.name,
                   b.plan is not None and b.plan == len(b.tap) and b.plan > 0,
                   "plan %s, %d results" % (b.plan, len(b.tap))))
    for ok, n, name in b.tap:
        checks.append(("%s: self-test %s" % (b.name, name), ok, "not ok"))
    checks.append(("%s: exit code 0 through isa-debug-exit" % b.name,
                   b.exit_code == 0 and b.qemu_code() == 0,
                   "exit %s, qemu status %s" % (b.exit_code, b.status)))


def scenario_selftest_q35():
    b = boot("selftest-q35", "app=selftest exit=qemu", machine="q35")
    checks = []
    expect_selftests_pass(b, checks)
    checks.append(("selftest-q35: banner and memory summary",
                   "Phobos x86-64 unikernel" in b.log and "MiB usable" in b.log
                   and "Conventional" in b.log, "missing banner or memory summary"))
    checks.append(("selftest-q35: log lines carry timestamps",
                   any(l.startswith("[") and "." in l[:14] for l in b.log.splitlines()),
                   "no timestamped lines"))
    return b, checks


def scenario_selftest_pc():
    b = boot("selftest-pc", "app=selftest exit=qemu", machine="pc")
    checks = []
    expect_selftests_pass(b, checks)
    return b, checks


def scenario_unknown_key():
    b = boot("unknown-key", "app=selftest selftest=printf_formats exit=qemu frobnicate=7")
    checks = [("unknown-key: warned about the unknown key",
               "unknown key 'frobnicate' ignored" in b.log, "no warning"),
              ("unknown-key: still ran and exited 0", b.exit_code == 0 and b.qemu_code() == 0,
               "exit %s status %s" % (b.exit_code, b.status))]
    return b, checks


def scenario_bad_config():
    b = boot("bad-config", "app=nonsense exit=qemu")
    checks = [("bad-config: names the bad value", "app=nonsense" in b.log, "no message"),
              ("bad-config: exit code 2", b.exit_code == 2 and b.qemu_code() == 2,
               "exit %s status %s" % (b.exit_code, b.status))]
    return b, checks


def scenario_fault():
    b = boot("fault", "app=selftest selftest=fault exit=qemu")
    bt = b.log[b.log.find("backtrace:"):] if "backtrace:" in b.log else ""
    checks = [("fault: PANIC line names the address and access",
               "\nPANIC: #PF page fault: 18 write from kernel mode: no map covers it" in "\n" + b.log,
               "no PANIC"),
              ("fault: CR2 and decoded error", "cr2 0000000000000018: page not present, write, kernel mode" in b.log,
               "no decoded page fault"),
              ("fault: registers printed", "rax " in b.log and "r15 " in b.log, "no registers"),
              ("fault: backtrace names the faulting function", "base_test_fault_target+" in bt,
               "function not in backtrace"),
              ("fault: backtrace reaches the caller", "ktest_fn_fault+" in bt, "caller missing"),
              ("fault: exit code 3", b.exit_code == 3 and b.qemu_code() == 3,
               "exit %s status %s" % (b.exit_code, b.status))]
    return b, checks


def scenario_vm_fault_panic():
    b = boot("vm-fault-panic", "app=selftest selftest=vm_fault_unresolved exit=qemu")
    m = re.search(r"^PANIC: #PF page fault: (ffff[0-9a-f]+) write from kernel mode: -EACCES; "
                  r"entry ([0-9a-f]+)-([0-9a-f]+) object prot r--", b.log, re.M)
    checks = [("vm-fault-panic: PANIC names address, access and entry", m is not None,
               "no such PANIC line"),
              ("vm-fault-panic: the address lies in the entry",
               m is not None and int(m.group(2), 16) <= int(m.group(1), 16) < int(m.group(3), 16),
               "address outside the entry"),
              ("vm-fault-panic: backtrace names the test", "ktest_fn_vm_fault_unresolved+" in b.log,
               "no backtrace"),
              ("vm-fault-panic: exit code 3", b.exit_code == 3 and b.qemu_code() == 3,
               "exit %s status %s" % (b.exit_code, b.status))]
    return b, checks


BAD_GUID = "0BADF00D-0000-4000-8000-000000000BAD"
OTHER_PART = "5048424F-5300-4000-8000-0000000000C1"


def image_guid(which, image=None):
    """The image's GUIDs, drawn at random by every build (mk/image.mk):
    which is "disk", "esp" (partition 1) or "swap" (partition 2)."""
    import os
    import subprocess
    from phobos_qemu import ROOT
    image = image or os.path.join(ROOT, "build", "phobos.img")
    args = ["-p"] if which == "disk" else ["-i", "1" if which == "esp" else "2"]
    out = subprocess.run(["sgdisk"] + args + [image], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"(?:Disk identifier \(GUID\)|Partition unique GUID): (\S+)", out)
    return m.group(1)


def exit2_checks(name, b, words):
    return [("%s: says %s" % (name, " / ".join(words)), all(w in b.log for w in words),
             "message missing"),
            ("%s: no panic" % name, "PANIC" not in b.log, "panicked"),
            ("%s: exit code 2" % name, b.exit_code == 2 and b.qemu_code() == 2,
             "exit %s status %s" % (b.exit_code, b.status))]


def scenario_missing_partition():
    b = boot("missing-partition", "app=selftest selftest=printf_formats exit=qemu fs=" + BAD_GUID)
    return b, exit2_checks("missing-partition", b, ["fs=" + BAD_GUID, "no partition with that GUID"])


def scenario_swap_not_swap():
    esp = image_guid("esp")
    b = boot("swap-not-swap", "app=selftest selftest=printf_formats exit=qemu swap=" + esp)
    return b, exit2_checks("swap-not-swap", b, ["swap=" + esp, "not a Linux swap partition"])


def scenario_corrupt_gpt():
    """A second disk whose primary and backup GPT headers are both damaged;
    fs= names its partition, so the boot must stop with code 2."""
    import os
    import subprocess
    from phobos_qemu import ROOT
    disk = os.path.join(ROOT, "build", "qemu-tests", "corrupt-gpt-disk.img")
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    subprocess.run(["rm", "-f", disk], check=True)
    subprocess.run(["truncate", "-s", "8M", disk], check=True)
    subprocess.run(["sgdisk", "-n", "1:1M:0", "-t", "1:0700", "-u", "1:" + OTHER_PART, disk],
                   check=True, stdout=subprocess.DEVNULL)
    with open(disk, "r+b") as f:
        for lba in (1, (8 << 20) // 512 - 1):
            f.seek(lba * 512 + 16)  # the header CRC field
            f.write(b"\xde\xad\xbe\xef")
    b = boot("corrupt-gpt", "app=selftest selftest=printf_formats exit=qemu fs=" + OTHER_PART,
             extra=["-drive", "if=none,format=raw,file=%s,id=d2" % disk,
                    "-device", "virtio-blk-pci,drive=d2"])
    checks = exit2_checks("corrupt-gpt", b, ["primary table bad (header CRC mismatch)",
                                             "backup table bad too", "fs=" + OTHER_PART])
    checks.append(("corrupt-gpt: the boot disk is still found",
                   "storage: boot disk virtio" in b.log, "boot disk lost"))
    return b, checks


def scenario_swap_named():
    b = boot("swap-named", "app=selftest selftest=storage_boot_disk exit=qemu swap=" +
             image_guid("swap"))
    checks = [("swap-named: swap= finds the swap partition", "swap virtio0p2" in b.log, "no swap"),
              ("swap-named: exit 0", b.exit_code == 0 and b.qemu_code() == 0,
               "exit %s status %s" % (b.exit_code, b.status))]
    return b, checks


def vm_page_line(log, zone):
    m = re.search(r"zone %s\s+(\d+) pages" % re.escape(zone), log)
    return int(m.group(1)) if m else None


def scenario_mem_cap():
    b = boot("mem-cap", "app=selftest exit=qemu mem=64M", mem="512M")
    checks = []
    expect_selftests_pass(b, checks)
    m = re.search(r"(\d+) pages managed", b.log)
    managed = int(m.group(1)) if m else None
    checks.append(("mem-cap: mem=64M caps the managed pages",
                   managed is not None and 15000 < managed <= 16384, "managed %s" % managed))
    checks.append(("mem-cap: struct vm_page is 40 bytes",
                   "sizeof(struct vm_page) = 40 bytes" in b.log, "size line missing"))
    return b, checks


def scenario_5g():
    """6 GiB: OVMF's map then holds RAM above 4 GiB in several pieces."""
    b = boot("mem-5g", "app=selftest exit=qemu", mem="6G", timeout=300)
    checks = []
    expect_selftests_pass(b, checks)
    high = vm_page_line(b.log, "above 4 GiB")
    checks.append(("mem-5g: RAM above 4 GiB is managed", high is not None and high > 700000,
                   "above-4G pages %s" % high))
    return b, checks


def esp_extract(img, out):
    """Copies the first partition (the ESP) of a GPT image to out."""
    import struct
    with open(img, "rb") as f:
        f.seek(2 * 512 + 32)
        first, last = struct.unpack("<QQ", f.read(16))
        f.seek(first * 512)
        data = f.read((last - first + 1) * 512)
    with open(out, "wb") as f:
        f.write(data)


FAT_WRITE_FILE = "/Phobos Write Test/Extended and truncated file.bin"  # core/fat_write_test.c


def fat_write_expected():
    data = bytearray(160000)
    for i in range(10000):
        data[i] = (i * 131 + (i >> 8)) & 0xff
    data[159997:] = b"END"
    return bytes(data)


def fat_write_checks(name, img):
    """After the kernel's fat_write self-test: fsck.fat -n finds the ESP
    clean and mtools reads exactly the bytes the test meant to leave."""
    import os
    import subprocess
    esp = img + ".esp"
    esp_extract(img, esp)
    fsck = subprocess.run(["fsck.fat", "-n", esp], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    out = img + ".out"
    got = subprocess.run(["mcopy", "-n", "-o", "-i", esp, "::" + FAT_WRITE_FILE, out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    data = open(out, "rb").read() if got == 0 else None
    for p in (esp, out):
        if os.path.exists(p):
            os.unlink(p)
    return [("%s: fsck.fat -n finds the ESP clean after the kernel's writes" % name,
             fsck.returncode == 0, fsck.stdout[-600:]),
            ("%s: mtools reads back the file the kernel wrote" % name,
             data == fat_write_expected(),
             "missing" if data is None else "%d bytes, differs" % len(data))]


BLKT_MAGIC = b"PHOBOS BLKTEST 1"
BLKT_READ_KEY = 0x5048424f53524421   # core/dev/blk_test.c
BLKT_WRITE_KEY = 0x50484f424f535721
BLKT_SECTORS = 16384                 # 8 MiB


def blkt_words(first_byte, nbytes, key):
    """The pattern blk_test.c expects: word at byte o is o ^ key."""
    import struct
    return struct.pack("<%dQ" % (nbytes // 8),
                       *[(first_byte + i) ^ key for i in range(0, nbytes, 8)])


def blkt_label(sectors):
    """Sector 0 of a test disk (core/dev/blk_testdisk.h): the magic, the
    disk's sector count and the CRC32 of both."""
    import struct
    import zlib
    head = BLKT_MAGIC + struct.pack("<Q", sectors)
    return head + struct.pack("<I", zlib.crc32(head)) + bytes(512 - len(head) - 4)


def blkt_disk(path):
    with open(path, "wb") as f:
        f.write(blkt_label(BLKT_SECTORS))
        f.write(blkt_words(512, (BLKT_SECTORS - 1) * 512, BLKT_READ_KEY))


# The second disk on the same kind of controller as the boot disk.
BLKT_DEVICE = {
    "virtio": "virtio-blk-pci,drive=t",
    "ahci": "ide-hd,drive=t,bus=ide.1",
    # mdts=1: 8 KiB per command, so one 520-sector request is 33 commands,
    # more than the driver keeps in flight, and unaligned ones need PRP lists
    "nvme": "nvme,drive=t,serial=phobostest,mdts=1",
}


def blk_rw_scenario(bus):
    """Boots from a disk on `bus` with a test disk beside it: the kernel
    checks what the host wrote and rewrites the second half, which the host
    then checks byte for byte."""
    def scenario():
        import os
        from phobos_qemu import ROOT
        name = "blk-rw-" + bus
        disk = os.path.join(ROOT, "build", "qemu-tests", name + "-disk.img")
        os.makedirs(os.path.dirname(disk), exist_ok=True)
        blkt_disk(disk)
        esp_checks = []
        b = boot(name, "app=selftest selftest=blk_rw,storage_boot_disk,fat_write exit=qemu",
                 disk_bus=bus, extra=["-drive", "if=none,format=raw,file=%s,id=t" % disk,
                                      "-device", BLKT_DEVICE[bus]],
                 inspect=lambda img: esp_checks.extend(fat_write_checks(name, img)))
        checks = []
        expect_selftests_pass(b, checks)
        checks.extend(esp_checks)
        with open(disk, "rb") as f:
            data = f.read()
        half = BLKT_SECTORS // 2 * 512
        checks.append(("%s: the host reads back every byte the kernel wrote" % name,
                       data[half:] == blkt_words(half, len(data) - half, BLKT_WRITE_KEY),
                       "second half differs"))
        checks.append(("%s: the first half is untouched" % name,
                       data[:half] == blkt_label(BLKT_SECTORS) +
                       blkt_words(512, half - 512, BLKT_READ_KEY), "first half changed"))
        os.unlink(disk)
        return b, checks
    scenario.__name__ = "scenario_blk_rw_" + bus
    return scenario


def blk_bench_disk(path, size):
    """A test disk for blk_read: the label in sector 0, zeros (sparse) after."""
    with open(path, "wb") as f:
        f.write(blkt_label(size // 512))
        f.truncate(size)


BLK_BENCH_METRICS = ("seq_4k_read_qd1", "seq_4k_read_qd32", "rand_4k_read_qd1", "rand_4k_read_qd32")


def scenario_blk_bench_virtio():
    """blk_read on a small virtio test disk: every figure is there and
    positive, and the disk is left as it was."""
    import os
    from phobos_qemu import ROOT
    disk = os.path.join(ROOT, "build", "qemu-tests", "blk-bench-virtio-disk.img")
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    blk_bench_disk(disk, 4 << 20)
    b = boot("blk-bench-virtio", "app=bench bench=blk_read exit=qemu",
             extra=["-drive", "if=none,format=raw,file=%s,id=t" % disk,
                    "-device", BLKT_DEVICE["virtio"]])
    figures = {m: float(v) for m, v in re.findall(
        r'^RESULT \{"bench":"blk_virtio","metric":"(\w+)","value":([0-9.]+)', b.log, re.M)}
    with open(disk, "rb") as f:
        untouched = f.read() == blkt_label(8192) + bytes((4 << 20) - 512)
    os.unlink(disk)
    checks = [("blk-bench-virtio: measures the test disk", "bench: blk_read: virtio1," in b.log,
               "virtio1 not measured"),
              ("blk-bench-virtio: smoke check: every figure present and positive (speed is make bench's)",
               sorted(figures) == sorted(BLK_BENCH_METRICS) and all(v > 0 for v in figures.values()),
               "figures %s" % figures),
              ("blk-bench-virtio: the test disk is untouched", untouched, "disk changed"),
              ("blk-bench-virtio: exit 0", b.exit_code == 0 and b.qemu_code() == 0,
               "exit %s status %s" % (b.exit_code, b.status))]
    return b, checks


BLKT_BAD_LBA = 6075                  # core/dev/blk_test.c


def blk_ioerr_scenario(bus):
    """A test disk on `bus` whose sector BLKT_BAD_LBA fails every read and
    write (QEMU's blkdebug): the kernel must fail only the requests over it,
    say so, and go on using the disk."""
    def scenario():
        import os
        from phobos_qemu import ROOT
        name = "blk-ioerr-" + bus
        work = os.path.join(ROOT, "build", "qemu-tests")
        disk = os.path.join(work, name + "-disk.img")
        cfg = os.path.join(work, name + ".blkdebug")
        os.makedirs(work, exist_ok=True)
        blkt_disk(disk)
        with open(cfg, "w") as f:
            for event in ("read_aio", "write_aio"):
                f.write('[inject-error]\nevent = "%s"\nerrno = "5"\nsector = "%d"\n'
                        'once = "off"\n' % (event, BLKT_BAD_LBA))
        b = boot(name, "app=selftest selftest=blk_ioerr exit=qemu", disk_bus=bus,
                 extra=["-drive", "if=none,format=raw,file=blkdebug:%s:%s,id=t" % (cfg, disk),
                        "-device", BLKT_DEVICE[bus]])
        checks = []
        expect_selftests_pass(b, checks)
        failed = [l for l in b.log.splitlines() if "failed" in l]
        checks.append(("%s: the log names the failed read and write" % name,
                       any(str(BLKT_BAD_LBA - 3) in l for l in failed) and
                       any(str(BLKT_BAD_LBA) in l for l in failed), "no such lines"))
        with open(disk, "rb") as f:
            data = f.read()
        checks.append(("%s: the disk is unchanged" % name,
                       data == blkt_label(BLKT_SECTORS) +
                       blkt_words(512, len(data) - 512, BLKT_READ_KEY), "disk changed"))
        os.unlink(disk)
        os.unlink(cfg)
        return b, checks
    scenario.__name__ = "scenario_blk_ioerr_" + bus
    return scenario


CHECK_DIR = "/Deeply.Nested-Directory/Another_Long_Directory_Name.d"
CHECK_FILES = [(CHECK_DIR + "/one_byte_file.bin", 1),
               (CHECK_DIR + "/a_file_of_4095_bytes.dat", 4095),
               (CHECK_DIR + "/A_File_Of_4096_Bytes.dat", 4096),
               ("/Deeply.Nested-Directory/one_mebibyte_and_three.bin", (1 << 20) + 3)]


def check_scenario(bus):
    """app=check over `bus`: the host puts files in nested long-name
    directories on the ESP and the kernel must print their SHA-256 and
    size exactly as the host computes them.  On virtio one path does not
    exist: that is reported and the exit code is 1."""
    def scenario():
        import hashlib
        import os
        import random
        import subprocess
        from phobos_qemu import ESP_OFFSET
        name = "check-" + bus
        rng = random.Random(bus)
        contents = {p: bytes(rng.getrandbits(8) for _ in range(n)) for p, n in CHECK_FILES}

        def prepare(img):
            spec = "%s@@%d" % (img, ESP_OFFSET)
            subprocess.run(["mmd", "-i", spec, "::/Deeply.Nested-Directory", "::" + CHECK_DIR],
                           check=True)
            for path, data in contents.items():
                host = img + ".file"
                with open(host, "wb") as f:
                    f.write(data)
                subprocess.run(["mcopy", "-i", spec, host, "::" + path], check=True)
                os.unlink(host)
        long_path = "/" + "x" * 599
        paths = [p for p, _ in CHECK_FILES] + (["/no/such/file.bin", long_path]
                                                if bus == "virtio" else [])
        b = boot(name, "app=check exit=qemu check=" + ",".join(paths), disk_bus=bus,
                 prepare=prepare)
        lines = dict((m.group(1), (m.group(2), int(m.group(3)))) for m in
                     re.finditer(r"^CHECK (\S+) ([0-9a-f]{64}) (\d+)$", b.log, re.M))
        checks = []
        for path, data in contents.items():
            want = (hashlib.sha256(data).hexdigest(), len(data))
            checks.append(("%s: CHECK of %d bytes matches sha256sum" % (name, len(data)),
                           lines.get(path) == want, "got %s" % (lines.get(path),)))
        if bus == "virtio":
            checks.append(("%s: a missing file is reported" % name,
                           "check: /no/such/file.bin: -ENOENT" in b.log, "no message"))
            checks.append(("%s: a 600-byte path is a failed check, counted" % name,
                           "a path of 600 bytes (at most 511): not checked" in b.log and
                           "check: 2 of 6 paths failed" in b.log, "no message or count"))
        code = 1 if bus == "virtio" else 0
        checks.append(("%s: exit code %d" % (name, code),
                       b.exit_code == code and b.qemu_code() == code,
                       "exit %s status %s" % (b.exit_code, b.status)))
        return b, checks
    scenario.__name__ = "scenario_check_" + bus
    return scenario


def scenario_corrupt_fat():
    """fs= names a partition whose FAT boot sector is damaged: code 2."""
    import os
    import subprocess
    from phobos_qemu import ROOT
    work = os.path.join(ROOT, "build", "qemu-tests")
    disk = os.path.join(work, "corrupt-fat-disk.img")
    fat = os.path.join(work, "corrupt-fat-vol.img")
    os.makedirs(work, exist_ok=True)
    for p in (disk, fat):
        subprocess.run(["rm", "-f", p], check=True)
    subprocess.run(["truncate", "-s", "8M", disk], check=True)
    subprocess.run(["sgdisk", "-n", "1:1M:0", "-t", "1:0700", "-u", "1:" + OTHER_PART, disk],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["mkfs.fat", "-C", fat, "4096"], check=True, stdout=subprocess.DEVNULL)
    with open(fat, "r+b") as f:
        f.seek(11)
        f.write(b"\x00\x03")  # 768 bytes per sector
    subprocess.run(["dd", "if=" + fat, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc"],
                   check=True, stderr=subprocess.DEVNULL)
    b = boot("corrupt-fat", "app=check check=/x exit=qemu fs=" + OTHER_PART,
             extra=["-drive", "if=none,format=raw,file=%s,id=d2" % disk,
                    "-device", "virtio-blk-pci,drive=d2"])
    for p in (disk, fat):
        os.unlink(p)
    return b, exit2_checks("corrupt-fat", b, ["damaged volume: bytes per sector",
                                              "no usable FAT volume"])


def scenario_missing_disk():
    """Booted from legacy IDE, which Phobos does not drive: no disk, no
    files, so app=check stops with code 2."""
    b = boot("missing-disk", "app=check check=/x exit=qemu", machine="pc", disk_bus="ide")
    return b, exit2_checks("missing-disk", b, ["no disks found", "boot disk", "not found",
                                               "no FAT volume to read files from"])


def image_copy(name, sgdisk_args=(), mdel=()):
    """A copy of the boot image as a second disk, changed by sgdisk and with
    files deleted from its ESP; returns its path."""
    import os
    import subprocess
    from phobos_qemu import ROOT, ESP_OFFSET
    path = os.path.join(ROOT, "build", "qemu-tests", name + "-copy.img")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["cp", "--sparse=always", os.path.join(ROOT, "build", "phobos.img"), path],
                   check=True)
    if sgdisk_args:
        subprocess.run(["sgdisk"] + list(sgdisk_args) + [path], check=True,
                       stdout=subprocess.DEVNULL)
    for f in mdel:
        subprocess.run(["mdel", "-i", "%s@@%d" % (path, ESP_OFFSET), f], check=True)
    return path


def file_digest(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def scenario_duplicate_guids():
    """Two disks made from one image carry the same GUIDs: which one is
    ours cannot be told, so the kernel refuses, naming both, and writes
    nothing."""
    import os
    copy = image_copy("dup-guids")
    before = file_digest(copy)
    b = boot("dup-guids", "app=selftest selftest=printf_formats exit=qemu",
             extra=["-drive", "if=none,format=raw,file=%s,id=d2" % copy,
                    "-device", "virtio-blk-pci,drive=d2"])
    checks = exit2_checks("dup-guids", b, ["is on 2 disks (virtio0, virtio1)",
                                           "refusing to guess"])
    checks.append(("dup-guids: the second disk is untouched", file_digest(copy) == before,
                   "changed"))
    os.unlink(copy)
    return b, checks


def scenario_boot_partition_elsewhere():
    """Booted from legacy IDE, which Phobos cannot drive, beside a disk that
    once received the same image (another disk GUID, its loader removed so
    the firmware boots from IDE): that disk's ESP and swap carry the
    loader's partition GUIDs but are not adopted, and nothing is written."""
    import os
    copy = image_copy("elsewhere", ["-U", "R"], ["::/EFI/BOOT/BOOTX64.EFI"])
    before = file_digest(copy)
    b = boot("elsewhere", "app=check check=/x exit=qemu", machine="pc", disk_bus="ide",
             extra=["-drive", "if=none,format=raw,file=%s,id=d2" % copy,
                    "-device", "virtio-blk-pci,drive=d2"])
    checks = exit2_checks("elsewhere", b, ["boot partition found on virtio0p1, which is not "
                                           "the boot disk: not used", "swap none"])
    checks.append(("elsewhere: the other disk is untouched", file_digest(copy) == before,
                   "changed"))
    os.unlink(copy)
    return b, checks


def scenario_config_too_long():
    """A \\phobos.cfg of 3000 bytes does not fit the loader's 2 KiB: the
    kernel refuses to run on its first part."""
    words = "app=selftest selftest=printf_formats exit=qemu"
    b = boot("config-too-long", words + " log=info" * ((3000 - len(words)) // 9))
    return b, exit2_checks("config-too-long", b, ["longer than the 2047 bytes allowed"])


def scenario_swap_off():
    b = boot("swap-off", "app=selftest selftest=printf_formats exit=qemu swap=off")
    return b, [("swap-off: says swap is off", "swap off (swap=off)" in b.log, "no message"),
               ("swap-off: no swap partition in use", "; swap none" in b.log, "swap adopted"),
               ("swap-off: exit 0", b.exit_code == 0 and b.qemu_code() == 0,
                "exit %s status %s" % (b.exit_code, b.status))]


def vm_counters(log):
    """The exit line's VM counters (vm_pageout_report) as a dict."""
    m = re.search(r"vm: faults (\d+) major (\d+) minor .*pages in (\d+) out (\d+)", log)
    if m is None:
        return {}
    return dict(zip(("major", "minor", "pagein", "pageout"), map(int, m.groups())))


SWAP_WS_DISK = {"virtio": "virtio", "ahci": "ahci", "nvme": "nvme"}


def swap_ws_scenario(bus):
    """mem=64M and a 256 MiB anonymous working set, written and checked at
    random, through the swap partition of a boot disk on `bus`."""
    def scenario():
        name = "swap-ws-" + bus
        b = boot(name, "app=selftest selftest=swap_ws mem=64M exit=qemu", mem="512M",
                 disk_bus=bus, timeout=600)
        checks = []
        expect_selftests_pass(b, checks)
        m = re.search(r"# swap_ws: (\d+) pages, (\d+) bad", b.log)
        checks.append(("%s: 256 MiB written and read back, 0 mismatches" % name,
                       m is not None and int(m.group(1)) >= 60000 and m.group(2) == "0",
                       m.group(0) if m else "no summary"))
        c = vm_counters(b.log)
        checks.append(("%s: the counters show page-outs and page-ins" % name,
                       c.get("pageout", 0) > 60000 and c.get("pagein", 0) > 30000 and
                       c.get("major", 0) > 0, str(c)))
        return b, checks
    scenario.__name__ = "scenario_swap_ws_" + bus
    return scenario


def swap_offset(img):
    """Byte offset of the swap partition (partition 2) in the image."""
    import subprocess
    out = subprocess.run(["sgdisk", "-i", "2", img], check=True, capture_output=True,
                         text=True).stdout
    return int(re.search(r"First sector: (\d+)", out).group(1)) * 512


def scenario_swap_wiped():
    """The swap signature wiped: one warning, no swap, and the working set
    that needed it ends in a clean -ENOMEM and exit code 1."""
    def wipe(img):
        with open(img, "r+b") as f:
            f.seek(swap_offset(img) + 4086)
            f.write(bytes(10))
    b = boot("swap-wiped", "app=selftest selftest=swap_ws mem=64M exit=qemu", mem="512M",
             prepare=wipe, timeout=300)
    return b, [("swap-wiped: warns once that there is no swap",
                b.log.count("running without swap") == 1, "warnings: %d" %
                b.log.count("running without swap")),
               ("swap-wiped: the fault reports out of memory", "out of memory at" in b.log and
                "-ENOMEM" in b.log, "no report"),
               ("swap-wiped: no panic", "PANIC" not in b.log, "panicked"),
               ("swap-wiped: exit code 1", b.exit_code == 1 and b.qemu_code() == 1,
                "exit %s status %s" % (b.exit_code, b.status))]


def scenario_oom_panic():
    """No swap, and a kernel store that finds no page: a panic whose line
    says out of memory (code 3), reached promptly, not a hang."""
    b = boot("oom-panic", "app=selftest selftest=oom_panic swap=off mem=64M exit=qemu",
             mem="512M", timeout=300)
    panic = [l for l in b.log.splitlines() if l.startswith("PANIC:")]
    return b, [("oom-panic: the PANIC line says out of memory",
                len(panic) == 1 and "out of memory" in panic[0], str(panic)),
               ("oom-panic: the fault logged it first", "vm_fault: out of memory at" in b.log,
                "no log line"),
               ("oom-panic: exit code 3", b.exit_code == 3 and b.qemu_code() == 3,
                "exit %s status %s" % (b.exit_code, b.status))]


def scenario_swap_bad_sector():
    """A sector of the swap partition that fails every access (blkdebug):
    the page-out over it fails with a message, its slots are retired, and
    the working set still completes with every page right."""
    import os
    from phobos_qemu import ROOT
    work = os.path.join(ROOT, "build", "qemu-tests")
    cfg = os.path.join(work, "swap-bad-sector.blkdebug")
    os.makedirs(work, exist_ok=True)
    image = os.path.join(ROOT, "build", "phobos.img")
    sector = swap_offset(image) // 512 + 8 * 5 + 3  # in slot 5, the first ones handed out
    with open(cfg, "w") as f:
        for event in ("read_aio", "write_aio"):
            f.write('[inject-error]\nevent = "%s"\nerrno = "5"\nsector = "%d"\n'
                    'once = "off"\n' % (event, sector))
    b = boot("swap-bad-sector", "app=selftest selftest=swap_ws mem=64M exit=qemu", mem="512M",
             disk_bus="none", extra=["-drive", "if=none,format=raw,file=blkdebug:%s:%s,id=boot"
                                     % (cfg, "{img}"), "-device", "virtio-blk-pci,drive=boot"],
             timeout=600)
    os.unlink(cfg)
    checks = []
    expect_selftests_pass(b, checks)
    checks.append(("swap-bad-sector: the failed page-out is reported and its slots retired",
                   "failed to write; retired" in b.log, "no message"))
    return b, checks



def scenario_clock_no_acpi_timers():
    """QEMU cannot remove the ACPI PM timer on its own, but with acpi=off it
    passes no ACPI tables, so the kernel finds neither the PM timer nor the
    HPET while the PIT remains: the clock falls back to it (TCG's CPUID has
    no leaf 0x15 or 0x16), and an AHCI disk is attached and read with every
    wait bounded."""
    import hashlib
    config = "app=check check=/phobos.cfg exit=qemu"
    b = boot("clock-no-acpi-timers", config, machine="q35,hpet=off,acpi=off", disk_bus="ahci")
    want = "CHECK /phobos.cfg %s %d" % (hashlib.sha256((config + "\n").encode()).hexdigest(),
                                        len(config) + 1)
    stamps = [float(m.group(1)) for m in re.finditer(r"^\[ *(\d+\.\d+)\]", b.log, re.M)]
    return b, [
        ("clock-no-acpi-timers: TSC rate from the PIT", "kHz, from the PIT" in b.log,
         "no PIT clock line"),
        ("clock-no-acpi-timers: the clock runs", len(stamps) > 2 and stamps[-1] > 0,
         "timestamps %s" % stamps[-3:]),
        ("clock-no-acpi-timers: AHCI file read through FAT", want in b.log, "no CHECK line"),
        ("clock-no-acpi-timers: exit code 0", b.exit_code == 0 and b.qemu_code() == 0,
         "exit %s status %s" % (b.exit_code, b.status)),
    ]


def scenario_clock_none():
    """No ACPI timers, no PIT and no CPUID leaf 0x15/0x16: nothing can bound
    a wait for a device, so no storage is attached and the boot ends with 2."""
    b = boot("clock-none", "app=check check=/phobos.cfg exit=qemu",
             machine="q35,hpet=off,acpi=off,pit=off", disk_bus="ahci")
    return b, exit2_checks("clock-none", b, ["nothing bounds the wait for a device",
                                             "storage not attached"]) + [
        ("clock-none: no disk attached", "ahci: ahci0" not in b.log and "storage:" not in b.log,
         "a disk was attached")]


def scenario_nvme_8k_sectors():
    """An NVMe namespace formatted with 8 KiB sectors (LBADS 13): only LBADS
    9 to 12 are taken, so it is left out with a message and the boot goes on
    from the virtio disk.  (QEMU allows up to LBADS 21; the values from 32
    on, where the shift was undefined, take the same path.)"""
    import os
    from phobos_qemu import ROOT
    disk = os.path.join(ROOT, "build", "qemu-tests", "nvme-8k-sectors.disk")
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    try:
        b = boot("nvme-8k-sectors", "app=selftest selftest=printf_formats exit=qemu",
                 extra=("-drive", "if=none,format=raw,file=%s,id=big" % disk, "-device",
                        "nvme,drive=big,serial=big,logical_block_size=8192,"
                        "physical_block_size=8192"))
    finally:
        os.unlink(disk)
    return b, [
        ("nvme-8k-sectors: namespace left out with its sector size",
         re.search(r"nvme: \S+ namespace 1: sector size 2\^13 bytes: not used", b.log) is not None,
         "no message"),
        ("nvme-8k-sectors: no NVMe disk registered", "nvme: nvme0" not in b.log,
         "namespace registered"),
        ("nvme-8k-sectors: exit code 0", b.exit_code == 0 and b.qemu_code() == 0,
         "exit %s status %s" % (b.exit_code, b.status)),
    ]

def scenario_no_serial_port():
    """A PC without a legacy serial port: the console is the framebuffer
    alone, and the self-tests still run to exit code 0 (QEMU's status is
    the only witness: nothing can be read back)."""
    b = boot("no-serial", "app=selftest exit=qemu", serial=False, timeout=240)
    return b, [("no-serial: self-tests pass without a serial port",
                b.qemu_code() == 0, "qemu status %s%s" % (b.status,
                                                          " (timed out)" if b.timed_out else ""))]


def scenario_framebuffers():
    """GOP as real PCs give it: none at all (-vga none: headless, the
    console self-test skips), and a plain linear framebuffer (bochs-display)
    instead of the standard VGA's."""
    checks = []
    b = boot("no-gop", "app=selftest exit=qemu", extra=["-vga", "none"])
    expect_selftests_pass(b, checks)
    checks.append(("no-gop: runs headless", "framebuffer: none (headless)" in b.log, "no line"))
    checks.append(("no-gop: the console self-test says SKIP",
                   re.search(r"^ok \d+ - fbcon\S* # SKIP", b.log, re.M) is not None, "no SKIP"))
    g = boot("bochs-display", "app=selftest exit=qemu", extra=["-vga", "none", "-device",
                                                               "bochs-display"])
    expect_selftests_pass(g, checks)
    checks.append(("bochs-display: the console draws on its framebuffer",
                   re.search(r"framebuffer: \d+x\d+ at", g.log) is not None, "no framebuffer"))
    return b, checks


def scenario_boot_disk_not_first():
    """Three disks, the boot disk the last one found: a blank disk and a
    partitioned data disk come first on the bus, and neither is taken for
    ours or written."""
    import os
    import subprocess
    from phobos_qemu import ROOT
    work = os.path.join(ROOT, "build", "qemu-tests")
    blank, data = os.path.join(work, "first-blank.img"), os.path.join(work, "first-data.img")
    os.makedirs(work, exist_ok=True)
    for p in (blank, data):
        subprocess.run(["rm", "-f", p], check=True)
        subprocess.run(["truncate", "-s", "16M", p], check=True)
    subprocess.run(["sgdisk", "-n", "1:1M:0", "-t", "1:8200", data], check=True,
                   stdout=subprocess.DEVNULL)
    before = [file_digest(p) for p in (blank, data)]
    b = boot("boot-disk-last", "app=selftest selftest=storage_boot_disk exit=qemu",
             disk_bus="none",
             extra=["-drive", "if=none,format=raw,file=%s,id=d1" % blank,
                    "-device", "virtio-blk-pci,drive=d1,addr=0x4",
                    "-drive", "if=none,format=raw,file=%s,id=d2" % data,
                    "-device", "virtio-blk-pci,drive=d2,addr=0x5",
                    "-drive", "if=none,format=raw,file={img},id=boot",
                    "-device", "virtio-blk-pci,drive=boot,addr=0x6"])
    checks = []
    expect_selftests_pass(b, checks)
    checks.append(("boot-disk-last: the third disk is the boot disk",
                   "storage: boot disk virtio2" in b.log, "wrong disk"))
    checks.append(("boot-disk-last: the other disks are untouched",
                   [file_digest(p) for p in (blank, data)] == before, "changed"))
    for p in (blank, data):
        os.unlink(p)
    return b, checks


def scenario_user_basic():
    """The app in ring 3: CPL 3, the gate page, heap blocks, a file written
    and read back (the host checks its bytes and fsck.fat after), bad
    pointers and unknown calls answered with -EFAULT and -ENOSYS."""
    import os
    import subprocess
    found = {}

    def inspect(img):
        esp = img + ".esp"
        esp_extract(img, esp)
        fsck = subprocess.run(["fsck.fat", "-n", esp], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        out = img + ".out"
        got = subprocess.run(["mcopy", "-n", "-o", "-i", esp, "::/app_test.bin", out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        found["fsck"] = fsck
        found["data"] = open(out, "rb").read() if got == 0 else None
        for p in (esp, out):
            if os.path.exists(p):
                os.unlink(p)
    b = boot("user-basic", "app=selftest selftest=user_basic,user_syscall_errors exit=qemu",
             inspect=inspect)
    checks = []
    expect_selftests_pass(b, checks)
    want = bytes((i * 7 + (i >> 9)) & 0xff for i in range(100000))  # app/main.c check_file
    checks += [("user-basic: SMEP and SMAP are on", "SMEP on, SMAP on" in b.log, "not on"),
               ("user-basic: both parts report ok", "app: basic ok" in b.log and
                "app: syscall_errors ok" in b.log, "missing"),
               ("user-basic: the host reads back the file the app wrote", found.get("data") == want,
                "differs or missing"),
               ("user-basic: fsck.fat -n finds the ESP clean", found["fsck"].returncode == 0,
                found["fsck"].stdout[-400:])]
    return b, checks


USER_FAULTS = [("fault_null", "read of 0 at", "no mapping"),
               ("fault_text_store", "write of 4", "r-x"),
               ("fault_exec_stack", "execute of 7fffb", "rw-"),
               ("fault_kernel_read", "read of ffff800000000000", "kernel address"),
               ("fault_stack_overflow", "write of 7fffbfef", "reserved (guard)"),
               ("heap_exhaust", "out of memory", "rw-")]


def user_fault_scenario(part, what, where):
    """The app stopped for a fault: one line naming the address, the access
    and the mapping, exit code 4, no panic, the stats line printed."""
    def scenario():
        name = "user-" + part.replace("_", "-")
        extra = " swap=off mem=64M" if part == "heap_exhaust" else ""
        b = boot(name, "app=selftest selftest=user_%s exit=qemu%s" % (part, extra),
                 mem="512M" if extra else "128M")
        stop = [l for l in b.log.splitlines() if "app: stopped:" in l]
        checks = [("%s: one line names the access, address and mapping" % name,
                   len(stop) == 1 and what in stop[0] and where in stop[0], str(stop)),
                  ("%s: the trap frame was ring 3's" % name,
                   len(stop) == 1 and "(cpl 3)" in stop[0], str(stop)),
                  ("%s: no panic, the VM stats line printed" % name,
                   "PANIC" not in b.log and "vm: faults" in b.log, "panic or no stats"),
                  ("%s: exit code 4" % name, b.exit_code == 4 and b.qemu_code() == 4,
                   "exit %s status %s" % (b.exit_code, b.status))]
        if part == "heap_exhaust":
            checks.append(("%s: sys_allocate_heap failed cleanly first" % name,
                           "sys_allocate_heap refused block" in b.log and
                           "-12" in b.log, "no refusal"))
        return b, checks
    scenario.__name__ = "scenario_user_" + part
    return scenario


# USB: the boot stick is on root port 2 (disk_bus "usb") or on port 1 of a
# usb-hub on root port 1 ("usb-hub"); the test stick beside it on root port
# 1, or on the hub's port 2.
BLKT_DEVICE["usb"] = "usb-storage,bus=xhci.0,port=1,drive=t"
BLKT_DEVICE["usb-hub"] = "usb-storage,bus=xhci.0,port=1.2,drive=t"


def usb_scenario(inner, bus):
    """inner (a blk_rw or check scenario on `bus`), and the log must show
    the path: the xHCI controller, the hub when there is one, and the
    boot disk found on USB by its GUID."""
    def scenario():
        b, checks = inner()
        name = b.name
        checks.append(("%s: the xHCI controller came up" % name,
                       re.search(r"^\[[ 0-9.]+\] xhci: 00:\S+: xHCI \d", b.log, re.M) is not None,
                       "no xhci line"))
        boot_disk = re.search(r"storage: boot disk (usb\d+);", b.log)
        checks.append(("%s: the boot disk is a USB disk, files and swap on it" % name,
                       boot_disk is not None and "files from %sp1; swap %sp2" %
                       (boot_disk.group(1), boot_disk.group(1)) in b.log,
                       "boot disk line: %s" % (boot_disk.group(0) if boot_disk else None)))
        if bus == "usb-hub":
            checks.append(("%s: the stick is found behind the hub" % name,
                           "usb_hub: usb-5: 8 ports" in b.log and
                           "usb_hub: usb-5.1: port 1 of hub usb-5" in b.log, "no hub lines"))
        else:
            checks.append(("%s: the stick is on a USB 3 root port at SuperSpeed" % name,
                           "xhci: usb-2: USB 3 port, super speed" in b.log, "no such line"))
        return b, checks
    scenario.__name__ = inner.__name__.replace("-", "_")
    return scenario


SCENARIOS = [scenario_selftest_q35, scenario_selftest_pc, scenario_unknown_key,
             scenario_bad_config, scenario_fault, scenario_vm_fault_panic, scenario_mem_cap,
             scenario_5g, scenario_missing_partition,
             scenario_swap_not_swap, scenario_corrupt_gpt, scenario_swap_named,
             blk_rw_scenario("virtio"), blk_rw_scenario("ahci"), blk_rw_scenario("nvme"),
             blk_ioerr_scenario("ahci"), blk_ioerr_scenario("virtio"), scenario_blk_bench_virtio,
             check_scenario("virtio"), check_scenario("ahci"), check_scenario("nvme"),
             scenario_corrupt_fat, scenario_missing_disk, scenario_duplicate_guids,
             scenario_boot_partition_elsewhere, scenario_swap_off, scenario_config_too_long,
             swap_ws_scenario("virtio"), swap_ws_scenario("ahci"), swap_ws_scenario("nvme"),
             scenario_swap_wiped, scenario_swap_bad_sector, scenario_oom_panic,
             scenario_clock_no_acpi_timers,
             scenario_clock_none, scenario_nvme_8k_sectors, scenario_user_basic,
             scenario_no_serial_port, scenario_framebuffers, scenario_boot_disk_not_first] + \
    [user_fault_scenario(*f) for f in USER_FAULTS]


FILE_MAP_FILE = "/file map test.bin"  # core/file_map_test.c
FILE_MAP_SIZE = 32 << 20
FILE_MAP_KEY = 0x46494c454d415000


def file_map_pattern(b):
    """Pattern A (put there by the host) or B (stored by the kernel)."""
    import struct
    mask = (1 << 64) - 1
    if b:
        words = [((o * 0x9e3779b97f4a7c15) & mask) ^ (FILE_MAP_KEY | ord("B"))
                 for o in range(0, FILE_MAP_SIZE, 8)]
    else:
        words = [o ^ (FILE_MAP_KEY | ord("A")) for o in range(0, FILE_MAP_SIZE, 8)]
    return struct.pack("<%dQ" % len(words), *words)


def scenario_file_map():
    """selftest=file_map with mem=64M: a 32 MiB file on the ESP mapped shared
    and writable, pattern B stored through the mapping, part synced, the
    rest written back by page-out and unmap; the host then finds the file
    holding exactly pattern B and fsck.fat -n finds the ESP clean."""
    import hashlib
    import os
    import subprocess
    from phobos_qemu import ESP_OFFSET

    def prepare(img):
        host = img + ".filemap"
        with open(host, "wb") as f:
            f.write(file_map_pattern(False))
        subprocess.run(["mcopy", "-o", "-i", "%s@@%d" % (img, ESP_OFFSET), host,
                        "::" + FILE_MAP_FILE], check=True)
        os.unlink(host)
    def inspect(img):
        esp, out = img + ".esp", img + ".out"
        esp_extract(img, esp)
        fsck = subprocess.run(["fsck.fat", "-n", esp], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        got = subprocess.run(["mcopy", "-n", "-o", "-i", esp, "::" + FILE_MAP_FILE, out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        digest = hashlib.sha256(open(out, "rb").read()).hexdigest() if got == 0 else None
        for p in (esp, out):
            if os.path.exists(p):
                os.unlink(p)
        want = hashlib.sha256(file_map_pattern(True)).hexdigest()
        checks.append(("file-map: fsck.fat -n finds the ESP clean after the write-back",
                       fsck.returncode == 0, fsck.stdout[-600:]))
        checks.append(("file-map: the file's sha256 is pattern B's", digest == want,
                       "got %s" % digest))
    checks = []
    b = boot("file-map", "app=selftest selftest=file_map mem=64M exit=qemu", mem="512M",
             prepare=prepare, inspect=inspect, timeout=300)
    expect_selftests_pass(b, checks)
    return b, checks


SCENARIOS.append(scenario_file_map)


GPT_BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
GPT_ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GPT_LINUX_SWAP = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"


def gpt_4k_disk(path, size, parts):
    """A disk of 4096-byte sectors: a protective MBR, a GPT (header at LBA
    1, the 128-entry array at LBA 2, the backup at the end) and the
    partitions (type GUID, unique GUID, image file) one after the other
    from LBA 256.  sgdisk only writes 512-byte-sector tables, so this one
    is put together here."""
    import os
    import struct
    import uuid
    import zlib
    ss, sectors = 4096, size // 4096
    entries, layout, lba = b"", [], 256
    for type_guid, part_guid, image in parts:
        n = os.path.getsize(image) // ss
        entries += (uuid.UUID(type_guid).bytes_le + uuid.UUID(part_guid).bytes_le +
                    struct.pack("<QQQ", lba, lba + n - 1, 0) +
                    "phobos".encode("utf-16-le").ljust(72, b"\0"))
        layout.append((lba, image))
        lba += n
    first = 256
    array = entries.ljust(128 * 128, b"\0")
    disk_guid = uuid.uuid4().bytes_le

    def header(my, alt, array_lba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, my, alt,
                        first - 250, sectors - 6, disk_guid, array_lba, 128, 128,
                        zlib.crc32(array))
        return h[:16] + struct.pack("<I", zlib.crc32(h)) + h[20:]
    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<BBBBBBBBII", 0, 0, 2, 0, 0xee, 0xff, 0xff, 0xff, 1,
                               min(sectors - 1, 0xffffffff))
    mbr[510:512] = b"\x55\xaa"
    with open(path, "wb") as f:
        f.truncate(size)
        f.write(bytes(mbr))
        f.seek(ss)
        f.write(header(1, sectors - 1, 2))
        f.seek(2 * ss)
        f.write(array)
        f.seek((sectors - 5) * ss)
        f.write(array)
        f.seek((sectors - 1) * ss)
        f.write(header(sectors - 1, 1, sectors - 5))
        for at, image in layout:
            f.seek(at * ss)
            with open(image, "rb") as g:
                f.write(g.read())


def scenario_usb_4k_stick():
    """A USB stick of 4096-byte sectors (its GPT and FAT32 in 4 KiB
    sectors) beside the boot disk: fs= serves files from it and app=check
    reads them bit-exact through the file pager."""
    import hashlib
    import os
    import subprocess
    from phobos_qemu import ROOT
    work = os.path.join(ROOT, "build", "qemu-tests")
    os.makedirs(work, exist_ok=True)
    disk, fat, data = (os.path.join(work, "usb4k-" + n) for n in ("disk.img", "fat.img",
                                                                  "file.bin"))
    for p in (disk, fat):
        subprocess.run(["rm", "-f", p], check=True)
    subprocess.run(["mkfs.fat", "-S", "4096", "-s", "1", "-C", fat, str(40 << 10)],
                   check=True, stdout=subprocess.DEVNULL)
    content = bytes((i * 13 + (i >> 12)) & 0xff for i in range(300000))
    with open(data, "wb") as f:
        f.write(content)
    subprocess.run(["mcopy", "-i", fat, data, "::/on_a_4k_stick.bin"], check=True)
    gpt_4k_disk(disk, 64 << 20, [(GPT_BASIC_DATA, OTHER_PART, fat)])
    # usb-storage keeps 512-byte sectors whatever it is told; usb-bot with a
    # scsi-hd behind it gives the LUN the sector size asked for
    b = boot("usb-4k-stick", "app=check check=/on_a_4k_stick.bin exit=qemu fs=" + OTHER_PART,
             extra=["-device", "qemu-xhci,id=xhci", "-device", "usb-bot,id=bot,bus=xhci.0,port=1",
                    "-drive", "if=none,format=raw,file=%s,id=s4k" % disk, "-device",
                    "scsi-hd,bus=bot.0,lun=0,drive=s4k,logical_block_size=4096,"
                    "physical_block_size=4096"])
    want = hashlib.sha256(content).hexdigest()
    checks = [("usb-4k-stick: the stick's sectors are 4096 bytes",
               re.search(r"usb_msc: usb\d+ .*4096-byte sectors", b.log) is not None, "no such line"),
              ("usb-4k-stick: CHECK matches the host's sha256",
               "CHECK /on_a_4k_stick.bin %s %d" % (want, len(content)) in b.log, "no match"),
              ("usb-4k-stick: exit code 0", b.exit_code == 0 and b.qemu_code() == 0,
               "exit %s status %s" % (b.exit_code, b.status))]
    for p in (disk, fat, data):
        os.unlink(p)
    return b, checks


SCENARIOS.append(scenario_usb_4k_stick)


def scenario_usb_4k_boot():
    """Booting from a USB stick of 4096-byte sectors: an image put together
    in 4 KiB sectors (ESP in FAT with 4096-byte sectors, the loader and
    configuration on it, a mkswap'ed swap partition); the loader finds its
    GUIDs on it, the kernel its boot disk, files and swap."""
    import os
    import subprocess
    import uuid
    from phobos_qemu import ROOT
    work = os.path.join(ROOT, "build", "qemu-tests")
    os.makedirs(work, exist_ok=True)
    disk, esp, swap, cfg = (os.path.join(work, "usb4kboot-" + n)
                            for n in ("disk.img", "esp.img", "swap.img", "phobos.cfg"))
    for p in (disk, esp, swap):
        subprocess.run(["rm", "-f", p], check=True)
    subprocess.run(["mkfs.fat", "-S", "4096", "-s", "1", "-C", esp, str(40 << 10)], check=True,
                   stdout=subprocess.DEVNULL)
    with open(cfg, "w") as f:
        f.write("app=selftest selftest=printf_formats,user_basic exit=qemu\n")
    subprocess.run(["mmd", "-i", esp, "::/EFI", "::/EFI/BOOT"], check=True)
    subprocess.run(["mcopy", "-i", esp, os.path.join(ROOT, "build", "BOOTX64.EFI"),
                    "::/EFI/BOOT/BOOTX64.EFI"], check=True)
    subprocess.run(["mcopy", "-i", esp, cfg, "::/phobos.cfg"], check=True)
    subprocess.run(["truncate", "-s", "16M", swap], check=True)
    subprocess.run(["mkswap", "-q", swap], check=True, stdout=subprocess.DEVNULL)
    gpt_4k_disk(disk, 64 << 20, [(GPT_ESP, str(uuid.uuid4()).upper(), esp),
                                 (GPT_LINUX_SWAP, str(uuid.uuid4()).upper(), swap)])
    b = boot("usb-4k-boot", "", disk_bus="none", timeout=240,
             extra=["-device", "qemu-xhci,id=xhci", "-device", "usb-bot,id=bot,bus=xhci.0,port=1",
                    "-drive", "if=none,format=raw,file=%s,id=boot4k" % disk, "-device",
                    "scsi-hd,bus=bot.0,lun=0,drive=boot4k,logical_block_size=4096,"
                    "physical_block_size=4096,bootindex=0"])
    checks = []
    expect_selftests_pass(b, checks)
    checks.append(("usb-4k-boot: boot disk, files and swap on the 4096-byte-sector stick",
                   "4096-byte sectors" in b.log and
                   "storage: boot disk usb0; files from usb0p1; swap usb0p2" in b.log,
                   "not found on the stick"))
    for p in (disk, esp, swap, cfg):
        os.unlink(p)
    return b, checks


SCENARIOS.append(scenario_usb_4k_boot)
SCENARIOS += [usb_scenario(blk_rw_scenario(bus), bus) for bus in ("usb", "usb-hub")] + \
    [usb_scenario(check_scenario(bus), bus) for bus in ("usb", "usb-hub")] + \
    [usb_scenario(swap_ws_scenario("usb"), "usb")]

# Scenarios of one subsystem may live in test/qemu/scen_<area>.py, each with
# a SCENARIOS list of its own; they run after the ones above.
for _path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "scen_*.py"))):
    SCENARIOS += importlib.import_module(os.path.basename(_path)[:-3]).SCENARIOS
