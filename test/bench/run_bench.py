#!/usr/bin/env python3
"""make bench: the benchmark app's workloads on Phobos and on Linux 6.1 in
the same QEMU, side by side, plus the host allocator benchmarks and the
kernel-side blk_read.

Rounds (BENCH_ROUNDS, 3) alternate: Phobos (app=bench in ring 3), Linux
(transparent_hugepage=never, allocators glibc, mimalloc and jemalloc for
alloc_mix), Linux with lru_gen (replacement), Linux with
transparent_hugepage=always (first_touch).  Both run in BENCH_MEM of QEMU
RAM (256M), preallocated by QEMU (linux_guest.QEMU_BENCH); the paging workloads are sized from the memory Linux leaves
free there (probed first), so both page.  Prints one table (medians, min
and max, the ratio, the goal), writes build/bench/results.json and
build/bench/results.png (and the table as results.md), and checks Phobos's results file (read back with
mtools) against its console.  BENCH_BLK=0 leaves out the kernel-side
blk_read; BENCH_TRACE=1 adds the replacement strings replayed against LRU
and OPT; BENCH_SWAP_MIB (2048) sizes the bench image's swap."""
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "qemu"))
sys.path.insert(0, os.path.join(ROOT, "test", "bench"))
from phobos_qemu import ESP_OFFSET, boot  # noqa: E402
import linux_guest  # noqa: E402
import scenarios  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")
RESULT = re.compile(r"^RESULT (\{.*\})\s*$", re.M)
WORKLOADS = "boot,tick,first_touch,file_map_read,file_map_write,swap_ws,alloc_mix,replacement"
LINUX_WORKLOADS = "tick,first_touch,file_map_read,file_map_write,swap_ws,alloc_mix,replacement"
ALLOCATORS = ["glibc", "mimalloc", "jemalloc"]

# (bench, metric, label, peer, goal, higher is better).  The ratio is Phobos
# over the peer where higher is better, the peer over Phobos where lower is
# better, so a ratio at or above the goal always meets it.
ROWS = [
    ("first_touch", "pages_per_s", "first touch, pages/s", "linux", 2.0, True),
    ("first_touch", "pages_per_s", "first touch, pages/s (Linux THP)", "linux-thp", 1.0, True),
    ("first_touch", "latency_p50_ns", "first touch latency, median ns", "linux", None, False),
    ("first_touch", "latency_p99_ns", "first touch latency, p99 ns", "linux", None, False),
    ("file_map_read", "seq_pages_per_s", "file map read in order, pages/s", "linux", 3.0, True),
    ("file_map_read", "walk_pages_per_s", "file map read, walk, pages/s", "linux", 1.0, True),
    ("file_map_read", "rand_pages_per_s", "file map read at random, pages/s", "linux", 1.0, True),
    ("file_map_read", "rand_pages_read", "file map read at random, pages read", "linux", None,
     False),
    ("file_map_write", "mib_per_s", "file map write + sync, MiB/s", "linux", None, True),
    ("swap_ws", "touches_per_s", "swap working set, touches/s", "linux", 3.0, True),
    ("swap_ws", "pages_read", "swap working set, pages read", "linux", None, False),
    ("swap_ws", "bad_pages", "swap working set, bad pages", None, None, False),
    ("alloc_mix", "ops_per_s", "alloc mix, ops/s (mimalloc)", "linux-mimalloc", 1.0, True),
    ("alloc_mix", "peak_heap_kib", "alloc mix, peak KiB (mimalloc)", "linux-mimalloc", 1.0, False),
    ("alloc_mix", "ops_per_s", "alloc mix, ops/s (glibc)", "linux-glibc", None, True),
    ("alloc_mix", "ops_per_s", "alloc mix, ops/s (jemalloc)", "linux-jemalloc", None, True),
    ("replacement", "loop_pages_read", "replacement loop, pages read (LRU)", "linux", 1.0, False),
    ("replacement", "loop_pages_read", "replacement loop, pages read (lru_gen)", "linux-lru_gen",
     1.0, False),
    ("replacement", "zipf_pages_read", "replacement Zipf, pages read (LRU)", "linux", 1.0, False),
    ("replacement", "zipf_pages_read", "replacement Zipf, pages read (lru_gen)", "linux-lru_gen",
     1.0, False),
    ("replacement", "scan_pages_read", "replacement hot+scan, pages read (LRU)", "linux", 1.0,
     False),
    ("replacement", "scan_pages_read", "replacement hot+scan, pages read (lru_gen)",
     "linux-lru_gen", 1.0, False),
    ("boot", "loader_to_app_ms", "boot, loader to app, ms (goal: under 20)", None, None, False),
    ("tick", "lost_pct", "busy loop, % of time in gaps (interrupts, emulation)", "linux", None,
     False),
]


