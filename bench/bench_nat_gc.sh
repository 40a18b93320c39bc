#!/usr/bin/env bash
# bench_nat_gc.sh: fwd's NAT collector with a table of MAPPINGS mappings
# (FOS_BENCH_NAT_MAPPINGS, default 120000: about what one external address
# holds, 64512 TCP and as many UDP ports).
#
# fwd runs in a namespace of its own with a private bpffs and one natConfig
# (masquerade out of a veth whose address is 198.18.1.1, maxConnections =
# MAPPINGS), so it creates and pins the table (<pin>/nat/fos_nat).
# bench-nat-fill writes the mappings into the pinned table from user space
# (through its memory, as fwd writes it) and counts them as made, as
# the datapath would. No traffic flows.
#
#   (a) MAPPINGS live mappings (last seen now): once gc.walks has advanced
#       twice the last walk saw all of them; gc.lastWalkMs is the time of a
#       walk (the sum of its steps), gc.maxStepMs the longest step (the
#       longest the event loop waited on the collector). fwd's CPU time
#       (utime + stime, /proc/PID/stat) over WINDOW quiet seconds, per walk
#       and per mapping. Then a one-shot `fosctl show nat` (a walk of its
#       own: ports in use per external address, in steps like the
#       collector's), and fos.GetInfo round trips while show nat runs.
#   (b) MAPPINGS more mappings (sources and ports of their own) last seen
#       300 s ago (UDP past its 120 s, TCP not established, past its 240 s
#       transitory timeout): the time until the collector has removed them
#       all (fwd's removed counter in the pinned fos_nat_count, read every
#       50 ms), with fwd's CPU time meanwhile; and only them (MAPPINGS left).
#
# Figures are printed, never judged: exit 0 when it ran, 77 when it cannot
# run here, 1 on an error.
#
#   bash bench/bench_nat_gc.sh [BUILD_DIR]      (BUILD_DIR defaults to ./build)
#   FOS_BENCH_NAT_MAPPINGS=20000 FOS_BENCH_WINDOW=5 bash bench/bench_nat_gc.sh build
set -u

skip() { echo "bench_nat_gc: SKIP: $*"; exit 77; }
die() { echo "bench_nat_gc: ERROR: $*" >&2; [ -f "${T:-}/fwd.log" ] && tail -n 20 "$T/fwd.log" >&2; exit 1; }

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
MAPPINGS=${FOS_BENCH_NAT_MAPPINGS:-120000}
WINDOW=${FOS_BENCH_WINDOW:-6}
AGE=300

[ "$(id -u)" = 0 ] || skip "needs root"
for c in ip awk python3 mountpoint getconf; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
FWD=$BUILD/daemon/fwd
FOSCTL=$BUILD/cli/fosctl
RTT=$BUILD/bench/bench-rtt
FILL=$BUILD/bench/bench-nat-fill
for f in "$FWD" "$FOSCTL" "$RTT" "$FILL"; do
  [ -x "$f" ] || skip "$f is missing (build the tree first)"
done
[ "$MAPPINGS" -ge 2 ] && [ "$MAPPINGS" -le 4000000 ] || die "FOS_BENCH_NAT_MAPPINGS: 2 to 4000000"
# the mappings' clock is CLOCK_MONOTONIC
up=$(python3 -c 'import time; print(int(time.clock_gettime(time.CLOCK_MONOTONIC)))')
[ "$up" -gt $((AGE + 60)) ] || skip "the machine has been up ${up}s: expired mappings must be ${AGE}s old"
HZ=$(getconf CLK_TCK)

NS="fosb-nat-$$-gc"
T=$(mktemp -d /tmp/fos-bench-nat-gc.XXXXXX)
PIN=$T/bpf
SOCK=$T/fwd.sock
FWD_PID=

cleanup() {
  set +e
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

ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
# fwd's CPU time so far, in ms
cpu_ms() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$FWD_PID/stat"; }

# "walks lastWalkMs maxStepMs expired mappings" from show nat
gc_summary() {
  "$FOSCTL" -s "$SOCK" -j show nat | python3 -c 'import json, sys
j = json.load(sys.stdin)
g = j["gc"]
print(g["walks"], g["lastWalkMs"], g["maxStepMs"], j["expired"], j["configs"][0]["mappings"])' ||
    die "fosctl show nat failed"
}

gc_wait_walks() { # walks
  local end=$((SECONDS + 120))
  while :; do
    GC=$(gc_summary) || exit 1
    [ "${GC%% *}" -ge "$1" ] && return 0
    [ $SECONDS -lt $end ] || die "gc.walks did not reach $1 in 120 s (now: $GC)"
    sleep 0.5
  done
}

# ---- the lab ----------------------------------------------------------------------
ip netns add "$NS" || die "cannot create a namespace"
ip -n "$NS" link add fg0 type veth peer name fg1 || die "cannot create a veth pair"
ip -n "$NS" addr add 10.0.0.1/8 dev fg0
ip -n "$NS" addr add 198.18.1.1/24 dev fg1
ip -n "$NS" link set fg0 up
ip -n "$NS" link set fg1 up
IFINDEX=$(ip netns exec "$NS" cat /sys/class/net/fg1/ifindex) || die "no ifindex of fg1"
mkdir -p "$PIN"
mount -t bpf bpf "$PIN" || die "cannot mount a bpffs at $PIN"
cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
	name = "gc";
	interfaces = { source = "fg0"; destination = "fg1"; };
	type = "masquerade";
	ipVersion = "ipv4";
	sourceCIDRs = ( "10.0.0.0/8" );
	connectionTracking = { enabled = true; maxConnections = $((2 * MAPPINGS)); };
	endpointIndependent = true;
} );
EOF

