"""The benchmark app in ring 3 (app=bench): every workload at a tiny size,
its RESULT lines, the results file on the files partition read back with
mtools and compared with the console, and a second boot that writes the
next number and compares itself with the first."""
import json
import os
import re
import shutil
import subprocess
import sys

from phobos_qemu import ESP_OFFSET, ROOT, boot

sys.path.insert(0, os.path.join(ROOT, "test", "bench"))
import bench_pattern  # noqa: E402

WORKLOADS = ["boot", "tick", "first_touch", "file_map_read", "file_map_write", "swap_ws", "alloc_mix",
             "replacement"]
RESULT = re.compile(r'^RESULT (\{.*\})$', re.M)


def console_results(log):
    out = {}
    for m in RESULT.finditer(log):
        r = json.loads(m.group(1))
        out[(r["bench"], r["metric"])] = r["value"]
    return out


def mtools_read(img, path):
    p = subprocess.run(["mtype", "-i", "%s@@%d" % (img, ESP_OFFSET), "::" + path],
                       capture_output=True)
    return p.stdout if p.returncode == 0 else None


def results_dir(img):
    p = subprocess.run(["mdir", "-b", "-i", "%s@@%d" % (img, ESP_OFFSET), "::/phobos/results"],
                       capture_output=True, text=True)
    return sorted(os.path.basename(x) for x in p.stdout.split()) if p.returncode == 0 else []


def file_checks(name, img, log, expect_names):
    """The results files on the image, the newest against the console."""
    names = results_dir(img)
    checks = [("%s: the results directory holds %s" % (name, ", ".join(expect_names)),
               names == expect_names, "found %s" % names)]
    text = mtools_read(img, "/phobos/results/" + expect_names[-1])
    try:
        doc = json.loads(text) if text else None
    except ValueError as e:
        doc, text = None, "%s: %s" % (e, text[:300])
    checks.append(("%s: %s parses as JSON" % (name, expect_names[-1]), doc is not None, text))
    if doc is None:
        return checks
    from_file = {(r["bench"], r["metric"]): r["value"] for r in doc["results"]}
    console = console_results(log)
    checks += [
        ("%s: the file holds exactly the console's figures" % name,
         from_file == console and len(console) > 0,
         "only in file %s; only on console %s" % (
             sorted(set(from_file.items()) - set(console.items()))[:5],
             sorted(set(console.items()) - set(from_file.items()))[:5])),
        ("%s: the file describes the machine" % name,
         doc["machine"]["os"] == "phobos" and doc["machine"]["cpu"] != "" and
         doc["machine"]["mem_bytes"] > 0 and "EDK" in doc["machine"]["firmware"] and
         len(doc["machine"]["disks"]) >= 1 and doc["machine"]["disks"][0]["bytes"] > 0 and
         re.match(r"^[0-9a-f]{12}\+?$", doc["commit"]) is not None,
         json.dumps(doc["machine"]) + " commit " + doc["commit"]),
        ("%s: the file's number is its name's" % name,
         "%04d.json" % doc["number"] == expect_names[-1], doc["number"])]
    return checks