def results_of(text):
    out = {}
    for m in RESULT.finditer(text):
        try:
            r = json.loads(m.group(1))
        except ValueError:
            continue
        out[(r["bench"], r["metric"])] = r["value"]
    return out


def failures_of(text):
    return re.findall(r"^bench: (\w+) FAILED: (.*)$", text, re.M)


def linux_variants(log):
    """The main run's figures, and alloc_mix under each allocator."""
    parts = re.split(r"^BENCH-VARIANT (.*)$", log, flags=re.M)
    out = {"linux": results_of(parts[0])}
    for i in range(1, len(parts) - 1, 2):
        head = parts[i].split()
        if len(head) == 2 and head[0] == "alloc_mix":
            out["linux-" + head[1]] = results_of(parts[i + 1])
    return out


def bench_image(swap):
    """The image make bench boots: the ESP of make image, swap sized for the
    largest working set, and the 64 MiB file both systems map."""
    img = os.path.join(OUT, "phobos-bench.img")
    esp = os.path.join(ROOT, "build", "esp.img")
    esp_mib = os.path.getsize(esp) >> 20
    env = dict(os.environ, IMAGE_SIZE="%dM" % (esp_mib + swap + 8), SWAP_SIZE="%dM" % swap,
               ESP_SIZE="%dM" % esp_mib, DISK_GUID="", ESP_GUID="", SWAP_GUID="")
    subprocess.run([os.path.join(ROOT, "image", "mkimage.sh"), img, esp], check=True, env=env)
    # the file, made once by the workloads' own code on the host, so both
    # systems map the same clusters and neither times the making
    tmp = os.path.join(OUT, "file-root")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run([os.path.join(ROOT, "build", "bench", "linux", "phobos-bench"),
                    "bench=file_map_read", "bench_file=64M", "bench_root=" + tmp],
                   check=True, stdout=subprocess.DEVNULL)
    fat = "%s@@%d" % (img, ESP_OFFSET)
    subprocess.run(["mmd", "-i", fat, "::/phobos"], check=True)
    subprocess.run(["mcopy", "-i", fat, os.path.join(tmp, "phobos", "bench.bin"),
                    "::/phobos/bench.bin"], check=True)
    shutil.rmtree(tmp)
    return img


def phobos_round(img, mem, sized, r, notes):
    seen = {}

    def read_file(copy):
        p = subprocess.run(["mtype", "-i", "%s@@%d" % (copy, ESP_OFFSET),
                            "::/phobos/results/0001.json"], capture_output=True)
        seen["file"] = p.stdout if p.returncode == 0 else None
    b = boot("bench-phobos-%d" % r, "app=bench bench=%s bench_mem=%dM exit=qemu" % (
        WORKLOADS, sized), mem=mem, timeout=7200, image=img, workdir=OUT, inspect=read_file,
        extra=tuple(linux_guest.QEMU_BENCH))
    res = results_of(b.log)
    for w, why in failures_of(b.log):
        notes.append("phobos round %d: %s failed: %s" % (r, w, why))
    if b.exit_code is None:
        notes.append("phobos round %d: no exit line (timeout %s); log %s" % (
            r, b.timed_out, os.path.relpath(os.path.join(OUT, b.name + ".log"), ROOT)))
    try:
        doc = json.loads(seen["file"]) if seen.get("file") else None
    except ValueError:
        doc = None
    if doc is None:
        notes.append("phobos round %d: no readable results file on the disk" % r)
    elif {(x["bench"], x["metric"]): x["value"] for x in doc["results"]} != res:
        notes.append("phobos round %d: the results file differs from the console" % r)
    return res, b.log


