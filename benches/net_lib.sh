# Shell helpers shared by compare_net.sh, share_core.sh and
# alternate_net.sh (sourced, not run): starting and stopping a server by
# PID, its CPU time, reading `key=value` output and `wrk` latencies.
# Every wait here is bounded.

# The value of `key` in a line of `key=value` words: kv KEY TEXT.
kv() {
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

# User + system CPU ticks (CLK_TCK) a process has used: cpu_ticks PID.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }

CLK_TCK=$(getconf CLK_TCK)
# The share of a core a process used between two readings of cpu_ticks
# and of `date +%s.%N`: cpu_share TICKS0 TICKS1 WALL0 WALL1 (three
# decimals; `na` if a reading is missing or no time passed).
cpu_share() {
    awk -v a="$1" -v b="$2" -v u="$3" -v v="$4" -v hz="$CLK_TCK" \
        'BEGIN { if (a != "" && b != "" && v > u) printf "%.3f", (b - a) / hz / (v - u); else print "na" }'
}

# A `wrk` latency figure in milliseconds: wrk_ms "1.23ms" / "850.00us" /
# "1.02s" / "1.5m" (nan for anything else).
wrk_ms() {
    echo "$1" | awk '/us$/ {sub("us","");print $0/1000;next} /ms$/ {sub("ms","");print $0+0;next} /m$/ {sub("m","");print $0*60000;next} /s$/ {sub("s","");print $0*1000;next} {print "nan"}'
}

# Waits (up to 10 s) for a server just started as PID to accept on
# 127.0.0.1:PORT: wait_listening PORT PID. Fails if it exits first or
# never accepts.
wait_listening() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Stops a child process and reaps it: SIGTERM, up to 5 s for it to exit
# (a zombie counts as exited: it is ours to reap), then SIGKILL: stop_pid PID.
stop_pid() {
    kill "$1" 2>/dev/null
    local i st
    for i in $(seq 50); do
        st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
        { [ -z "$st" ] || [ "$st" = Z ]; } && break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
