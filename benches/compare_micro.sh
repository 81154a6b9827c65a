#!/usr/bin/env bash
# Runs grove's micro benchmarks (benches/micro.rs: green threads and
# queues; benches/actors.rs: actors and mailboxes) and the peers'
# (../shared/peers/micro) in one session, so the figures are comparable,
# and prints the RESULT lines.
#
#   benches/compare_micro.sh                  grove, then every peer
#   benches/compare_micro.sh go tokio         grove, then only these peers
#   REPS=5 benches/compare_micro.sh           repetitions per case (default 3):
#                                             the median, then a '#' min/max line
#   PEERS_DIR=/path/to/peers/micro            where the peers live
#   INTERLEAVE=1 benches/compare_micro.sh tokio go
#                                             per case, each repetition runs
#                                             every system once, in turn
#   ONLY='^spawn' INTERLEAVE=1 benches/compare_micro.sh tokio go
#                                             only the cases matching a regex
#                                             (the peers' too when interleaved)
#
# Peers must be built first (../shared/peers/setup.sh). The gevent
# 1,000,000-node ring is skipped (SKIP_SLOW=1) unless SKIP_SLOW=0 is given.
set -u
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
TIMEOUT=${TIMEOUT:-120}
PEERS_DIR=${PEERS_DIR:-../shared/peers/micro}

bench_bin() {
    cargo bench --bench "$1" --no-run >/dev/null 2>&1 || {
        echo "cannot build benches/$1.rs" >&2
        exit 1
    }
    cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
BIN=$(bench_bin micro)
ABIN=$(bench_bin actors)
[ -x "$BIN" ] || { echo "no micro bench binary" >&2; exit 1; }
[ -x "$ABIN" ] || { echo "no actors bench binary" >&2; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit; if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "# machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), vm.max_map_count=$(cat /proc/sys/vm/max_map_count)"
echo "# date: $(date -u +%Y-%m-%dT%H:%MZ), REPS=$REPS"

# The same cases as the peers' run.sh; 30,000 variants where 100,000 live
# guard-paged stacks need more than vm.max_map_count allows (as for may).
CASES=(
    "spawn 1" "spawn_mt 2" "pingpong 1" "pingpong_mt 2" "ring 1" "ring_mt 2"
    "ring_build 1" "ring_mem 1 100000" "ring_mem 1 1000000" "ring_mem 1 30000" "idle 1" "idle 1 30000"
)
# grove-actors: the same workloads with actors and mailboxes.
ACTOR_CASES=(
    "pingpong 1" "pingpong_mt 2" "ring 1" "ring_mt 2" "ring_build 1"
    "ring_mem 1 100000" "ring_mem 1 1000000" "ring_mem 1 30000"
)
# ONLY=<regex>: just the cases it matches (ONLY='^spawn' for the two spawn
# cases).
if [ -n "${ONLY:-}" ]; then
    keep() { local c; for c in "$@"; do [[ $c =~ $ONLY ]] && printf '%s\n' "$c"; done; }
    mapfile -t CASES < <(keep "${CASES[@]}")
    mapfile -t ACTOR_CASES < <(keep "${ACTOR_CASES[@]}")
fi
run_cases() { # <binary> <cases...>
    local bin=$1
    shift
    for c in "$@"; do
        run_case "$bin" "$c"
    done
}
run_once() { # <dir> <case> <name> <command...>: sets `line` to its RESULT line, or prints FAILED and empties it
    local dir=$1 c=$2 name=$3 out rc
    shift 3
    # shellcheck disable=SC2068
    out=$(cd "$dir" && timeout "$TIMEOUT" $@ </dev/null 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
        echo "FAILED $c $name exit=$rc: $(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1)"
        line=""
    fi
}
run_case() { # <binary> <case>
    local BIN=$1 c=$2
    vals=""
    line=""
    for ((r = 1; r <= REPS; r++)); do
        # shellcheck disable=SC2086
        run_once . "$c" "$(basename "$BIN")" "$BIN" $c
        [ -n "$line" ] || break
        read -r _ label system val unit <<<"$line"
        vals+="$val"$'\n'
    done
    [ -n "$line" ] || return 0
    echo "RESULT $label $system $(printf '%s' "$vals" | median) $unit"
    echo "#   runs=$REPS min=$(printf '%s' "$vals" | sort -g | head -n 1) max=$(printf '%s' "$vals" | sort -g | tail -n 1)  command: $BIN $c"
}

# INTERLEAVE=1: for each case, repetition r runs grove, grove-actors (where
# the case exists) and each peer once, in turn (starting one system later
# each repetition), before repetition r+1. On a
# machine whose speed drifts over minutes this is the only fair order: a
# slow spell hits every system, not the one that happened to be running.
if [ "${INTERLEAVE:-0}" = 1 ]; then
    [ -x "$PEERS_DIR/run.sh" ] || { echo "# peers not found at $PEERS_DIR" >&2; exit 1; }
    mapfile -t PEER_LINES < <(SKIP_SLOW=${SKIP_SLOW:-1} "$PEERS_DIR/run.sh" --list "$@")
    is_actor_case() { local a; for a in "${ACTOR_CASES[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }
    for c in "${CASES[@]}"; do
        systems=(grove)
        cmds=("$BIN $c")
        dirs=(.)
        if is_actor_case "$c"; then systems+=(grove-actors); cmds+=("$ABIN $c"); dirs+=(.); fi
        for pl in "${PEER_LINES[@]}"; do
            case "$pl" in *" $c") systems+=("${pl%%:*}"); cmds+=("${pl#*: }"); dirs+=("$PEERS_DIR") ;; esac
        done
        declare -A vals=() label=() unit=() failed=()
        for ((r = 1; r <= REPS; r++)); do
            for ((j = 0; j < ${#systems[@]}; j++)); do
                # Rotated: repetition r starts with system r-1, so that no
                # system is always the one that runs right after another
                # case's last (the first of a pair of spawn runs was the
                # slower in 5 of 6 pairs, whichever build it was).
                i=$(( (j + r - 1) % ${#systems[@]} ))
                sys=${systems[$i]}
                [ -n "${failed[$sys]:-}" ] && continue
                # shellcheck disable=SC2086
                run_once "${dirs[$i]}" "$c" "$sys" ${cmds[$i]}
                if [ -z "$line" ]; then
                    failed[$sys]=1
                    continue
                fi
                read -r _ l _ v u <<<"$line"
                label[$sys]=$l unit[$sys]=$u
                vals[$sys]+="$v"$'\n'
            done
        done
        for sys in "${systems[@]}"; do
            [ -n "${failed[$sys]:-}" ] && continue
            v=${vals[$sys]}
            echo "RESULT ${label[$sys]} $sys $(printf '%s' "$v" | median) ${unit[$sys]}"
            echo "#   runs=$REPS min=$(printf '%s' "$v" | sort -g | head -n 1) max=$(printf '%s' "$v" | sort -g | tail -n 1) all=$(printf '%s' "$v" | tr '\n' ' ')"
        done
        unset vals label unit failed
    done
    exit 0
fi

run_cases "$BIN" "${CASES[@]}"
run_cases "$ABIN" "${ACTOR_CASES[@]}"

if [ -x "$PEERS_DIR/run.sh" ]; then
    REPS=$REPS TIMEOUT=$TIMEOUT SKIP_SLOW=${SKIP_SLOW:-1} "$PEERS_DIR/run.sh" "$@"
else
    echo "# peers not found at $PEERS_DIR; run ../shared/peers/setup.sh" >&2
fi