def linux_round(img, mem, sized, r, notes):
    out = {}
    runs = [("linux", "transparent_hugepage=never loglevel=3 bench=%s bench_mem=%dM "
             "bench_peers=%s" % (LINUX_WORKLOADS, sized, ",".join(ALLOCATORS))),
            ("linux-lru_gen", "transparent_hugepage=never loglevel=3 bench=replacement "
             "bench_mem=%dM bench_lru_gen=1" % sized),
            ("linux-thp", "transparent_hugepage=always loglevel=3 bench=first_touch")]
    for name, words in runs:
        print("bench: round %d: %s" % (r, name), flush=True)
        log, secs, code = linux_guest.boot("bench-%s-%d" % (name, r), words, img, mem)
        if code is None:
            notes.append("%s round %d: no exit line after %.0f s" % (name, r, secs))
        elif code != 0:
            notes.append("%s round %d: the workloads ended with code %d (log %s)" % (
                name, r, code, os.path.relpath(os.path.join(OUT, "bench-%s-%d.log" % (name, r)),
                                               ROOT)))
        for w, why in failures_of(log):
            notes.append("%s round %d: %s failed: %s" % (name, r, w, why))
        if name == "linux":
            out.update(linux_variants(log))
        else:
            out[name] = results_of(log)
    return out


def spread(values):
    return (statistics.median(values), min(values), max(values)) if values else None


def table(runs, notes):
    """runs: system -> list of {(bench, metric): value} per round."""
    def fig(system, bench, metric):
        return spread([r[(bench, metric)] for r in runs.get(system, []) if (bench, metric) in r])
    rows = []
    for bench, metric, label, peer, goal, higher in ROWS:
        p = fig("phobos", bench, metric)
        q = fig(peer, bench, metric) if peer else None
        ratio = None
        if p and q and p[0] > 0 and q[0] > 0:
            ratio = p[0] / q[0] if higher else q[0] / p[0]
        elif p and q and not higher and p[0] == 0:
            ratio = float("inf") if q[0] > 0 else 1.0
        met = None if goal is None or ratio is None else ratio >= goal
        if bench == "boot" and p:
            met = p[0] < 20
        failed = [n for n in notes if (" %s failed" % bench) in n]
        rows.append({"bench": bench, "metric": metric, "label": label, "peer": peer,
                     "phobos": p, "peer_value": q, "ratio": ratio, "goal": goal, "met": met,
                     "failed": failed})
    return rows


def fmt(v):
    if v is None:
        return "-"
    m = v[0]
    return "%.0f" % m if abs(m) >= 100 else "%.3g" % m


def print_table(rows, meta):
    print("\nPhobos against %s in QEMU %s (q35, TCG, -cpu max, %s RAM); %d rounds, medians" % (
        meta["linux"], meta["qemu"], meta["mem"], meta["rounds"]))
    print("paging workloads sized from %d MiB (Linux's free memory); free at start: Phobos %s "
          "MiB, Linux %s MiB" % (meta["sized_mib"], meta["phobos_free_mib"],
                                 meta["linux_free_mib"]))
    print("%-44s %10s %-19s %10s %6s %4s %s" % ("workload", "Phobos", "(min-max)", "peer",
                                                "ratio", "goal", "met"))
    for r in rows:
        p = r["phobos"]
        rng = "(%s-%s)" % (fmt((p[1],)), fmt((p[2],))) if p else ""
        if r["failed"] or p is None:
            print("%-44s %10s %s" % (r["label"], "FAILED" if r["failed"] else "no figure",
                                     "; ".join(r["failed"])[:80]))
            continue
        print("%-44s %10s %-19s %10s %6s %4s %s" % (
            r["label"], fmt(p), rng, fmt(r["peer_value"]),
            "%.2f" % r["ratio"] if r["ratio"] not in (None, float("inf")) else
            ("inf" if r["ratio"] else "-"),
            "%.1f" % r["goal"] if r["goal"] else "-",
            {True: "yes", False: "NO", None: ""}[r["met"]]))


