#!/usr/bin/env bash
# Runs grove's network servers (benches/net.rs) through the same procedure as
# the peers' run.sh (../shared/peers/net), then runs the peers themselves, so
# one invocation measures both sides in the same session.
#
#   benches/compare_net.sh                    grove, then the peers
#   PEERS=0 benches/compare_net.sh            grove only
#   RUNS=1 DURATION=2 PEERS=0 benches/compare_net.sh    a quick smoke
#   INTERLEAVE=1 benches/compare_net.sh       RUNS rounds, each one run of
#                                             grove's cases and one of the
#                                             peers' (run.sh with RUNS=1),
#                                             grove first in odd rounds, the
#                                             peers first in even ones;
#                                             medians over the rounds
#
# Workloads, as run.sh (see the peers' README):
#   echo: the peers' target/release/loadgen --addr A --conns C --duration D
#         --warmup W --server-pid PID --spin S, C in ECHO_CONNS
#   http: wrk -t1 -cC -dDs --latency http://A/, C in HTTP_CONNS
# pinned mode: server under `taskset -c 0`, load generator `taskset -c 1`;
# unpinned: no taskset. grove's servers run on a one-worker runtime.
# Prints `RUN <workload> grove <C> <run#> <req_per_s> <p99_ms> key=value...`
# per measured run, then grove's `RESULT <workload> grove <C> <req_per_s>
# <p99_ms>` lines (medians, computed by the peers' summarize.py) and detail
# table, then run.sh's own output for the peers.
#
# Knobs (environment), with run.sh's meaning and defaults unless noted:
#   RUNS=3 DURATION=5 WARMUP=1 WORKLOADS="echo http"
#   MODES=pinned                 (run.sh's default is "pinned unpinned")
#   ECHO_CONNS="1 100 1000" HTTP_CONNS="100 1000"
#   PRIO=normal|fifo SPIN_PINNED=0 FOREIGN_MAX=0.10 MAX_TRIES=2 QUIET_WAIT=5
#   ECHO_SYSTEMS="epoll-mio tokio may go"           peers run by run.sh
#   HTTP_SYSTEMS="tokio-hyper may-minihttp go"      peers run by run.sh
#   PEERS=1                      0: grove only
#   PEERS_DIR=../shared/peers/net                   (relative to the repo root)
#   PORT_BASE=21000              grove's servers use PORT_BASE+1..+899
#                                (run.sh uses 20001..20899)
#   BUILD_TIMEOUT=1800           seconds allowed for building the bench
# grove's raw logs go to target/compare_net/<timestamp>/, the peers' to
# PEERS_DIR/results/<timestamp>/. Every server is started here, remembered by
# PID and killed by that PID; every wait is bounded.
set -u
cd "$(dirname "$0")/.."
. benches/net_lib.sh

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}          # seconds, integer (wrk -d needs one)
WARMUP=${WARMUP:-1}              # echo only: seconds before measuring
MODES=${MODES:-pinned}
WORKLOADS=${WORKLOADS:-"echo http"}
ECHO_CONNS=${ECHO_CONNS:-"1 100 1000"}
HTTP_CONNS=${HTTP_CONNS:-"100 1000"}
ECHO_SYSTEMS=${ECHO_SYSTEMS:-"epoll-mio tokio may go"}
HTTP_SYSTEMS=${HTTP_SYSTEMS:-"tokio-hyper may-minihttp go"}
PRIO=${PRIO:-normal}
SPIN_PINNED=${SPIN_PINNED:-0}
FOREIGN_MAX=${FOREIGN_MAX:-0.10}
MAX_TRIES=${MAX_TRIES:-2}
QUIET_WAIT=${QUIET_WAIT:-5}
PEERS=${PEERS:-1}
PEERS_DIR=${PEERS_DIR:-../shared/peers/net}
PORT_BASE=${PORT_BASE:-21000}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
SYSTEM=grove

case "$PRIO" in
    fifo) RTPRE="chrt -f 10" ;;
    normal) RTPRE="" ;;
    *) echo "PRIO must be fifo or normal" >&2; exit 2 ;;
esac
[ "$PRIO" = fifo ] && SPIN_PINNED=0

