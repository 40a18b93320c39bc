#!/usr/bin/env bash
# bench_ct_gc.sh: fwd's conntrack collector with a table of 1,000,000 flows
# (FLOWS, FOS_BENCH_CT_FLOWS).
#
# fwd runs in a namespace of its own with a private bpffs, a stateful
# tc-ingress program on a veth and conntrack.maxConnections = 1000000
# (tcpTimeout 600 s), so it creates and pins the table (<pin>/global/fos_ct).
# bench-ct-fill writes the flows into the pinned table from user space
# (bench/ct_fill.h: established TCP flows; bpf_map_update_batch) and counts
# them in fos_ct_count as the datapath would. No traffic flows.
#
#   (a) FLOWS live flows written while fwd runs; then `fosctl -j show conntrack
#       summary` is read until gc.runs has advanced twice, so the last walk
#       saw all of them: gc.lastRunMs is the time of a walk of FLOWS live
#       entries (the sum of its steps), gc.maxStepMs the longest step (the
#       longest the event loop waited on the collector; target < 5 ms).
#       fwd's CPU time (utime + stime from /proc/PID/stat) is read over a
#       window of WINDOW seconds in which nothing else talks to fwd, and
#       divided by the walks that ran in it. Then bench-rtt times fos.GetInfo
#       round trips on the control socket while the walks go on.
#   (b) FLOWS expired flows: fwd is stopped (the table stays pinned), every
#       entry is rewritten as last seen its timeout plus a minute ago, and
#       fwd is started again: its collector begins a walk at once, which
#       must remove all of them. bench-ct-fill polls fos_ct_count's removed
#       counter (fwd adds to it after each step) every millisecond: the time
#       from fwd's start to its first move and to +FLOWS. Printed with the
#       walk's gc.lastRunMs, gc.maxStepMs and gc.removed, fwd's CPU time
#       from ready to done, and fos.GetInfo round trips during the removal.
#   gc.maxStepMs is wall-clock time: a step in which fwd waited for its CPU
#   (other load on the machine) is that much longer; the time fwd spent
#   waiting for a CPU (/proc/PID/schedstat) is printed beside it.
#   And the cost of `show conntrack summary` itself with FLOWS entries (it walks
#   the whole table to count states), timed as a one-shot fosctl.
#
# The collector walks in steps of ~2 ms (bpf_map_lookup_batch, 1024 entries
# a batch) and starts a new walk an interval after the last one ended; the
# interval starts at 1 s and adapts (1 s for a table 75% full).
#
# Figures are printed, never judged: exit 0 when it ran, 77 when it cannot
# run here, 1 on an error.
#
#   bash bench/bench_ct_gc.sh [BUILD_DIR]      (BUILD_DIR defaults to ./build)
#   FOS_BENCH_CT_FLOWS=200000 FOS_BENCH_WINDOW=10 bash bench/bench_ct_gc.sh build
set -u

skip() { echo "bench_ct_gc: SKIP: $*"; exit 77; }
die() { echo "bench_ct_gc: ERROR: $*" >&2; [ -f "${T:-}/fwd.log" ] && tail -n 20 "$T/fwd.log" >&2; exit 1; }

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
FLOWS=${FOS_BENCH_CT_FLOWS:-1000000}
WINDOW=${FOS_BENCH_WINDOW:-6}
TCP_TIMEOUT=600

[ "$(id -u)" = 0 ] || skip "needs root"
for c in ip awk python3 mountpoint getconf; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
FWD=$BUILD/daemon/fwd
FOSCTL=$BUILD/cli/fosctl
RTT=$BUILD/bench/bench-rtt
FILL=$BUILD/bench/bench-ct-fill
for f in "$FWD" "$FOSCTL" "$RTT" "$FILL"; do
  [ -x "$f" ] || skip "$f is missing (build the tree first)"
done
up=$(cut -d. -f1 /proc/uptime)
[ "$up" -gt $((TCP_TIMEOUT + 120)) ] ||
  skip "the machine has been up ${up}s: expired entries must be older than $((TCP_TIMEOUT + 60))s"
HZ=$(getconf CLK_TCK)