echo "bench_nat_gc: fwd's NAT collector over $MAPPINGS mappings"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ip netns exec "$NS" "$FWD" -c "$T/fwd.conf" -s "$SOCK" --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 &
FWD_PID=$!
"$RTT" -s "$SOCK" wait --timeout 60 >/dev/null || die "fwd did not become ready"

# ---- (a) live mappings -----------------------------------------------------------------
read -r walks0 _ <<<"$(gc_summary)"
out=$("$FILL" "$PIN" 1 "$IFINDEX" 198.18.1.1 "$MAPPINGS") || die "bench-nat-fill failed"
echo "(a) $MAPPINGS live mappings written while fwd runs: ${out##* ms } ms (through the table's memory)"
gc_wait_walks $((walks0 + 2))
read -r walks last_ms max_ms _ mappings <<<"$GC"
[ "$mappings" -eq "$MAPPINGS" ] || die "fwd counts $mappings mappings, expected $MAPPINGS"
printf '    walk of %d mappings (a table of %d, gc.lastWalkMs): %.1f ms   longest step (gc.maxStepMs): %.2f ms\n' \
  "$mappings" "$("$FOSCTL" -s "$SOCK" -j show nat | python3 -c 'import json, sys; print(json.load(sys.stdin)["tableSize"])')" "$last_ms" "$max_ms"
c0=$(cpu_ms)
sleep "$WINDOW"
c1=$(cpu_ms)
GC=$(gc_summary) || exit 1
read -r walks2 last2 max2 _ mappings2 <<<"$GC"
[ "$mappings2" -eq "$MAPPINGS" ] || die "live mappings were removed: $mappings2 left of $MAPPINGS"
awk -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" -v w="$WINDOW" \
  -v n=$((walks2 - walks)) -v m="$MAPPINGS" -v l="$last2" -v hz="$HZ" 'BEGIN {
  printf "    fwd CPU over %d s with nothing else to do: %.0f ms (%.1f%% of a CPU), %d walks: %.1f ms per walk, %.0f ns per mapping\n",
    w, c, c / w / 10, n, n ? c / n : 0, n ? c / n / m * 1e6 : 0
  printf "    (CPU time in ticks of %.0f ms; last walk %.1f ms)\n", 1000 / hz, l }'
printf '    gc.maxStepMs after (a): %.2f ms\n' "$max2"
"$RTT" exec -n 5 --label "      fosctl show nat, one-shot, $MAPPINGS mappings" -- \
  "$FOSCTL" -s "$SOCK" show nat || die "fosctl show nat failed"
# the control socket while show nat walks the table (in ~2 ms steps)
( for _ in 1 2 3 4 5; do "$FOSCTL" -s "$SOCK" show nat >/dev/null; done ) &
shows=$!
out=$("$RTT" -s "$SOCK" ipc -n 200) || die "the IPC loop failed"
wait "$shows" || die "fosctl show nat failed"
echo "    control socket while five show nat run one after another:"
echo "      $out"

# ---- (b) expired mappings ---------------------------------------------------------------
# mappings MAPPINGS .. 2 * MAPPINGS - 1: sources and external ports of their own
read -r _ _ _ exp0 _ <<<"$GC"
rem0=$("$FILL" --removed "$PIN" 1) || die "bench-nat-fill --removed failed"
c0=$(cpu_ms)
t0=$EPOCHREALTIME
"$FILL" "$PIN" 1 "$IFINDEX" 198.18.1.1 "$MAPPINGS" "$AGE" "$MAPPINGS" >/dev/null ||
  die "bench-nat-fill failed"
end=$((SECONDS + 300))
# fwd's removed counter, read from the pinned map (a show nat would walk the table)
while :; do
  rem=$("$FILL" --removed "$PIN" 1) || die "bench-nat-fill --removed failed"
  [ $((rem - rem0)) -ge "$MAPPINGS" ] && break
  [ $SECONDS -lt $end ] || die "the collector removed $((rem - rem0)) of $MAPPINGS mappings in 300 s"
  sleep 0.05
done
done_ms=$(ms_since "$t0")
c1=$(cpu_ms)
GC=$(gc_summary) || exit 1
read -r _ _ _ exp mappings <<<"$GC"
[ "$mappings" -eq "$MAPPINGS" ] || die "fwd counts $mappings mappings left, not the $MAPPINGS live ones"
echo
[ $((exp - exp0)) -eq "$MAPPINGS" ] || die "the collector expired $((exp - exp0)) mappings, not $MAPPINGS"
printf '(b) %d more mappings, last seen %d s ago, written: all gone after %.0f ms (the live ones kept); fwd CPU meanwhile %.0f ms\n' \
  "$MAPPINGS" "$AGE" "$done_ms" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
