#!/usr/bin/env python3
"""make bench: runs the host benchmarks given on the command line and the
kernel's benchmarks in QEMU (app=bench), then blk_read once per disk
controller (virtio, AHCI, NVMe) with the boot disk and a 64 MiB test disk
on it ("qemu-<controller>" rows; the "qemu" run measures its boot disk),
gathers their RESULT lines, prints one table, and writes
build/bench/results.json and build/bench/results.png."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "qemu"))
from phobos_qemu import boot  # noqa: E402
import scenarios  # noqa: E402

RESULT = re.compile(r"^RESULT (\{.*\})\s*$", re.M)


def results_of(text, where):
    out = []
    for m in RESULT.finditer(text):
        try:
            r = json.loads(m.group(1))
        except ValueError:
            print("bench: unreadable RESULT line from %s: %s" % (where, m.group(0)))
            continue
        r["where"] = where
        out.append(r)
    return out


def blk_bench(mem, out_dir):
    """blk_read on each controller; returns the results and the controllers
    that gave no figures (a driver not built in is no reason to stop)."""
    results, silent = [], []
    disk = os.path.join(out_dir, "blk-test-disk.img")
    for bus in ("virtio", "ahci", "nvme", "usb"):
        print("bench: blk_read on %s in QEMU" % bus, flush=True)
        scenarios.blk_bench_disk(disk, 64 << 20)
        b = boot("bench-blk-" + bus, "app=bench bench=blk_read exit=qemu", mem=mem, timeout=900,
                 disk_bus=bus, extra=["-drive", "if=none,format=raw,file=%s,id=t" % disk,
                                      "-device", scenarios.BLKT_DEVICE[bus]])
        rs = results_of(b.log, "qemu-" + bus)
        if not rs:
            silent.append(bus)
        if b.exit_code != 0:
            print("bench: blk_read on %s ended with exit %s (log: build/qemu-tests/%s.log)"
                  % (bus, b.exit_code, b.name))
        results += rs
    os.unlink(disk)
    return results, silent


def vm_benches():
    """swap_ws with 128 MiB (its working set twice that), and replacement
    with 32 MiB and trace=1, its trace replayed against LRU and OPT by
    build/host/trace_replay."""
    results = []
    print("bench: swap_ws in QEMU (mem=128M)", flush=True)
    b = boot("bench-swap-ws", "app=bench bench=swap_ws mem=128M exit=qemu", mem="512M",
             timeout=1800)
    results += results_of(b.log, "qemu")
    print("bench: replacement in QEMU (mem=32M, trace=1)", flush=True)
    b = boot("bench-replacement", "app=bench bench=replacement mem=32M trace=1 exit=qemu",
             mem="512M", timeout=1800)
    results += results_of(b.log, "qemu")
    p = subprocess.run([os.path.join(ROOT, "build", "host", "trace_replay")], input=b.log,
                       capture_output=True, text=True)
    names = ["replacement_loop", "replacement_zipf"]
    for m in re.finditer(r"^replay (\d+) pages \d+ frames (\d+) refs (\d+) phobos (\d+) "
                         r"lru (\d+) opt (\d+)$", p.stdout, re.M):
        name = names[int(m.group(1))] if int(m.group(1)) < len(names) else "replay" + m.group(1)
        phobos, lru, opt = int(m.group(4)), int(m.group(5)), int(m.group(6))
        for metric, value in (("lru_faults", lru), ("opt_faults", opt)):
            results.append({"bench": name, "metric": metric, "value": value, "unit": "faults",
                            "where": "replay"})
        results.append({"bench": name, "metric": "phobos_per_opt",
                        "value": phobos / opt if opt else float(phobos > 0) * 1e9,
                        "unit": "ratio", "where": "replay"})
        read = [r["value"] for r in results if r["bench"] == name and r["metric"] == "pages_read"]
        if read and opt:
            results.append({"bench": name, "metric": "pages_read_per_opt",
                            "value": float(read[0]) / opt, "unit": "ratio", "where": "replay"})
    results += file_map_bench()
    return results


def file_map_bench():
    """file_map_read over a 64 MiB file the host puts on the ESP."""
    from phobos_qemu import ESP_OFFSET

    def prepare(img):
        path = img + ".bench"
        with open(path, "wb") as f:
            f.write(os.urandom(64 << 20))
        subprocess.run(["mcopy", "-i", "%s@@%d" % (img, ESP_OFFSET), path,
                        "::/file map bench.bin"], check=True)
        os.unlink(path)
    print("bench: file_map_read in QEMU", flush=True)
    b = boot("bench-file-map", "app=bench bench=file_map_read exit=qemu", mem="512M",
             timeout=1800, prepare=prepare)
    return results_of(b.log, "qemu")


def main():
    results = []
    for b in sys.argv[1:]:
        print("bench: host %s" % os.path.basename(b), flush=True)
        p = subprocess.run([b], capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            print("bench: %s failed (%d): %s" % (b, p.returncode, p.stderr[-2000:]))
        results += results_of(p.stdout, "host")
    mem = os.environ.get("BENCH_MEM", "512M")
    selection = os.environ.get("BENCH", "all")
    print("bench: kernel benchmarks in QEMU (%s)" % mem, flush=True)
    kb = boot("bench", "app=bench bench=%s exit=qemu" % selection, mem=mem, timeout=1800)
    if kb.exit_code != 0:
        print("bench: kernel run ended with exit %s (log: build/qemu-tests/bench.log)" % kb.exit_code)
    results += results_of(kb.log, "qemu")
    out_dir = os.path.join(ROOT, "build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    silent = []
    if selection == "all" or "blk_read" in selection.split(","):
        blk_results, silent = blk_bench(mem, out_dir)
        results += blk_results
    if selection == "all":
        results += vm_benches()
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("\n%-11s %-32s %-18s %14s %s" % ("where", "bench", "metric", "value", "unit"))
    for r in results:
        print("%-11s %-32s %-18s %14.3f %s" % (r["where"], r["bench"], r["metric"],
                                                float(r["value"]), r["unit"]))
    for bus in silent:
        print("%-11s %-32s no figures (driver missing?)" % ("qemu-" + bus, "blk_read"))
    plot(results, os.path.join(out_dir, "results.png"))
    sys.exit(0 if results and kb.exit_code == 0 else 1)


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no plot")
        return
    groups = {}
    for r in results:
        groups.setdefault((r["metric"], r["unit"]), []).append(r)
    fig, axes = plt.subplots(len(groups), 1, figsize=(9, 2.2 + 1.6 * len(groups)), squeeze=False)
    for ax, ((metric, unit), rs) in zip(axes[:, 0], sorted(groups.items())):
        names = ["%s (%s)" % (r["bench"], r["where"]) for r in rs]
        ax.barh(names, [float(r["value"]) for r in rs], color="#4a7ab5")
        ax.set_xlabel("%s [%s]" % (metric, unit))
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print("bench: plot in %s" % os.path.relpath(path, ROOT))


main()