PEERS_DIR=$(cd "$PEERS_DIR" 2>/dev/null && pwd) || { echo "peers not found (PEERS_DIR)" >&2; exit 1; }
T=$PEERS_DIR/target/release
PY=$(python3 -c 'import sys; print(sys.executable)')
HZ=$(getconf CLK_TCK)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

[ -x "$T/loadgen" ] || { echo "missing $T/loadgen: run $PEERS_DIR/setup.sh first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: run $PEERS_DIR/setup.sh first" >&2; exit 1; }

# --- build grove's servers (release; the bench profile) --------------------
timeout "$BUILD_TIMEOUT" cargo bench --bench net --no-run >/dev/null 2>&1 || {
    echo "cannot build benches/net.rs" >&2
    exit 1
}
BIN=$(timeout "$BUILD_TIMEOUT" cargo bench --bench net --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$BIN" ] || { echo "no net bench binary" >&2; exit 1; }

OUT=target/compare_net/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "kernel: $(uname -r)  cpus: $(nproc)  model: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
    echo "grove: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo '+changes')  binary: $BIN"
    echo "rustc: $(rustc --version 2>/dev/null)"
    echo "wrk: $(wrk -v 2>&1 | head -1)"
    echo "RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP MODES=$MODES PRIO=$PRIO SPIN_PINNED=$SPIN_PINNED QUIET_WAIT=$QUIET_WAIT FOREIGN_MAX=$FOREIGN_MAX"
    echo "sched_rt_runtime_us: $(cat /proc/sys/kernel/sched_rt_runtime_us 2>/dev/null)"
} | tee "$OUT/env.txt"

# --- run.sh's procedure, for grove ------------------------------------------
SERVER_PID=""
PORT=$PORT_BASE

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

start_server() { # mode workload -> sets SERVER_PID, PORT
    PORT=$((PORT + 1))
    [ $PORT -lt $((PORT_BASE + 900)) ] || PORT=$((PORT_BASE + 1))
    local cmd="$BIN $2 127.0.0.1:$PORT"
    echo "== $1 $2 $SYSTEM port $PORT" >>"$OUT/server.log"
    if [ "$1" = pinned ]; then
        $RTPRE taskset -c 0 $cmd >>"$OUT/server.log" 2>&1 &
    else
        $RTPRE $cmd >>"$OUT/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    if wait_listening "$PORT" "$SERVER_PID"; then
        sleep 0.2
        return 0
    fi
    echo "server $2/$SYSTEM did not start: $(tail -n 1 "$OUT/server.log")" >&2
    stop_server
    return 1
}

runq_wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f", s }'; }

record() { # workload system C run rps p99 extra
    echo "RUN $1 $2 $3 $4 $5 $6 $7"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$OUT/runs.tsv"
}

# CPU (in cores) used by processes outside this script during a window.
cw_begin() { "$PY" "$PEERS_DIR/cpuwatch.py" snap "$OUT/cw.before"; CW_T0=$(date +%s.%N); }
cw_end() {
    local t1
    t1=$(date +%s.%N)
    "$PY" "$PEERS_DIR/cpuwatch.py" snap "$OUT/cw.after"
    FOREIGN=$("$PY" "$PEERS_DIR/cpuwatch.py" diff "$OUT/cw.before" "$OUT/cw.after" $$ \
        "$(awk -v a="$CW_T0" -v b="$t1" 'BEGIN { print b - a }')")
}
is_quiet() { awk -v f="$1" -v m="$FOREIGN_MAX" 'BEGIN { exit !(f != "nan" && f <= m) }'; }
wait_quiet() { # wait (bounded: QUIET_WAIT s) until other processes leave the CPUs alone
    [ "$QUIET_WAIT" -gt 0 ] || return 1
    local i
    for i in $(seq $((QUIET_WAIT * 2))); do
        cw_begin
        sleep 0.5
        cw_end
        is_quiet "$FOREIGN" && return 0
        [ "$i" = 1 ] && echo "# waiting for other load to stop (foreign_cpu=$FOREIGN)"
    done
    echo "# machine still busy after ${QUIET_WAIT}s (foreign_cpu=$FOREIGN); measuring anyway"
    return 1
}

