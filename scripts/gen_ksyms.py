#!/usr/bin/env python3
"""Writes the kernel symbol table (assembly for the .ksyms section) from
`llvm-nm -n -S --defined-only` output of the first link.  Format: see
core/arch/x86_64/ksyms.c.  With no input it writes an empty table, used by
the first link so that section exists in both."""
import sys


def main():
    out = sys.argv[1]
    syms = []
    if len(sys.argv) > 2:
        for line in open(sys.argv[2]):
            parts = line.split()
            if len(parts) == 4:
                addr, size, kind, name = parts
            elif len(parts) == 3:
                addr, kind, name = parts
                size = "0"
            else:
                continue
            if kind not in "tT":
                continue
            syms.append((int(addr, 16), int(size, 16), name))
    syms.sort()
    with open(out, "w") as f:
        f.write('\t.section .ksyms, "a"\n\t.balign 8\n')
        f.write("\t.quad %d\n" % len(syms))
        off = 0
        for addr, size, name in syms:
            f.write("\t.quad 0x%x\n\t.long %d, %d\n" % (addr, off, size))
            off += len(name) + 1
        for _, _, name in syms:
            f.write('\t.asciz "%s"\n' % name)


main()
