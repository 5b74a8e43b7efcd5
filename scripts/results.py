#!/usr/bin/env python3
"""results.py WHERE: a table of every benchmark results file Phobos wrote
(\\phobos\\results\\NNNN.json), one column per run, with the machine each
ran on.  WHERE is a disk image or a stick's block device (the FAT
partition is found through the GPT and read with mtools; nothing is
written), or a directory where that partition is mounted.

  scripts/results.py build/phobos.img
  sudo scripts/results.py /dev/sdb
  scripts/results.py /media/PHOBOS"""
import json
import os
import struct
import subprocess
import sys

HEADLINE = [
    ("first_touch", "pages_per_s", "first touch, pages/s"),
    ("first_touch", "latency_p50_ns", "first touch, median ns"),
    ("file_map_read", "seq_pages_per_s", "file map read in order, pages/s"),
    ("file_map_read", "walk_pages_per_s", "file map read, walk, pages/s"),
    ("file_map_read", "rand_pages_per_s", "file map read at random, pages/s"),
    ("file_map_write", "mib_per_s", "file map write + sync, MiB/s"),
    ("swap_ws", "touches_per_s", "swap working set, touches/s"),
    ("swap_ws", "bad_pages", "swap working set, bad pages"),
    ("alloc_mix", "ops_per_s", "allocator mix, ops/s"),
    ("replacement", "loop_pages_read", "replacement loop, pages read"),
    ("replacement", "zipf_pages_read", "replacement Zipf, pages read"),
    ("replacement", "scan_pages_read", "replacement hot+scan, pages read"),
    ("boot", "loader_to_app_ms", "boot, loader to app, ms"),
    ("tick", "lost_pct", "busy loop, % of time in gaps"),
]


def fat_offset(path):
    """Byte offset of the first partition of the GPT disk at path."""
    with open(path, "rb") as f:
        for sector in (512, 4096):
            f.seek(sector)
            hdr = f.read(92)
            if hdr[:8] == b"EFI PART":
                entries_lba, = struct.unpack_from("<Q", hdr, 72)
                f.seek(entries_lba * sector + 32)
                first, = struct.unpack("<Q", f.read(8))
                return first * sector
    raise SystemExit("results.py: %s holds no GPT" % path)


def read_image(path):
    fat = "%s@@%d" % (path, fat_offset(path))
    p = subprocess.run(["mdir", "-b", "-i", fat, "::/phobos/results"], capture_output=True,
                       text=True)
    docs = []
    for name in sorted(os.path.basename(x) for x in p.stdout.split()):
        if name.endswith(".json"):
            t = subprocess.run(["mtype", "-i", fat, "::/phobos/results/" + name],
                               capture_output=True).stdout
            docs.append((name, t))
    return docs


def read_dir(path):
    d = os.path.join(path, "phobos", "results")
    return [(n, open(os.path.join(d, n), "rb").read()) for n in sorted(os.listdir(d))
            if n.endswith(".json")] if os.path.isdir(d) else []


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    where = sys.argv[1]
    raw = read_dir(where) if os.path.isdir(where) else read_image(where)
    runs = []
    for name, text in raw:
        try:
            runs.append((name, json.loads(text)))
        except ValueError as e:
            print("%s: not readable JSON (%s)" % (name, e))
    if not runs:
        print("no results files on %s" % where)
        return 1
    for name, d in runs:
        m = d["machine"]
        disks = ", ".join("%s %.1f GB" % (x["name"], x["bytes"] / 1e9) for x in m["disks"])
        print("%s: %s, family %d model %d, %d MiB, firmware %s, disks %s, Phobos %s" % (
            name, m["cpu"].strip(), m["family"], m["model"], m["mem_bytes"] >> 20,
            m["firmware"], disks, d["commit"]))
    print()
    print("%-34s" % "figure" + "".join("%14s" % n[:-5] for n, _ in runs))
    for bench, metric, label in HEADLINE:
        vals = []
        for _, d in runs:
            v = [r["value"] for r in d["results"] if r["bench"] == bench and r["metric"] == metric]
            vals.append(("%.0f" % v[0] if v[0] >= 100 else "%.3g" % v[0]) if v else "-")
        if any(v != "-" for v in vals):
            print("%-34s" % label + "".join("%14s" % v for v in vals))
    for name, d in runs:
        for n in d.get("notes", []):
            print("%s: %s %s" % (name, n["bench"], n.get("failed") and "FAILED: " + n["failed"]
                                 or "skipped: " + n.get("skipped", "")))
    return 0


sys.exit(main())
