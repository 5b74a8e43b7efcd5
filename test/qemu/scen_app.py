"""QEMU scenarios of the app in ring 3 against the kernel (issue 16): the
hostile app part, memory exhaustion from one-page blocks, UMIP, the time
limit, the FPU/SSE state, and the loader left intact."""
import os
import re
import subprocess

from phobos_qemu import ROOT, boot
from scenarios import esp_extract


def exit_checks(name, b, code):
    return [("%s: no panic" % name, "PANIC" not in b.log, "panicked"),
            ("%s: exit code %d" % (name, code), b.exit_code == code and b.qemu_code() == code,
             "exit %s status %s" % (b.exit_code, b.status))]


def esp_files(found, paths):
    """An inspect() that copies paths out of the ESP into found, and runs
    fsck.fat -n on it."""
    def inspect(img):
        esp = img + ".esp"
        esp_extract(img, esp)
        found["fsck"] = subprocess.run(["fsck.fat", "-n", esp], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
        for p in paths:
            out = img + ".out"
            got = subprocess.run(["mcopy", "-n", "-o", "-i", esp, "::" + p, out],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL).returncode
            found[p] = open(out, "rb").read() if got == 0 else None
            if os.path.exists(out):
                os.unlink(out)
        os.unlink(esp)
    return inspect


def scenario_app_hostile():
    """Every bad call refused with its exact code, the loader and the
    configuration unchanged on the stick, the kernel whole after it."""
    config = "app=selftest selftest=user_hostile exit=qemu"
    found = {}
    b = boot("app-hostile", config, inspect=esp_files(
        found, ["/EFI/BOOT/BOOTX64.EFI", "/phobos.cfg"]))
    loader = open(os.path.join(ROOT, "build", "BOOTX64.EFI"), "rb").read()
    refused = [l for l in b.log.splitlines() if l.startswith("app: hostile: line")]
    checks = [("app-hostile: every call gave its exact code", b.tap != [] and not refused and
               "app: hostile ok" in b.log, "; ".join(refused[:8]) or "no ok line"),
              ("app-hostile: one-page blocks refused with -ENOMEM, not a panic",
               re.search(r"allocate_heap\(4096\) refused block \d+: -12", b.log) is not None,
               "no refusal line"),
              ("app-hostile: console text goes on after a NUL",
               "app: hostile: nul then more" in b.log, "cut at the NUL"),
              ("app-hostile: the loader on the stick is the one built",
               found.get("/EFI/BOOT/BOOTX64.EFI") == loader, "changed or missing"),
              ("app-hostile: phobos.cfg is unchanged",
               found.get("/phobos.cfg") == (config + "\n").encode(), "changed or missing"),
              ("app-hostile: fsck.fat -n finds the ESP clean",
               found["fsck"].returncode == 0, found["fsck"].stdout[-400:])]
    return b, checks + exit_checks("app-hostile", b, 0)


def scenario_app_alloc_loop_256m():
    """Issue 16 item 0: allocate_heap(4096, read, anywhere, not zeroed)
    until it fails, at 256 MiB: -ENOMEM, the kernel goes on."""
    b = boot("app-alloc-loop-256m", "app=selftest selftest=user_alloc_loop exit=qemu",
             mem="256M")
    m = re.search(r"allocate_heap\(4096\) refused block (\d+): (-?\d+)", b.log)
    checks = [("app-alloc-loop-256m: the loop ends in -ENOMEM",
               m is not None and m.group(2) == "-12", m.group(0) if m else "no line"),
              ("app-alloc-loop-256m: the kernel opens a file after it",
               "app: alloc_loop ok" in b.log, "no ok line")]
    return b, checks + exit_checks("app-alloc-loop-256m", b, 0)


SCENARIOS = [scenario_app_hostile, scenario_app_alloc_loop_256m]
