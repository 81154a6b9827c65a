#!/usr/bin/env bash
# Compares two servers by running them *at the same time* on one core:
# both servers under `taskset -c 0`, one load generator for each under
# `taskset -c 1` (the peers' loadgen for echo, `wrk -t1` for http), started
# together. The scheduler gives the two servers
# equal shares of core 0, so the ratio of their round trips per second in
# one repetition is the ratio of their costs per round trip, and whatever
# the host does to the core in that second (this VM's speed moves by
# ±10-30 % within seconds, without showing as steal time) it does to
# both. Run one after the other, the same two servers differ by 10 % from
# one pair of runs to the next; side by side, by about 1 %.
#
#   benches/share_core.sh NAME_A "CMD_A" NAME_B "CMD_B"
#
# CMD is a server command that takes `127.0.0.1:PORT` as its last
# argument, e.g. "target/release/deps/net-HASH echo" (benches/net.rs) or
# "../shared/peers/net/target/release/echo_tokio".
#
# Knobs (environment): WORKLOAD=echo|http REPS=10 CONNS=1000 DURATION=2
#   WARMUP=0.5 (echo only; wrk has none, and DURATION must be an integer)
#   PEERS_DIR=../shared/peers/net (its target/release/loadgen)
#   PORT_BASE=22000 (the servers listen on PORT_BASE+1 and +2)
# Prints per repetition `REP i A_rps B_rps A_cpu B_cpu` (cpu: the share of
# core 0 each server had over its measured window: loadgen's own figure
# for echo; for http the server's CPU ticks across the two `wrk` runs over
# their wall time), then `SHARE rate B/A` with
# the mean, median and standard error of B's rate over A's, over the
# repetitions in which both servers had 0.45-0.55 of the core (both
# saturated, and the two windows aligned), and `SHARE rate_per_cpu B/A`,
# the same for requests per CPU-second, over every repetition: the one to
# read when the load generators, not the servers, set the rate (http at
# C=100). Repetitions where a client failed are left out of both.
#
# Caveat, and why this complements compare_net.sh rather than replacing
# it: two servers sharing a core also share its caches and TLB, so each
# runs with about half of them; a difference that only shows when a server
# has the core to itself can hide here. Every server is started here,
# remembered by PID and killed by that PID; every wait is bounded.
set -u
cd "$(dirname "$0")/.."
. benches/net_lib.sh

[ $# -eq 4 ] || { sed -n '13,17p' "$0" >&2; exit 2; }
NAME_A=$1 CMD_A=$2 NAME_B=$3 CMD_B=$4
WORKLOAD=${WORKLOAD:-echo}
REPS=${REPS:-10}
CONNS=${CONNS:-1000}
DURATION=${DURATION:-2}
WARMUP=${WARMUP:-0.5}
PEERS_DIR=${PEERS_DIR:-../shared/peers/net}
PORT_BASE=${PORT_BASE:-22000}
LG=$PEERS_DIR/target/release/loadgen
case $WORKLOAD in echo|http) ;; *) echo "WORKLOAD is echo or http" >&2; exit 2 ;; esac
[ "$WORKLOAD" = echo ] || command -v wrk >/dev/null || { echo "wrk missing: run $PEERS_DIR/../setup.sh" >&2; exit 1; }
[ -x "$LG" ] || { echo "no loadgen at $LG: run $PEERS_DIR/../setup.sh" >&2; exit 1; }
OUT=$(mktemp -d)

PIDS=()
stop_all() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
}
trap 'stop_all; rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM

start() { # cmd port -> sets SERVER (its pid)
    taskset -c 0 $1 "127.0.0.1:$2" >>"$OUT/server.log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    wait_listening "$2" "$SERVER" && return 0
    echo "server '$1' did not start: $(tail -n 1 "$OUT/server.log")" >&2
    exit 1
}

start "$CMD_A" $((PORT_BASE + 1)); PID_A=$SERVER
start "$CMD_B" $((PORT_BASE + 2)); PID_B=$SERVER
echo "SHARE_CORE $WORKLOAD A=$NAME_A B=$NAME_B conns=$CONNS duration=$DURATION reps=$REPS"

limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 60 }')
client() { # port server_pid out
    if [ "$WORKLOAD" = http ]; then
        timeout "$limit" taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$1/" >"$3" 2>&1
    else
        timeout "$limit" taskset -c 1 "$LG" --addr "127.0.0.1:$1" --conns "$CONNS" \
            --duration "$DURATION" --warmup "$WARMUP" --server-pid "$2" >"$3" 2>&1
    fi
}
result() { # out ticks_before ticks_after wall_before wall_after -> "rps cpu"
    if [ "$WORKLOAD" = http ]; then
        local rps
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$1")
        echo "${rps:-0} $(cpu_share "$2" "$3" "$4" "$5")"
    else
        local l
        l=$(tail -n 1 "$1")
        echo "$(kv rps "$l") $(kv server_cpu "$l")"
    fi
}
for i in $(seq "$REPS"); do
    ta0=$(cpu_ticks "$PID_A") tb0=$(cpu_ticks "$PID_B") t0=$(date +%s.%N)
    client $((PORT_BASE + 1)) "$PID_A" "$OUT/a.txt" &
    la=$!
    client $((PORT_BASE + 2)) "$PID_B" "$OUT/b.txt" &
    lb=$!
    wait "$la" "$lb"
    ta1=$(cpu_ticks "$PID_A") tb1=$(cpu_ticks "$PID_B") t1=$(date +%s.%N)
    read -r ra ca <<<"$(result "$OUT/a.txt" "$ta0" "$ta1" "$t0" "$t1")"
    read -r rb cb <<<"$(result "$OUT/b.txt" "$tb0" "$tb1" "$t0" "$t1")"
    echo "REP $i $ra $rb $ca $cb"
done | tee "$OUT/reps.txt"

python3 - "$OUT/reps.txt" "$NAME_A" "$NAME_B" <<'EOF'
import statistics as st, sys
even, per_cpu, a, b = [], [], sys.argv[2], sys.argv[3]
for line in open(sys.argv[1]):
    f = line.split()
    try:
        ra, rb, ca, cb = map(float, f[2:6])
    except (ValueError, IndexError):
        continue
    if ra > 0 and rb > 0 and ca > 0 and cb > 0:
        per_cpu.append((rb / cb) / (ra / ca))
        if 0.45 <= ca <= 0.55 and 0.45 <= cb <= 0.55:
            even.append(rb / ra)
def show(what, rows):
    if len(rows) < 2:
        print(f"SHARE {what} {b}/{a} n={len(rows)}: too few repetitions")
        return
    se = st.stdev(rows) / len(rows) ** 0.5
    won = sum(r > 1 for r in rows)
    print(f"SHARE {what} {b}/{a} n={len(rows)} mean={st.mean(rows):.3f} "
          f"median={st.median(rows):.3f} se={se:.3f} {b}_ahead={won}/{len(rows)}")
show("rate", even)
show("rate_per_cpu", per_cpu)
EOF