NS="fosb-ct-$$-gc"
T=$(mktemp -d /tmp/fos-bench-ct-gc.XXXXXX)
PIN=$T/bpf
SOCK=$T/fwd.sock
FWD_PID=
WATCH_PID=

cleanup() {
  set +e
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
  if [ -n "$FWD_PID" ] && kill -0 "$FWD_PID" 2>/dev/null; then
    kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  fi
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  mountpoint -q "$PIN" && umount "$PIN"
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fosctl() { "$FOSCTL" -s "$SOCK" "$@"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# fwd's CPU time so far, in ms
cpu_ms() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$FWD_PID/stat"; }
# ms fwd has spent runnable but waiting for a CPU (schedstat): the steps are
# timed on the wall clock, so such a wait lengthens the step it falls in
waited_ms() { awk '{ printf "%d", $2 / 1e6 }' "/proc/$FWD_PID/schedstat"; }

# "runs removed lastRunMs maxStepMs intervalMs entries" from the summary
gc_summary() {
  fosctl -j show conntrack summary | python3 -c 'import json, sys
j = json.load(sys.stdin)
g = j["gc"]
print(g["runs"], g["removed"], g["lastRunMs"], g["maxStepMs"], g["intervalMs"], j["entries"])' ||
    die "fosctl show conntrack summary failed"
}

fwd_start() {
  # ip netns exec execs fwd: $! is fwd itself
  ip netns exec "$NS" "$FWD" -c "$T/fwd.conf" -s "$SOCK" --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 &
  FWD_PID=$!
  "$RTT" -s "$SOCK" wait --timeout 60 >/dev/null || die "fwd did not become ready"
}
fwd_stop() {
  kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  FWD_PID=
}

# wait until gc.runs reaches $1, reading the summary every $2 s; sets GC
gc_wait_runs() { # runs poll-seconds
  local end=$((SECONDS + 120))
  while :; do
    GC=$(gc_summary) || exit 1
    [ "${GC%% *}" -ge "$1" ] && return 0
    [ $SECONDS -lt $end ] || die "gc.runs did not reach $1 in 120 s (now: $GC)"
    sleep "$2"
  done
}

# ---- the lab ----------------------------------------------------------------------
ip netns add "$NS" || die "cannot create a namespace"
ip -n "$NS" link add fg0 type veth peer name fg1 || die "cannot create a veth pair"
ip -n "$NS" link set fg0 up
ip -n "$NS" link set fg1 up
mkdir -p "$PIN"
mount -t bpf bpf "$PIN" || die "cannot mount a bpffs at $PIN"
cat >"$T/fwd.conf" <<EOF
conntrack = { maxConnections = 1000000; tcpTimeout = $TCP_TIMEOUT; };
programs = ( {
	name = "gc";
	type = "tc-ingress";
	interface = "fg0";
	settings = { stateful = true; actions = { default = "pass"; }; };
} );
EOF

echo "bench_ct_gc: fwd's collector over $FLOWS flows (conntrack.maxConnections 1000000)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
fwd_start

# ---- (a) live flows ------------------------------------------------------------------
read -r runs0 _ <<<"$(gc_summary)"
out=$("$FILL" "$PIN" "$FLOWS" 0) || die "bench-ct-fill failed"
echo "(a) $FLOWS live flows written while fwd runs: ${out##* ms } ms (bpf_map_update_batch)"
t0=$EPOCHREALTIME
GC=$(gc_summary) || exit 1
summary_ms=$(ms_since "$t0")
gc_wait_runs $((runs0 + 2)) 1
read -r runs removed last_ms max_ms interval entries <<<"$GC"
[ "$entries" -ge "$FLOWS" ] || die "fwd counts $entries entries, expected $FLOWS"
printf '    walk of %d live entries (gc.lastRunMs): %9.1f ms   longest step (gc.maxStepMs): %.2f ms\n' \
  "$entries" "$last_ms" "$max_ms"
printf '    interval: %d ms; gc.runs %d, gc.removed %d\n' "$interval" "$runs" "$removed"

# a quiet window: fwd's CPU time per walk
p0=$(waited_ms)
c0=$(cpu_ms)
sleep "$WINDOW"
c1=$(cpu_ms)
GC=$(gc_summary) || exit 1
read -r runs2 _ last2 _ _ _ <<<"$GC"
awk -v c=$((${c1%.*} - ${c0%.*})) -v w="$WINDOW" -v n=$((runs2 - runs)) -v l="$last2" -v hz="$HZ" 'BEGIN {
  printf "    fwd CPU over %d s with nothing else to do: %.0f ms (%.1f%% of a CPU), %d walks: %.0f ms per walk\n",
    w, c, c / w / 10, n, n ? c / n : 0
  printf "    (CPU time in ticks of %.0f ms; last walk %.1f ms)\n", 1000 / hz, l }'
t0=$EPOCHREALTIME
out=$("$RTT" -s "$SOCK" ipc -n 30000) || die "the IPC loop failed"
echo "    control socket during the walks (30000 calls over $(ms_since "$t0") ms):"
echo "      $out"
GC=$(gc_summary) || exit 1
read -r _ _ _ max3 _ _ <<<"$GC"
printf '    gc.maxStepMs after all of (a): %.2f ms (target < 5 ms); fwd waited %d ms for a CPU meanwhile\n' \
  "$max3" $(($(waited_ms) - p0))
printf '    show conntrack summary with %d entries (a walk of the table, 2 ms steps between other work): %s ms\n' \
  "$entries" "$summary_ms"
"$RTT" exec -n 5 --label "      fosctl show conntrack summary, one-shot" -- \
  "$FOSCTL" -s "$SOCK" show conntrack summary || die "fosctl show conntrack summary failed"

# ---- (b) expired flows ---------------------------------------------------------------
fwd_stop
out=$("$FILL" --rewrite "$PIN" "$FLOWS" 1)
rc=$?
[ $rc = 77 ] && { echo "$out"; skip "cannot make expired entries here"; }
[ $rc = 0 ] || die "bench-ct-fill --rewrite failed"
read -r _ _ _ rem0 _ <<<"$("$FILL" --counts "$PIN")"
echo
echo "(b) the $FLOWS flows rewritten as expired while fwd was stopped (${out##* ms } ms); fwd started:"
"$FILL" --wait-removed "$PIN" $((rem0 + FLOWS)) 300 >"$T/watch.out" &
WATCH_PID=$!
t0=$EPOCHREALTIME
fwd_start
ready_ms=$(ms_since "$t0")
p0=$(waited_ms)
c0=$(cpu_ms)
t0=$EPOCHREALTIME
"$RTT" -s "$SOCK" ipc -n 300 >"$T/rtt.out" || die "the IPC loop failed"
rtt_ms=$(ms_since "$t0")
wait "$WATCH_PID" || { WATCH_PID=; die "the expired entries were not all removed"; }
WATCH_PID=
c1=$(cpu_ms)
p1=$(waited_ms)
read -r _ first _ done_ms _ <<<"$(cat "$T/watch.out")"
# the walk that removed them is over once gc.runs is 1
gc_wait_runs 1 0.05
read -r runs removed last_ms max_ms interval entries <<<"$GC"
awk -v r="$ready_ms" -v f="$first" -v d="$done_ms" -v n="$FLOWS" 'BEGIN {
  printf "    fwd ready after %.0f ms; removed counter first moved at %.0f ms, +%d at %.0f ms: %.0f ms of removal\n",
    r, f, n, d, d - f }'
printf '    removal walk (gc.lastRunMs): %.1f ms, gc.removed %d, gc.runs %d, entries left %d\n' \
  "$last_ms" "$removed" "$runs" "$entries"
printf '    longest step (gc.maxStepMs): %.2f ms (target < 5 ms); fwd waited %d ms for a CPU meanwhile\n' \
  "$max_ms" $((p1 - p0))
awk -v c=$((${c1%.*} - ${c0%.*})) -v d="$done_ms" -v r="$ready_ms" 'BEGIN {
  printf "    fwd CPU from ready to done: %.0f ms over %.0f ms\n", c, d - r }'
awk -v r="$ready_ms" -v d="$done_ms" -v t="$rtt_ms" 'BEGIN {
  printf "    control socket during the removal (300 calls from ready over %.0f ms, %s):\n", t,
    r + t <= d ? "all before the removal ended" : "NOT all within the removal" }'
printf '      %s\n' "$(cat "$T/rtt.out")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