attempt_echo() { # mode C -> R_RPS R_P99 R_EXTRA
    local lg="$RTPRE $T/loadgen" spin=0
    if [ "$1" = pinned ]; then lg="$RTPRE taskset -c 1 $T/loadgen"; spin=$SPIN_PINNED; fi
    R_RPS=nan R_P99=nan R_EXTRA="error=start" FOREIGN=nan
    start_server "$1" echo || return
    local out rc alive=1
    cw_begin
    out=$(timeout $((DURATION + 90)) $lg --addr "127.0.0.1:$PORT" --conns "$2" \
        --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" --spin "$spin" 2>&1)
    rc=$?
    cw_end
    kill -0 "$SERVER_PID" 2>/dev/null || alive=0
    stop_server
    echo "echo-$1 $SYSTEM C=$2 rc=$rc server_alive=$alive foreign_cpu=$FOREIGN $out" >>"$OUT/loadgen.log"
    if [ $rc -ne 0 ] || [ -z "$(kv rps "$out")" ]; then
        R_EXTRA="error=loadgen_rc_$rc server_alive=$alive"
        return
    fi
    R_RPS=$(kv rps "$out")
    R_P99=$(kv p99_ms "$out")
    R_EXTRA="p50_ms=$(kv p50_ms "$out") loadgen_cpu=$(kv loadgen_cpu "$out") loadgen_busy=$(kv loadgen_busy "$out") server_cpu=$(kv server_cpu "$out") server_wait=$(kv server_wait "$out") errors=$(kv errors "$out") connect_failures=$(kv connect_failures "$out") never_completed=$(kv never_completed "$out") server_alive=$alive"
}

attempt_http() { # mode C -> R_RPS R_P99 R_EXTRA
    local wrk="$RTPRE wrk"
    [ "$1" = pinned ] && wrk="$RTPRE taskset -c 1 wrk"
    R_RPS=nan R_P99=nan R_EXTRA="error=start" FOREIGN=nan
    start_server "$1" http || return
    local c0 c1 q0 q1 out t alive=1
    c0=$(cpu_ticks "$SERVER_PID")
    q0=$(runq_wait_ns "$SERVER_PID")
    cw_begin
    t=$({ TIMEFORMAT='%U %S %R'; time timeout $((DURATION + 30)) $wrk -t1 -c"$2" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$PORT/" >"$OUT/wrk.tmp" 2>&1; } 2>&1)
    cw_end
    c1=$(cpu_ticks "$SERVER_PID")
    q1=$(runq_wait_ns "$SERVER_PID")
    out=$(cat "$OUT/wrk.tmp")
    kill -0 "$SERVER_PID" 2>/dev/null || alive=0
    stop_server
    { echo "== http-$1 $SYSTEM C=$2 time(user sys real)=$t server_alive=$alive foreign_cpu=$FOREIGN"; echo "$out"; } >>"$OUT/wrk.log"
    local wall wcpu scpu swait errs non2xx
    R_RPS=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
    R_P99=$(wrk_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
    wall=$(echo "$t" | awk '{print $3}')
    wcpu=$(echo "$t" | awk '{ if ($3 > 0) printf "%.2f", ($1 + $2) / $3; else print "nan" }')
    if [ -n "$c0" ] && [ -n "$c1" ]; then
        scpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v w="$wall" 'BEGIN { printf "%.2f", (b - a) / hz / w }')
    else
        scpu=nan
    fi
    swait=$(awk -v a="${q0:-0}" -v b="${q1:-0}" -v w="$wall" 'BEGIN { if (w > 0) printf "%.3f", (b - a) / 1e9 / w; else print "nan" }')
    errs=$(echo "$out" | sed -n 's/^ *Socket errors: //p' | tr -d ' ,')
    non2xx=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
    [ -n "$R_RPS" ] || R_RPS=nan
    [ -n "$R_P99" ] || R_P99=nan
    R_EXTRA="p50_ms=$(wrk_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')") wrk_cpu=$wcpu server_cpu=$scpu server_wait=$swait socket_errors=${errs:-none} non2xx=${non2xx:-0} server_alive=$alive"
}

measure() { # echo|http mode C run
    local try busy
    for try in $(seq "$MAX_TRIES"); do
        busy=0
        wait_quiet || busy=1
        "attempt_$1" "$2" "$3"
        is_quiet "$FOREIGN" && break
        [ "$QUIET_WAIT" -gt 0 ] || break # not gating: foreign_cpu is only recorded
        echo "# noisy: $1-$2 $SYSTEM C=$3 foreign_cpu=$FOREIGN (try $try/$MAX_TRIES)"
        [ $busy = 1 ] && break # persistently busy: a retry would not help
    done
    record "$1-$2" "$SYSTEM" "$3" "$4" "$R_RPS" "$R_P99" "$R_EXTRA foreign_cpu=$FOREIGN tries=$try"
}

grove_round() { # run: one measurement of each of grove's cases
    local wl mode c
    for wl in $WORKLOADS; do
        for mode in $MODES; do
            if [ "$wl" = echo ]; then
                for c in $ECHO_CONNS; do measure echo "$mode" "$c" "$1"; done
            else
                for c in $HTTP_CONNS; do measure http "$mode" "$c" "$1"; done
            fi
        done
    done
}

summarize_grove() {
    rm -f "$OUT/wrk.tmp" "$OUT/cw.before" "$OUT/cw.after"
    if [ -s "$OUT/runs.tsv" ]; then
        FOREIGN_MAX=$FOREIGN_MAX "$PY" "$PEERS_DIR/summarize.py" "$OUT/runs.tsv" | tee "$OUT/summary.txt"
    fi
    echo "raw logs (grove): $OUT/"
}

peers_run() { # runs: the peers, by their own run.sh
    RUNS=$1 DURATION=$DURATION WARMUP=$WARMUP MODES=$MODES WORKLOADS=$WORKLOADS \
        ECHO_SYSTEMS=$ECHO_SYSTEMS ECHO_CONNS=$ECHO_CONNS \
        HTTP_SYSTEMS=$HTTP_SYSTEMS HTTP_CONNS=$HTTP_CONNS \
        PRIO=$PRIO SPIN_PINNED=$SPIN_PINNED FOREIGN_MAX=$FOREIGN_MAX \
        MAX_TRIES=$MAX_TRIES QUIET_WAIT=$QUIET_WAIT \
        "$PEERS_DIR/run.sh"
}

if [ "${INTERLEAVE:-0}" = 1 ]; then
    # A slow spell of the machine then hits grove and the peers alike,
    # instead of one whole side of the comparison; and the side that goes
    # first alternates between rounds, since the first runs of a round
    # take whatever speed the machine has after the one before.
    PEER_TSVS=()
    peers_round() { # run: one run.sh run of the peers, its runs.tsv kept
        echo "# round $1/$RUNS: peers ($PEERS_DIR/run.sh, RUNS=1)"
        before=$(cd "$PEERS_DIR" && ls -d results/*/ 2>/dev/null | sort | tail -n 1)
        peers_run 1 | grep -v '^RESULT'
        after=$(cd "$PEERS_DIR" && ls -d results/*/ 2>/dev/null | sort | tail -n 1)
        if [ -n "$after" ] && [ "$after" != "$before" ] && [ -s "$PEERS_DIR/$after/runs.tsv" ]; then
            PEER_TSVS+=("$PEERS_DIR/$after/runs.tsv")
        else
            echo "# round $1: the peers' run left no runs.tsv" >&2
        fi
    }
    for run in $(seq "$RUNS"); do
        if [ "$PEERS" != 0 ] && [ $((run % 2)) = 0 ]; then
            peers_round "$run"
            echo "# round $run/$RUNS: grove"
            grove_round "$run"
        else
            echo "# round $run/$RUNS: grove"
            grove_round "$run"
            [ "$PEERS" = 0 ] || peers_round "$run"
        fi
    done
    summarize_grove
    if [ ${#PEER_TSVS[@]} -gt 0 ]; then
        echo
        echo "# peers: medians over ${#PEER_TSVS[@]} rounds"
        FOREIGN_MAX=$FOREIGN_MAX "$PY" "$PEERS_DIR/summarize.py" "${PEER_TSVS[@]}"
    fi
    exit 0
fi

for run in $(seq "$RUNS"); do
    grove_round "$run"
done
summarize_grove

# --- the peers, by their own run.sh -----------------------------------------
[ "$PEERS" = 0 ] && exit 0
echo
echo "# peers: $PEERS_DIR/run.sh"
peers_run "$RUNS"