def scenario_bench_app():
    kept = os.path.join(ROOT, "build", "qemu-tests", "bench-app-kept.img")
    seen = {}

    def keep(img):
        shutil.copyfile(img, kept)
        seen["file"] = mtools_read(img, "/phobos/bench.bin")

    cfg = "app=bench bench=all bench_mem=4M bench_file=512K exit=qemu"
    b = boot("bench-app", cfg, mem="128M", timeout=600, inspect=keep)
    res = console_results(b.log)
    checks = [("bench-app: exit 0", b.exit_code == 0 and b.qemu_code() == 0,
               "exit %s status %s" % (b.exit_code, b.status))]
    for w in WORKLOADS:
        checks.append(("bench-app: %s prints its figures" % w, any(k[0] == w for k in res),
                       sorted(k for k in res if k[0] == w)))
    bad = [k for k, v in res.items() if "bad_pages" in k[1] and v != 0]
    checks += [
        ("bench-app: every figure from ring 3 (the app's banner, no kernel-side run)",
         "bench: Phobos benchmark app on phobos" in b.log and "(kernel-side)" not in b.log,
         b.log[-2000:]),
        ("bench-app: no bad page in any workload", not bad and
         any("bad_pages" in k[1] for k in res), bad),
        ("bench-app: first_touch trapped once per page of its 512 KiB",
         res.get(("first_touch", "faults_minor"), 0) >= 128 and
         res.get(("first_touch", "pages")) == 128,
         (res.get(("first_touch", "pages")), res.get(("first_touch", "faults_minor")))),
        ("bench-app: file_map_read reads the file from disk each pass (cold cache)",
         all(res.get(("file_map_read", o + "_pages_read"), 0) >= 128 for o in ("seq", "walk",
                                                                               "rand")),
         [res.get(("file_map_read", o + "_pages_read")) for o in ("seq", "walk", "rand")]),
        ("bench-app: the summary table ends the run",
         re.search(r"^summary +this run +previous", b.log, re.M) is not None, b.log[-1500:]),
        ("bench-app: smoke check: boot measured from the loader (positive, under 60 s)",
         0 < res.get(("boot", "loader_to_app_ms"), 0) < 60000, res.get(("boot", "loader_to_app_ms"))),
        ("bench-app: the host reads version 2 of every page file_map_write stored",
         seen.get("file") is not None and len(seen["file"]) == 512 * 1024 and
         not bench_pattern.bad_pages(seen["file"], 2),
         "file %s" % (len(seen["file"]) if seen.get("file") else None)),
    ]
    if not os.path.exists(kept):
        return b, checks
    checks += file_checks("bench-app", kept, b.log, ["0001.json"])
    first = mtools_read(kept, "/phobos/results/0001.json")

    cfg2 = "app=bench bench=boot,alloc_mix exit=qemu"
    seen2 = {}

    def look(img):
        seen2["first"] = mtools_read(img, "/phobos/results/0001.json")
        shutil.copyfile(img, kept)

    b2 = boot("bench-app-again", cfg2, mem="128M", timeout=300, image=kept, inspect=look)
    checks += file_checks("bench-app-again", kept, b2.log, ["0001.json", "0002.json"])
    table = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "results.py"), kept],
                           capture_output=True, text=True)
    os.unlink(kept)
    line = re.search(r"^allocator mix, ops/s +(\S+) +(\S+)$", table.stdout, re.M)
    checks.append(("bench-app-again: scripts/results.py tables both runs from the image",
                   table.returncode == 0 and line is not None and
                   re.search(r"^0001\.json: .*family \d+ model \d+, \d+ MiB, firmware EDK",
                             table.stdout, re.M) is not None and
                   abs(float(line.group(1)) - res.get(("alloc_mix", "ops_per_s"), -1)) < 1.0,
                   table.stdout + table.stderr))
    prev = re.search(r"^allocator mix, ops/s +(\S+) +(\S+)", b2.log, re.M)
    checks += [
        ("bench-app-again: exit 0", b2.exit_code == 0, "exit %s" % b2.exit_code),
        ("bench-app-again: the first run's file is kept as it was",
         seen2.get("first") == first and first is not None, "changed or missing"),
        ("bench-app-again: the summary shows the first run's figure beside its own",
         prev is not None and prev.group(2) != "-" and
         abs(float(prev.group(2)) - res.get(("alloc_mix", "ops_per_s"), -1)) < 1.0,
         prev.group(0) if prev else b2.log[-1500:]),
    ]
    return b2, checks


def scenario_bench_app_no_swap():
    b = boot("bench-app-no-swap", "app=bench bench=swap_ws,replacement,alloc_mix swap=off "
             "exit=qemu", mem="128M", timeout=300)
    skipped = [w for w in ("swap_ws", "replacement")
               if re.search(r"^bench: %s skipped: no swap partition$" % w, b.log, re.M)]
    return b, [
        ("bench-app-no-swap: swap_ws and replacement skip themselves, saying why",
         skipped == ["swap_ws", "replacement"], skipped),
        ("bench-app-no-swap: the rest runs", "alloc_mix" in console_results_names(b.log),
         b.log[-1500:]),
        ("bench-app-no-swap: skipping is no failure (exit 0)", b.exit_code == 0,
         "exit %s" % b.exit_code)]


def console_results_names(log):
    return {k[0] for k in console_results(log)}


SCENARIOS = [scenario_bench_app, scenario_bench_app_no_swap]