def markdown(rows, meta):
    """The table as Markdown, for the README's Benchmarks section."""
    out = ["%s: Phobos against %s, QEMU %s (q35, TCG, `-cpu max`), %s of RAM, %d rounds "
           "(medians, min-max). Paging workloads sized from %s MiB, Linux's free memory; "
           "free at the start: Phobos %s MiB, Linux %s MiB." % (
               meta["date"], meta["linux"], meta["qemu"], meta["mem"], meta["rounds"],
               meta["sized_mib"], meta["phobos_free_mib"], meta["linux_free_mib"]), "",
           "| workload | Phobos (min-max) | peer | ratio | goal | met |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        p = r["phobos"]
        if r["failed"] or p is None:
            out.append("| %s | %s | | | | |" % (r["label"], "failed: " + "; ".join(r["failed"])
                                                 if r["failed"] else "no figure"))
            continue
        ratio = r["ratio"]
        out.append("| %s | %s (%s-%s) | %s | %s | %s | %s |" % (
            r["label"], fmt(p), fmt((p[1],)), fmt((p[2],)), fmt(r["peer_value"]),
            "-" if ratio is None else "Phobos read none" if ratio == float("inf") else "%.2f" % ratio,
            "%.1f" % r["goal"] if r["goal"] else "", {True: "yes", False: "**no**",
                                                      None: ""}[r["met"]]))
    return "\n".join(out) + "\n"


def plot(rows, runs, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no plot")
        return
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(15, 7), gridspec_kw={"width_ratios": [3, 2]})
    shown = [r for r in rows if r["ratio"] not in (None, float("inf"))]
    y = list(range(len(shown)))
    a1.barh(y, [r["ratio"] for r in shown],
            color=["#3a8a3a" if r["met"] else "#c04040" if r["met"] is False else "#7090b0"
                   for r in shown])
    for i, r in enumerate(shown):
        if r["goal"]:
            a1.plot([r["goal"], r["goal"]], [i - 0.4, i + 0.4], color="black", lw=2)
    a1.set_yticks(y)
    a1.set_yticklabels([r["label"] for r in shown], fontsize=8)
    a1.axvline(1.0, color="grey", lw=0.8, ls="--")
    a1.set_xscale("log")
    a1.invert_yaxis()
    a1.set_xlabel("Phobos against its peer (higher is better; black: the goal)")
    pct = [("1", 1), ("10", 10), ("25", 25), ("50", 50), ("75", 75), ("90", 90), ("99", 99),
           ("999", 99.9)]
    for system, colour in (("phobos", "#3a8a3a"), ("linux", "#b06020"), ("linux-thp", "#d0a040")):
        rs = runs.get(system, [])
        pts = []
        for tag, q in pct:
            vals = [r[("first_touch", "latency_p%s_ns" % tag)] for r in rs
                    if ("first_touch", "latency_p%s_ns" % tag) in r]
            if vals:
                pts.append((statistics.median(vals), q))
        if pts:
            a2.plot([v for v, _ in pts], [q for _, q in pts], marker="o", color=colour,
                    label=system)
    a2.set_xscale("log")
    a2.set_xlabel("first-touch latency, ns (TSC around one store)")
    a2.set_ylabel("percentile")
    a2.legend()
    a2.grid(True, which="both", lw=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print("bench: plot in %s" % os.path.relpath(path, ROOT))


def trace_replay(img, mem, sized):
    """BENCH_TRACE=1: Phobos's replacement strings with trace=1, replayed
    by build/host/trace_replay against LRU and OPT with the frames the
    strings were sized for (Phobos itself may have more)."""
    print("bench: replacement with trace=1 (Phobos), replayed against LRU and OPT", flush=True)
    b = boot("bench-phobos-trace", "app=bench bench=replacement trace=1 bench_mem=%dM "
             "exit=qemu" % sized, mem=mem, timeout=7200, image=img, workdir=OUT,
             extra=tuple(linux_guest.QEMU_BENCH))
    res = results_of(b.log)
    p = subprocess.run([os.path.join(ROOT, "build", "host", "trace_replay")], input=b.log,
                       capture_output=True, text=True)
    rows = []
    for name, m in zip(("loop", "zipf", "scan"), re.finditer(
            r"^replay \d+ pages (\d+) frames (\d+) refs (\d+) phobos \d+ lru (\d+) opt (\d+)$",
            p.stdout, re.M)):
        rows.append({"string": name, "pages": int(m.group(1)), "frames": int(m.group(2)),
                     "refs": int(m.group(3)), "lru": int(m.group(4)), "opt": int(m.group(5)),
                     "phobos_pages_read": res.get(("replacement", name + "_pages_read"))})
    return rows


def host_benches(binaries):
    out = []
    for b in binaries:
        print("bench: host %s" % os.path.basename(b), flush=True)
        p = subprocess.run([b], capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            print("bench: %s failed (%d): %s" % (b, p.returncode, p.stderr[-2000:]))
        for m in RESULT.finditer(p.stdout):
            out.append(json.loads(m.group(1)))
    return out


def blk_bench(mem):
    """blk_read (kernel-side: a raw test disk has no user form) per controller."""
    out = []
    disk = os.path.join(OUT, "blk-test-disk.img")
    for bus in ("virtio", "ahci", "nvme", "usb"):
        print("bench: blk_read (kernel-side) on %s" % bus, flush=True)
        scenarios.blk_bench_disk(disk, 64 << 20)
        b = boot("bench-blk-" + bus, "app=bench bench=blk_read exit=qemu", mem=mem, timeout=900,
                 disk_bus=bus, workdir=OUT,
                 extra=["-drive", "if=none,format=raw,file=%s,id=t" % disk,
                        "-device", scenarios.BLKT_DEVICE[bus]] + linux_guest.QEMU_BENCH)
        for m in RESULT.finditer(b.log):
            r = json.loads(m.group(1))
            r["where"] = "qemu-" + bus
            out.append(r)
    os.unlink(disk)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    mem = os.environ.get("BENCH_MEM", "256M")
    swap = int(os.environ.get("BENCH_SWAP_MIB", "2048"))
    host = host_benches(sys.argv[1:])
    version = linux_guest.prepare(os.path.join(ROOT, "build", "bench", "linux", "init"),
                                  os.path.join(ROOT, "build", "bench", "linux", "phobos-bench"))
    img = bench_image(swap)
    print("bench: probing the memory Linux %s leaves free in %s" % (version, mem), flush=True)
    log, _, _ = linux_guest.boot("bench-linux-probe", "loglevel=3 bench=boot", img, mem)
    linux_free = results_of(log).get(("run", "mem_free_mib"))
    if not linux_free:
        print("bench: the Linux guest did not start; log build/bench/bench-linux-probe.log")
        sys.exit(1)
    sized = int(linux_free)
    notes, runs = [], {}
    for r in range(1, rounds + 1):
        print("bench: round %d of %d: phobos" % (r, rounds), flush=True)
        res, _ = phobos_round(img, mem, sized, r, notes)
        runs.setdefault("phobos", []).append(res)
        for system, figs in linux_round(img, mem, sized, r, notes).items():
            runs.setdefault(system, []).append(figs)
    blk = blk_bench(mem) if os.environ.get("BENCH_BLK", "1") == "1" else []
    replay = trace_replay(img, mem, sized) if os.environ.get("BENCH_TRACE") == "1" else []
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.split("\n")[0].split("version ")[-1]
    phobos_free = spread([x.get(("run", "mem_free_mib"), 0) for x in runs["phobos"]])
    meta = {"date": datetime.date.today().isoformat(), "qemu": qemu, "linux": "Linux " + version,
            "mem": mem, "rounds": rounds, "sized_mib": sized,
            "phobos_free_mib": "%.0f" % phobos_free[0] if phobos_free else "?",
            "linux_free_mib": "%.0f" % linux_free}
    rows = table(runs, notes)
    print_table(rows, meta)
    for n in notes:
        print("note: " + n)
    for r in replay:
        print("replay %-5s %7d pages %6d frames %8d refs: Phobos read %s, LRU misses %d, OPT %d"
              % (r["string"], r["pages"], r["frames"], r["refs"], r["phobos_pages_read"], r["lru"],
                 r["opt"]))
    for r in blk:
        print("%-11s %-28s %-20s %14.3f %s" % (r["where"], r["bench"], r["metric"],
                                                float(r["value"]), r["unit"]))
    for r in host:
        print("%-11s %-28s %-20s %14.3f %s" % ("host", r["bench"], r["metric"],
                                                float(r["value"]), r["unit"]))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "notes": notes, "host": host, "blk_read": blk, "replay": replay,
                   "runs": {k: [{"%s/%s" % key: v for key, v in r.items()} for r in rs]
                            for k, rs in runs.items()}}, f, indent=1, default=str)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(markdown(rows, meta))
    plot(rows, runs, os.path.join(OUT, "results.png"))
    sys.exit(1 if notes else 0)


if __name__ == "__main__":
    main()
