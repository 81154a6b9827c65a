#!/usr/bin/env bash
# Alternates HTTP servers for many short rounds and compares their p99: in
# each round every server runs alone, pinned to core 0, under `wrk -t1`
# pinned to core 1 (1 s to warm, then DURATION seconds with --latency), one
# server after the other. A p99 from four long rounds (compare_net.sh) is
# at the mercy of where the host's slow spells fall; many short rounds,
# each server measured next to the others, give a median per server and,
# per round, the ratio of the first server's p99 to each other's.
#
#   benches/alternate_http.sh NAME_A "CMD_A" NAME_B "CMD_B" [NAME "CMD"]...
#
# CMD is a server command that takes `127.0.0.1:PORT` as its last argument,
# e.g. "target/release/deps/net-HASH http" (benches/net.rs) or
# "../shared/peers/net/target/release/http_may".
#
# Knobs (environment): ROUNDS=10 CONNS=1000 DURATION=3 PORT_BASE=24000
#   (round r, server s listens on PORT_BASE + r * 10 + s).
# Prints `ROUND r NAME rps p99_ms` per run, then per server `ALT NAME n=
# rate_median= p99_median= p99_min= p99_max=`, and for each server after
# the first `ALT p99 A/NAME median= A_lower=k/n` over the rounds.
# Every server is started here, remembered by PID and stopped by it; every
# wait is bounded.
set -u
cd "$(dirname "$0")/.."
. benches/net_lib.sh

[ $# -ge 4 ] && [ $(($# % 2)) -eq 0 ] || { sed -n '10,14p' "$0" >&2; exit 2; }
NAMES=() CMDS=()
while [ $# -gt 0 ]; do NAMES+=("$1"); CMDS+=("$2"); shift 2; done
ROUNDS=${ROUNDS:-10}
CONNS=${CONNS:-1000}
DURATION=${DURATION:-3}
PORT_BASE=${PORT_BASE:-24000}
command -v wrk >/dev/null || { echo "wrk missing: run ../shared/peers/setup.sh" >&2; exit 1; }
OUT=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && stop_pid "$SERVER"; rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM

limit=$((DURATION + 60))
echo "ALTERNATE http conns=$CONNS duration=$DURATION rounds=$ROUNDS servers=${NAMES[*]}"
for r in $(seq "$ROUNDS"); do
    for s in "${!NAMES[@]}"; do
        port=$((PORT_BASE + r * 10 + s))
        taskset -c 0 ${CMDS[$s]} "127.0.0.1:$port" >>"$OUT/server.log" 2>&1 &
        SERVER=$!
        if ! wait_listening "$port" "$SERVER"; then
            echo "server '${CMDS[$s]}' did not start: $(tail -n 1 "$OUT/server.log")" >&2
            exit 1
        fi
        timeout "$limit" taskset -c 1 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1
        timeout "$limit" taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            "http://127.0.0.1:$port/" >"$OUT/wrk.txt" 2>&1
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$OUT/wrk.txt")
        p99=$(wrk_ms "$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")")
        stop_pid "$SERVER"
        SERVER=
        echo "ROUND $r ${NAMES[$s]} ${rps:-0} ${p99:-nan}"
    done
done | tee "$OUT/rounds.txt"

python3 - "$OUT/rounds.txt" "${NAMES[@]}" <<'EOF'
import math, statistics as st, sys
names = sys.argv[2:]
runs = {}  # name -> {round: (rps, p99)}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 5 or f[0] != "ROUND":
        continue
    rps, p99 = float(f[3]), float(f[4])
    if rps > 0 and not math.isnan(p99):
        runs.setdefault(f[2], {})[int(f[1])] = (rps, p99)
for n in names:
    r = runs.get(n, {})
    if not r:
        print(f"ALT {n} n=0")
        continue
    rates, p99s = [v[0] for v in r.values()], [v[1] for v in r.values()]
    print(f"ALT {n} n={len(r)} rate_median={st.median(rates):.0f} "
          f"p99_median={st.median(p99s):.3f} p99_min={min(p99s):.3f} p99_max={max(p99s):.3f}")
a = runs.get(names[0], {})
for n in names[1:]:
    o = runs.get(n, {})
    ratios = [a[k][1] / o[k][1] for k in a if k in o and o[k][1] > 0]
    if ratios:
        lower = sum(x < 1 for x in ratios)
        print(f"ALT p99 {names[0]}/{n} median={st.median(ratios):.3f} "
              f"{names[0]}_lower={lower}/{len(ratios)}")
EOF
