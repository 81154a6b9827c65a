#!/usr/bin/env bash
# Alternates servers for many short rounds and compares them: in each
# round every server runs alone, pinned to core 0, under one load
# generator pinned to core 1, one server after the other (the order
# rotating from round to round). A median of four long rounds
# (compare_net.sh) is at the mercy of where the host's slow spells fall;
# many short rounds, each server measured next to the others, give a
# median per server and, per round, the ratio of the first server's
# figures to each other's.
#
#   benches/alternate_net.sh NAME_A "CMD_A" NAME_B "CMD_B" [NAME "CMD"]...
#
# CMD is a server command that takes `127.0.0.1:PORT` as its last argument,
# e.g. "target/release/deps/net-HASH http" (benches/net.rs) or
# "../shared/peers/net/target/release/http_may".
#
# Knobs (environment): WORKLOAD=http|echo ROUNDS=10 CONNS=1000 DURATION=3
#   PEERS_DIR=../shared/peers/net (its target/release/loadgen, for echo)
#   PORT_BASE=24000 (round r, server s listens on PORT_BASE + r * 10 + s).
# http: `wrk -t1 -cCONNS`, 1 s to warm, then DURATION s with --latency.
# echo: the peers' `loadgen --conns CONNS --warmup 1 --duration DURATION`.
# Prints `ROUND r NAME rate p99_ms cpu` per run (cpu: the share of core 0
# the server used over the measured window: loadgen's `server_cpu` for
# echo, the server's CPU ticks across the measured `wrk` run for http),
# then per server `ALT NAME n= rate_median= p99_median= p99_min=
# p99_max= cpu_median=`, and for each server after the first `ALT rate
# A/NAME median= A_ahead=k/n`, `ALT rate_per_cpu A/NAME median=
# A_ahead=k/n` (requests per CPU-second: the one to read when the load
# generator, not the server, sets the rate) and `ALT p99 A/NAME median=
# A_lower=k/n` over the rounds.
# Every server is started here, remembered by PID and stopped by it; every
# wait is bounded.
set -u
cd "$(dirname "$0")/.."
. benches/net_lib.sh

[ $# -ge 4 ] && [ $(($# % 2)) -eq 0 ] || { sed -n '11,15p' "$0" >&2; exit 2; }
NAMES=() CMDS=()
while [ $# -gt 0 ]; do NAMES+=("$1"); CMDS+=("$2"); shift 2; done
WORKLOAD=${WORKLOAD:-http}
ROUNDS=${ROUNDS:-10}
CONNS=${CONNS:-1000}
DURATION=${DURATION:-3}
PORT_BASE=${PORT_BASE:-24000}
PEERS_DIR=${PEERS_DIR:-../shared/peers/net}
LG=$PEERS_DIR/target/release/loadgen
case $WORKLOAD in
    http) command -v wrk >/dev/null || { echo "wrk missing: run ../shared/peers/setup.sh" >&2; exit 1; } ;;
    echo) [ -x "$LG" ] || { echo "no loadgen at $LG: run $PEERS_DIR/../setup.sh" >&2; exit 1; } ;;
    *) echo "WORKLOAD is http or echo" >&2; exit 2 ;;
esac
OUT=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && stop_pid "$SERVER"; rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM

limit=$((DURATION + 60))
# One measured run of the load against server `pid` on `port`: prints
# "rate p99_ms cpu".
measure() {
    local port=$1 pid=$2
    if [ "$WORKLOAD" = echo ]; then
        local line
        line=$(timeout "$limit" taskset -c 1 "$LG" --addr "127.0.0.1:$port" --conns "$CONNS" \
            --warmup 1 --duration "$DURATION" --server-pid "$pid" 2>&1 | tail -n 1)
        echo "$(kv rps "$line") $(kv p99_ms "$line") $(kv server_cpu "$line")"
    else
        timeout "$limit" taskset -c 1 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1
        local t0 t1 w0 w1
        t0=$(cpu_ticks "$pid") w0=$(date +%s.%N)
        timeout "$limit" taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            "http://127.0.0.1:$port/" >"$OUT/wrk.txt" 2>&1
        t1=$(cpu_ticks "$pid") w1=$(date +%s.%N)
        echo "$(awk '/^Requests\/sec:/ {print $2}' "$OUT/wrk.txt") $(wrk_ms "$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")")" \
            "$(cpu_share "$t0" "$t1" "$w0" "$w1")"
    fi
}
n=${#NAMES[@]}
echo "ALTERNATE $WORKLOAD conns=$CONNS duration=$DURATION rounds=$ROUNDS servers=${NAMES[*]}"
for r in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
        s=$(((i + r - 1) % n))
        port=$((PORT_BASE + r * 10 + s))
        taskset -c 0 ${CMDS[$s]} "127.0.0.1:$port" >>"$OUT/server.log" 2>&1 &
        SERVER=$!
        if ! wait_listening "$port" "$SERVER"; then
            echo "server '${CMDS[$s]}' did not start: $(tail -n 1 "$OUT/server.log")" >&2
            exit 1
        fi
        read -r rate p99 cpu <<<"$(measure "$port" "$SERVER")"
        stop_pid "$SERVER"
        SERVER=
        echo "ROUND $r ${NAMES[$s]} ${rate:-0} ${p99:-nan} ${cpu:-na}"
    done
done | tee "$OUT/rounds.txt"

python3 - "$OUT/rounds.txt" "${NAMES[@]}" <<'EOF'
import math, statistics as st, sys
names = sys.argv[2:]
runs = {}  # name -> {round: (rps, p99, cpu or nan)}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 6 or f[0] != "ROUND":
        continue
    rps, p99 = float(f[3]), float(f[4])
    cpu = float(f[5]) if f[5] not in ("na", "nan") else math.nan
    if rps > 0 and not math.isnan(p99):
        runs.setdefault(f[2], {})[int(f[1])] = (rps, p99, cpu)
for n in names:
    r = runs.get(n, {})
    if not r:
        print(f"ALT {n} n=0")
        continue
    rates, p99s = [v[0] for v in r.values()], [v[1] for v in r.values()]
    cpus = [v[2] for v in r.values() if v[2] > 0]
    cpu = f"{st.median(cpus):.3f}" if cpus else "na"
    print(f"ALT {n} n={len(r)} rate_median={st.median(rates):.0f} "
          f"p99_median={st.median(p99s):.3f} p99_min={min(p99s):.3f} p99_max={max(p99s):.3f} "
          f"cpu_median={cpu}")
a = runs.get(names[0], {})
for n in names[1:]:
    o = runs.get(n, {})
    rates = [a[k][0] / o[k][0] for k in a if k in o]
    if rates:
        ahead = sum(x > 1 for x in rates)
        print(f"ALT rate {names[0]}/{n} median={st.median(rates):.3f} "
              f"{names[0]}_ahead={ahead}/{len(rates)}")
    per_cpu = [(a[k][0] / a[k][2]) / (o[k][0] / o[k][2]) for k in a
               if k in o and a[k][2] > 0 and o[k][2] > 0]
    if per_cpu:
        ahead = sum(x > 1 for x in per_cpu)
        print(f"ALT rate_per_cpu {names[0]}/{n} median={st.median(per_cpu):.3f} "
              f"{names[0]}_ahead={ahead}/{len(per_cpu)}")
    ratios = [a[k][1] / o[k][1] for k in a if k in o and o[k][1] > 0]
    if ratios:
        lower = sum(x < 1 for x in ratios)
        print(f"ALT p99 {names[0]}/{n} median={st.median(ratios):.3f} "
              f"{names[0]}_lower={lower}/{len(ratios)}")
EOF
