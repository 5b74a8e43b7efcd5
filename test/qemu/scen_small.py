"""The smallest machines: the least QEMU RAM OVMF and Phobos boot in (the
README's figure), and a mem= cap below what Phobos needs (a clear message,
exit 2, no self-test run on too little memory)."""
from phobos_qemu import boot


def scenario_smallest_machine():
    b = boot("smallest-machine", "app=selftest mem=16M exit=qemu", mem="56M", timeout=300)
    failed = [t for t in b.tap if not t[0]]
    return b, [
        ("smallest-machine: 56 MiB of QEMU RAM boots and mem=16M passes every self-test",
         b.exit_code == 0 and b.plan is not None and b.plan == len(b.tap) and not failed,
         "exit %s, failed %s" % (b.exit_code, failed))]


def scenario_mem_too_small():
    b = boot("mem-too-small", "app=selftest mem=1M exit=qemu", mem="128M", timeout=120)
    return b, [
        ("mem-too-small: mem=1M ends with exit 2 naming the minimum",
         b.exit_code == 2 and b.qemu_code() == 2 and
         "Phobos needs at least 14 MiB" in b.log, b.log[-800:]),
        ("mem-too-small: no self-test ran", b.plan is None and not b.tap, str(b.tap[:3]))]


SCENARIOS = [scenario_smallest_machine, scenario_mem_too_small]
