#!/bin/bash
# How many second-level TLB misses a round trip of an echo server costs,
# from its instruction stream: the server runs under valgrind's lackey
# (every instruction fetch and data access), the trace feeds tlbsim.c
# (set-associative LRU TLBs of 1,024–4,096 entries, 16 ways, 4 KiB
# pages), and two runs of different length are subtracted, so start-up
# and first touches drop out. Kernel accesses are not in the trace.
#
#   benches/tlb/trace.sh SERVER_CMD...     # e.g. target/release/deps/net-HASH echo
#
# The server is started as `SERVER_CMD... 127.0.0.1:PORT`; the load is the
# peers' loadgen (../shared/peers/net) with 1,000 connections. Needs
# valgrind and a C compiler. Not part of CI: a tool for docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LOADGEN=${LOADGEN:-$here/../../../shared/peers/net/target/release/loadgen}
CONNS=${CONNS:-1000}
work=$(mktemp -d)
cc -O2 -o "$work/tlbsim" "$here/tlbsim.c"
measure() {
  local d=$1
  local port=$((24000 + RANDOM % 1000)) s
  ( taskset -c 0 valgrind --tool=lackey --trace-mem=yes "${CMD[@]}" 127.0.0.1:$port 2>&1 >/dev/null \
      | tee >("$work/tlbsim" 1024 16 > "$work/s1") >("$work/tlbsim" 3072 16 > "$work/s3") \
            >("$work/tlbsim" 4096 16 > "$work/s4") >(tail -n 4000000 > "$work/tail.$d") \
      | "$work/tlbsim" 2048 16 > "$work/s2" ) 2>/dev/null &
  sleep 8
  taskset -c 1 "$LOADGEN" --addr 127.0.0.1:$port --conns "$CONNS" --duration "$d" --warmup 0 \
    | grep -o 'roundtrips=[0-9]*' | cut -d= -f2 > "$work/rt.$d"
  pkill -f "lackey.*127.0.0.1:$port" || true
  wait || true
  sleep 2
  for s in 1 2 3 4; do grep -o ' misses=[0-9]*' "$work/s$s" | cut -d= -f2 > "$work/m$s.$d"; done
}
CMD=("$@")
measure 4
measure 12
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
r = lambda f: int(open(f"{w}/{f}").read().split()[0])
rts = r("rt.12") - r("rt.4")
for s, n in ((1, 1024), (2, 2048), (3, 3072), (4, 4096)):
    print(f"{n}-entry TLB: {(r(f'm{s}.12') - r(f'm{s}.4')) / rts:.3f} misses a round trip "
          f"({r(f'm{s}.12')} distinct-page first touches and misses in all)")
PY
python3 "$here/pages.py" "$work/tail.12"
rm -rf "$work"
