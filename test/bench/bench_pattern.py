"""The page pattern of app/bench/bench.c (bench_page_word), for the host
checks of files the benchmark app wrote."""
import struct

MASK = (1 << 64) - 1


def page_word(index, version, word):
    if word == 0:
        return (index << 16 | (version & 0xffff)) & MASK
    x = (((index << 20) ^ (version << 8) ^ word) * 0xff51afd7ed558ccd) & MASK
    return x ^ (x >> 29)


def bad_pages(data, version):
    """Pages of data (a whole file) that do not hold their pattern."""
    bad = []
    for p in range(len(data) // 4096):
        words = struct.unpack_from("<512Q", data, p * 4096)
        if any(words[w] != page_word(p, version, w) for w in range(512)):
            bad.append(p)
    return bad
