#!/usr/bin/env python3
"""The benchmark app's workloads as a host program (build/host/bench_host,
the POSIX backend under ASan and UBSan), each at a tiny size with its own
checks; then the file file_map_write left is checked page by page against
the pattern, the workloads that need swap or files skip themselves without
them, and a files partition that cannot be written fails the run."""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "bench"))
import bench_pattern  # noqa: E402

BIN = os.path.join(ROOT, "build", "host", "bench_host")
WORKLOADS = ["boot", "tick", "first_touch", "file_map_read", "file_map_write", "swap_ws", "alloc_mix",
             "replacement"]
n = 0


def ok(cond, name, why=""):
    global n
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name))
    if not cond and why:
        for line in str(why).splitlines()[-20:]:
            print("#   " + line)


def run(*words):
    p = subprocess.run([BIN] + list(words), capture_output=True, text=True, timeout=600)
    results = {}
    for m in re.finditer(r"^RESULT (\{.*\})$", p.stdout, re.M):
        r = json.loads(m.group(1))
        results[(r["bench"], r["metric"])] = r["value"]
    return p, results


def main():
    with tempfile.TemporaryDirectory() as root:
        p, res = run("bench=all", "bench_mem=2M", "bench_file=256K", "bench_root=" + root,
                     "bench_swap=1")
        ok(p.returncode == 0, "bench_host: every workload runs at a tiny size, exit 0",
           p.stdout + p.stderr)
        for w in WORKLOADS[1:]:
            ok(any(b == w for b, _ in res), "bench_host: %s prints RESULT lines" % w, p.stdout)
        ok(re.search(r"^bench: boot skipped: .+", p.stdout, re.M) is not None,
           "bench_host: boot says why it is skipped on Linux")
        bad = [k for k, v in res.items() if "bad_pages" in k[1] and v != 0]
        ok(not bad and any("bad_pages" in k[1] for k in res),
           "bench_host: no workload found a bad page", bad)
        ok(res.get(("first_touch", "pages")) == 64.0, "bench_host: first_touch touches 64 pages")
        ok(res.get(("swap_ws", "ws_mib")) == 4.0, "bench_host: swap_ws's working set is twice 2 MiB")
        ok(res.get(("replacement", "scan_pages")) == 256 + 2048,
           "bench_host: the scan covers half of memory hot and four times memory",
           res.get(("replacement", "scan_pages")))
        ok(res.get(("alloc_mix", "ops_per_s"), 0) > 0, "bench_host: alloc_mix gives a rate")
        ok(re.search(r"^summary .*\n(.*\n)*allocator mix, ops/s", p.stdout, re.M) is not None,
           "bench_host: the summary table ends the run")
        data = open(os.path.join(root, "phobos", "bench.bin"), "rb").read()
        ok(len(data) == 256 * 1024, "bench_host: the file has the size asked", len(data))
        badp = bench_pattern.bad_pages(data, 2)
        ok(not badp, "bench_host: the host reads version 2 of every page file_map_write stored",
           badp[:10])

    p, res = run("bench=swap_ws,replacement,file_map_read,file_map_write,alloc_mix",
                 "bench_mem=2M")
    for w in ("swap_ws", "replacement"):
        ok(re.search(r"^bench: %s skipped: no swap partition$" % w, p.stdout, re.M) is not None,
           "bench_host: without swap %s skips itself, saying why" % w, p.stdout)
    for w in ("file_map_read", "file_map_write"):
        ok(re.search(r"^bench: %s skipped: no files partition$" % w, p.stdout, re.M) is not None,
           "bench_host: without files %s skips itself, saying why" % w, p.stdout)
    ok(p.returncode == 0 and ("alloc_mix", "ops_per_s") in res,
       "bench_host: skipped workloads are no failure (exit 0) and the rest runs", p.returncode)

    with tempfile.TemporaryDirectory() as root:
        open(os.path.join(root, "phobos"), "w").close()  # a file where the directory goes
        p, _ = run("bench=file_map_read", "bench_file=64K", "bench_root=" + root)
        ok(p.returncode == 1 and "file_map_read FAILED" in p.stdout,
           "bench_host: a files partition it cannot write fails the run (exit 1)",
           p.stdout + p.stderr)
    p, _ = run("bench=replacement", "trace=1", "bench_mem=1M", "bench_swap=1")
    replay = subprocess.run([os.path.join(ROOT, "build", "host", "trace_replay")], input=p.stdout,
                            capture_output=True, text=True)
    lines = re.findall(r"^replay (\d+) pages (\d+) frames (\d+) refs \d+ phobos \d+ lru (\d+) "
                       r"opt (\d+)$", replay.stdout, re.M)
    ok(len(lines) == 3 and [int(x[1]) for x in lines] == [320, 512, 1152] and
       all(int(x[2]) == 256 for x in lines),
       "bench_host: trace=1 gives trace_replay the three strings with their frames", replay.stdout)
    ok(len(lines) == 3 and int(lines[2][3]) > 0 and int(lines[2][4]) == 0,
       "bench_host: the scan string defeats LRU and not OPT (the hot set can survive it)",
       replay.stdout)
    p, res = run("bench_mem=2M", "bench=alloc_mix\n")
    ok(p.returncode == 0 and ("alloc_mix", "ops_per_s") in res,
       "bench_host: a word list that ends in a newline (a kernel command line) is read whole",
       p.stdout[-500:])
    p, _ = run("bench=nosuch")
    ok(p.returncode == 2, "bench_host: an unknown workload is a configuration error (exit 2)")
    print("1..%d" % n)


main()
