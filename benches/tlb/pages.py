#!/usr/bin/env python3
"""Steady-state data pages of a valgrind `lackey --trace-mem=yes` trace.

usage: pages.py TRACE_TAIL

Counts the distinct 4 KiB pages the data accesses touch and groups them
into runs of adjacent pages: a green thread's stack shows up as a short
run of its own (stacks are 260 KiB apart), malloc's heap as one long run.
"""
import collections
import sys

pages = collections.Counter()
for line in open(sys.argv[1]):
    if line[:1] != " " or line[1:2] not in ("L", "S", "M"):
        continue
    pages[int(line[3:].split(",")[0], 16) >> 12] += 1
if not pages:
    sys.exit("no data accesses in the trace")
ordered = sorted(pages)
runs, cur = [], [ordered[0]]
for p in ordered[1:]:
    if p == cur[-1] + 1:
        cur.append(p)
    else:
        runs.append(cur)
        cur = [p]
runs.append(cur)
print("distinct data pages", len(pages))
print("runs of adjacent pages (length, count):",
      collections.Counter(len(r) for r in runs).most_common(8))
