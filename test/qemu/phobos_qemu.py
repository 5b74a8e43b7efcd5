"""Boots a Phobos image under OVMF in QEMU and reads what it said.

boot() copies the image (sparse), writes the given configuration into the
copy's ESP as \\phobos.cfg with mtools, runs QEMU with the serial console
in a log file and isa-debug-exit, and returns a Boot: the log, the TAP
results, the PHOBOS EXIT code and QEMU's status.  A timeout kills QEMU and
is reported as such, never as a pass."""
import os
import re
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
ESP_OFFSET = 1 << 20


class Boot:
    def __init__(self, name, log, status, seconds, timed_out):
        self.name = name
        self.log = log
        self.status = status
        self.seconds = seconds
        self.timed_out = timed_out
        self.tap = [(m.group(1) is None, int(m.group(2)), m.group(3))
                    for m in re.finditer(r"^(not )?ok (\d+) - (\S+)", log, re.M)]
        plan = re.search(r"^1\.\.(\d+)", log, re.M)
        self.plan = int(plan.group(1)) if plan else None
        ex = re.findall(r"^PHOBOS EXIT (\d+)", log, re.M)
        self.exit_code = int(ex[-1]) if ex else None

    def qemu_code(self):
        """The code QEMU's exit status carries (status = 2 * code + 1)."""
        if self.status is None or self.status % 2 == 0:
            return None
        return (self.status - 1) // 2


def boot(name, config, machine="q35", mem="128M", extra=(), timeout=180,
         image=None, workdir=None, disk_bus="virtio", prepare=None, inspect=None, serial=True):
    """disk_bus: the controller the boot disk hangs on: virtio, ahci, nvme,
    usb (a usb-storage stick on qemu-xhci's root port 2), usb-hub (the stick
    on port 1 of a usb-hub on root port 1; "xhci" names the controller for
    extra devices), or ide (the legacy IDE of -machine pc, which Phobos has no driver for),
    or none when extra attaches it ("{img}" in extra is the image copy).
    serial=False boots a machine without a serial port (the log stays empty:
    only QEMU's exit status tells what happened).
    prepare(img) runs on the image copy before QEMU starts, inspect(img)
    after QEMU has exited, before the copy is deleted."""
    image = image or os.path.join(ROOT, "build", "phobos.img")
    workdir = workdir or os.path.join(ROOT, "build", "qemu-tests")
    os.makedirs(workdir, exist_ok=True)
    img = os.path.join(workdir, name + ".img")
    vars_fd = os.path.join(workdir, name + ".vars.fd")
    log_path = os.path.join(workdir, name + ".log")
    subprocess.run(["cp", "--sparse=always", image, img], check=True)
    shutil.copyfile(OVMF_VARS, vars_fd)
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write(config + "\n")
        cfg = f.name
    try:
        subprocess.run(["mcopy", "-o", "-i", "%s@@%d" % (img, ESP_OFFSET), cfg, "::/phobos.cfg"],
                       check=True)
    finally:
        os.unlink(cfg)
    if prepare is not None:
        prepare(img)
    disk = [] if disk_bus == "none" else ["-drive", "if=none,format=raw,file=%s,id=boot" % img] + {
        "virtio": ["-device", "virtio-blk-pci,drive=boot"],
        "ahci": ["-device", "ide-hd,drive=boot,bus=ide.0"],  # q35's ICH9 AHCI
        "nvme": ["-device", "nvme,drive=boot,serial=phobosboot"],
        "ide": ["-device", "ide-hd,drive=boot,bus=ide.0"],
        # the stick on root port 2, so that a test stick can take port 1
        "usb": ["-device", "qemu-xhci,id=xhci",
                "-device", "usb-storage,bus=xhci.0,port=2,drive=boot,bootindex=0"],
        # a hub on root port 1, the stick on the hub's port 1
        "usb-hub": ["-device", "qemu-xhci,id=xhci", "-device", "usb-hub,bus=xhci.0,port=1",
                    "-device", "usb-storage,bus=xhci.0,port=1.1,drive=boot"],
    }[disk_bus]
    extra = [a.replace("{img}", img) for a in extra]
    cmd = ["qemu-system-x86_64", "-machine", machine, "-cpu", "max", "-m", mem,
           "-no-reboot", "-display", "none",
           "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
           "-drive", "if=pflash,format=raw,file=" + vars_fd,
           "-device", "isa-debug-exit,iobase=0x501,iosize=1",
           "-serial", "file:" + log_path if serial else "none", "-monitor", "none"] + disk + \
        list(extra)
    open(log_path, "w").close()
    start = time.time()
    timed_out = False
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        status, timed_out = None, True
    seconds = time.time() - start
    with open(log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace").replace("\r", "")
    try:
        if inspect is not None:
            inspect(img)
    finally:
        os.unlink(img)
    return Boot(name, log, status, seconds, timed_out)
