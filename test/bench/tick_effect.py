#!/usr/bin/env python3
"""make bench-tick: what the app's timer tick (100 Hz) does to the
benchmark's figures.  Boots the benchmark app with tick on and with
tick=off, alternately (TICK_ROUNDS rounds each, 3), running tick,
first_touch and alloc_mix in QEMU_MEM (256M), and prints each figure's
median with the tick, without it, and their ratio.  Timed figures: never
part of make test."""
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "qemu"))
sys.path.insert(0, os.path.join(ROOT, "test", "bench"))
from phobos_qemu import boot  # noqa: E402
from run_bench import results_of  # noqa: E402

FIGURES = [("tick", "gaps_per_s"), ("tick", "lost_pct"), ("first_touch", "pages_per_s"),
           ("first_touch", "latency_p50_ns"), ("first_touch", "latency_p99_ns"),
           ("alloc_mix", "ops_per_s")]


def main():
    rounds = int(os.environ.get("TICK_ROUNDS", "3"))
    mem = os.environ.get("QEMU_MEM", "256M")
    work = os.path.join(ROOT, "build", "bench")
    seen = {"on": [], "off": []}
    for r in range(rounds):
        for mode in ("on", "off"):
            b = boot("tick-%s-%d" % (mode, r), "app=bench bench=tick,first_touch,alloc_mix "
                     "exit=qemu tick=%s" % mode, mem=mem, timeout=1800, workdir=work)
            if b.exit_code != 0:
                sys.exit("tick=%s round %d: exit %s, log %s" % (
                    mode, r, b.exit_code, os.path.join(work, b.name + ".log")))
            seen[mode].append(results_of(b.log))
    print("%-28s %14s %14s %8s" % ("figure (median of %d)" % rounds, "tick on", "tick=off",
                                   "on/off"))
    for f in FIGURES:
        on = [x[f] for x in seen["on"] if f in x]
        off = [x[f] for x in seen["off"] if f in x]
        if not on or not off:
            print("%-28s missing" % "/".join(f))
            continue
        mon, moff = statistics.median(on), statistics.median(off)
        print("%-28s %14g %14g %8s" % ("/".join(f), mon, moff,
                                        "%.3f" % (mon / moff) if moff else "-"))


if __name__ == "__main__":
    main()
