#!/usr/bin/env python3
"""The test runner of `make test`: host unit tests (cmocka, TAP output),
short fuzz runs, and QEMU scenarios.  Every check is one line,
"ok"/"not ok"; the last line is "N passed, N failed"; the exit status is
non-zero if anything failed."""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "qemu"))


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def add(self, name, ok, why=""):
        """ok None: the check could not run here; why says so."""
        if ok is None:
            self.skipped += 1
            print("ok - %s # SKIP %s" % (name, why))
        elif ok:
            self.passed += 1
            print("ok - %s" % name)
        else:
            self.failed += 1
            self.failures.append(name)
            print("not ok - %s%s" % (name, (" # " + str(why)) if why else ""))
        sys.stdout.flush()


def run_unit(t, binary):
    name = os.path.basename(binary)
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    p = subprocess.run([binary], capture_output=True, text=True, errors="replace", env=env,
                       timeout=900 + int(os.environ.get("PHOBOS_SWAP_SECONDS", "0")))
    results = re.findall(r"^(not )?ok \d+ - (.+)$", p.stdout, re.M)
    for bad, test in results:
        t.add("unit %s: %s" % (name, test.strip()), not bad)
    if p.returncode != 0 and not any(bad for bad, _ in results):
        t.add("unit %s: exits cleanly" % name, False,
              "status %d: %s" % (p.returncode, (p.stderr or p.stdout)[-2000:]))
    if p.returncode != 0:
        sys.stdout.write(p.stdout[-3000:] + p.stderr[-3000:])


def run_fuzz(t, binary, seconds):
    name = os.path.basename(binary)
    seed = os.path.join(ROOT, "test", "fuzz", "corpus", name.replace("_fuzz", ""))
    work = os.path.join(ROOT, "build", "fuzz-corpus", name)
    os.makedirs(work, exist_ok=True)
    dirs = [work] + ([seed] if os.path.isdir(seed) else [])
    p = subprocess.run([binary, "-max_total_time=%d" % seconds, "-timeout=10", "-max_len=65536",
                        "-rss_limit_mb=2048", "-print_final_stats=1"] + dirs,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=seconds + 300)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", p.stderr)
    t.add("fuzz %s for %ds (%s runs)" % (name, seconds, runs.group(1) if runs else "?"),
          p.returncode == 0, p.stderr[-3000:])


def run_qemu(t, jobs, only):
    import scenarios
    chosen = [s for s in scenarios.SCENARIOS if re.search(only, s.__name__)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for b, checks in pool.map(lambda s: s(), chosen):
            print("# %s: %.1f s, exit %s" % (b.name, b.seconds, b.exit_code))
            failed = False
            for name, ok, why in checks:
                t.add("qemu " + name, ok, why)
                failed |= ok is not None and not ok
            if failed:
                print("# --- serial log of %s (tail) ---" % b.name)
                for line in b.log.splitlines()[-60:]:
                    print("#   " + line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unit", nargs="*", default=[])
    ap.add_argument("--fuzz", nargs="*", default=[])
    ap.add_argument("--fuzz-seconds", type=int, default=15)
    ap.add_argument("--qemu", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="regex on scenario function names")
    a = ap.parse_args()
    t = Tally()
    for b in a.unit:
        run_unit(t, b)
    for b in a.fuzz:
        run_fuzz(t, b, a.fuzz_seconds)
    if a.qemu:
        run_qemu(t, a.jobs, a.only)
    if t.failures:
        print("# failed: " + ", ".join(t.failures[:40]))
    if t.skipped:
        print("# %d skipped" % t.skipped)
    print("%d passed, %d failed" % (t.passed, t.failed))
    sys.exit(1 if t.failed else 0)


main()
