#!/usr/bin/env bash
# bench_apply.sh: the control plane with a 1,000,000-entry IP set.
#
#   (a) fwd start to ready: fwd starts with a config whose blacklist set file
#       holds 1M distinct CIDRs (600k IPv4 /32, 350k IPv4 /24, 50k IPv6 /64);
#       ready = its socket answers fos.GetInfo (fwd opens the socket only
#       after the config is applied). Timed from just before the exec.
#   (b) fosctl reload after the set file is replaced by 1M other CIDRs, so all
#       1M entries are written under a new set id (and the old 1M removed)
#   (c) fosctl reload with the set file unchanged (parsed and compared only)
#   (d) fosctl reload with one of the 1M entries replaced
#   (e) fwd restart to ready with the 1M entries pinned: the new fwd reads the
#       set back from the pinned map and finds it unchanged
#   and fwd's memory (VmRSS, VmHWM) with the set loaded, and the kernel memory
#   of the set map (bpftool memlock).
#
#   Control socket latency, with the 1M set loaded:
#   - 200 one-shot `fosctl show status` runs (fork + exec + connect + call)
#   - 1000 fos.GetInfo calls over one connection (bench-rtt)
#
# Everything runs in a network namespace with a veth pair of its own (fwd
# attaches the filter to one end) and a private bpffs for the pins; all of it
# is removed on exit. Figures are printed, never judged: exit 0 when it ran,
# 77 when it cannot run here.
#
#   bash bench/bench_apply.sh [BUILD_DIR]      (BUILD_DIR defaults to ./build)
set -u

skip() { echo "bench_apply: SKIP: $*"; exit 77; }
die() { echo "bench_apply: ERROR: $*" >&2; [ -f "${T:-}/fwd.log" ] && tail -n 20 "$T/fwd.log" >&2; exit 1; }

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
N_ENTRIES=1000000

[ "$(id -u)" = 0 ] || skip "needs root"
for c in ip awk python3 mountpoint bpftool; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
FWD=$BUILD/daemon/fwd
FOSCTL=$BUILD/cli/fosctl
RTT=$BUILD/bench/bench-rtt
for f in "$FWD" "$FOSCTL" "$RTT"; do
  [ -x "$f" ] || skip "$f is missing (build the tree first)"
done

NS="fosb-apply-$$"
T=$(mktemp -d /tmp/fos-bench-apply.XXXXXX)
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

fosctl() { "$FOSCTL" -s "$SOCK" "$@"; }
now() { echo "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# A set file of N_ENTRIES distinct CIDRs; variant 0 or 1 share no entry.
gen_set() { # variant file
  awk -v v="$1" -v n="$N_ENTRIES" 'BEGIN {
    n32 = int(n * 0.6); n24 = int(n * 0.35); n6 = n - n32 - n24
    print "# " n " CIDRs: " n32 " IPv4 /32, " n24 " IPv4 /24, " n6 " IPv6 /64"
    base32 = (11 + v) * 16777216           # 11.0.0.0 or 12.0.0.0, every 7th address
    for (i = 0; i < n32; i++) {
      a = base32 + i * 7
      printf "%d.%d.%d.%d/32\n", int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256
    }
    base24 = (20 + 10 * v) * 65536        # /24s from 20.0.0.0 or 30.0.0.0 on
    for (i = 0; i < n24; i++) {
      a = base24 + i
      printf "%d.%d.%d.0/24\n", int(a / 65536), int(a / 256) % 256, a % 256
    }
    for (i = 0; i < n6; i++)
      printf "2001:db8:%x:%x::/64\n", 256 * v + int(i / 65536), i % 65536
  }' >"$2"
}

# Start fwd; sets FWD_PID and READY_MS, the start-to-ready time.
fwd_start() {
  local t0 out
  t0=$(now)
  # ip netns exec execs fwd: $! is fwd itself
  ip netns exec "$NS" "$FWD" -c "$T/fwd.conf" -s "$SOCK" --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 &
  FWD_PID=$!
  out=$("$RTT" -s "$SOCK" wait --since "$t0" --timeout 600) || die "fwd did not become ready"
  READY_MS=${out#ready_ms }
}

fwd_stop() {
  kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  FWD_PID=
}

set_entries() { # entries of set "big" as fwd reports them
  fosctl -j show sets | python3 -c 'import json, sys
print([s for s in json.load(sys.stdin)["sets"] if s["name"] == "big"][0]["entries"])'
}
map_entries() { # entries in the pinned set tries (IPv6 fos_sets + IPv4 fos_sets4)
  fosctl -j show maps | python3 -c 'import json, sys
print(sum(m["entries"] for m in json.load(sys.stdin)["maps"] if m["name"] in ("fos_sets", "fos_sets4")))'
}
mem() { # VmRSS and VmHWM of fwd
  awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 }
    END { printf "VmRSS %.1f MiB (VmHWM %.1f MiB)", r / 1024, h / 1024 }' "/proc/$FWD_PID/status"
}
map_memlock() { # memory of both set tries
  for m in fos_sets fos_sets4; do bpftool map show pinned "$PIN/global/$m"; done |
    awk '{ for (i = 1; i < NF; i++) if ($i == "memlock") { v = $(i + 1); sub(/B$/, "", v); t += v } }
      END { printf "%.1f MiB", t / 1048576 }'
}
rate() { awk -v n="$N_ENTRIES" -v ms="$1" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }

# ---- the lab --------------------------------------------------------------------
ip netns add "$NS" || die "cannot create a namespace"
ip -n "$NS" link add fa0 type veth peer name fa1 || die "cannot create a veth pair"
ip -n "$NS" link set fa0 up
ip -n "$NS" link set fa1 up
mkdir -p "$PIN"
mount -t bpf bpf "$PIN" || die "cannot mount a bpffs at $PIN"

gen_set 0 "$T/set-a.txt"
gen_set 1 "$T/set-b.txt"
cp "$T/set-a.txt" "$T/big.txt"
cat >"$T/fwd.conf" <<EOF
ipSets = ( { name = "big"; file = "big.txt"; } );
programs = ( {
	name = "apply";
	type = "xdp";
	interface = "fa0";
	settings = {
		blacklist = { enabled = true; ipSetRef = "big"; };
		actions = { default = "pass"; };
	};
} );
EOF

echo "bench_apply: a set of $N_ENTRIES CIDRs ($(sed -n '1s/^# [0-9]* CIDRs: //p' "$T/big.txt"))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# (a) start
fwd_start
ms=$READY_MS
n=$(set_entries)
[ "$n" = "$N_ENTRIES" ] || die "fwd reports $n entries in set big, expected $N_ENTRIES"
printf '(a) fwd start to ready with the set:     %9.1f ms  %9s entries/s   [set big: %s entries]\n' \
  "$ms" "$(rate "$ms")" "$n"
echo "    fwd memory after start:  $(mem)   set tries: $(map_memlock)"

# Reload after installing set file $1; prints the time in ms and checks the set.
reload_with() { # set-file
  local t0 ms n
  cp "$1" "$T/big.txt"
  t0=$(now)
  fosctl reload >/dev/null || die "fosctl reload failed"
  ms=$(ms_since "$t0")
  n=$(set_entries)
  [ "$n" = "$N_ENTRIES" ] || die "after reload fwd reports $n entries, expected $N_ENTRIES"
  echo "$ms"
}

# (b) reload with all entries changed
ms=$(reload_with "$T/set-b.txt") || exit 1
printf '(b) fosctl reload, all 1M entries new:   %9.1f ms  %9s entries/s   [set tries: %s entries]\n' \
  "$ms" "$(rate "$ms")" "$(map_entries)"
echo "    fwd memory after reload: $(mem)   set tries: $(map_memlock)"

# (c) the same file again: parsed and compared, nothing written
ms=$(reload_with "$T/set-b.txt") || exit 1
printf '(c) fosctl reload, set unchanged:        %9.1f ms\n' "$ms"

# (d) one entry of the 1M replaced
sed '$s/.*/2001:db8:ffff:ffff::\/64/' "$T/set-b.txt" >"$T/set-c.txt"
ms=$(reload_with "$T/set-c.txt") || exit 1
printf '(d) fosctl reload, one entry changed:    %9.1f ms  %9s entries/s   [set tries: %s entries]\n' \
  "$ms" "$(rate "$ms")" "$(map_entries)"
echo "    fwd memory after reloads: $(mem)"

# control socket latency, with the set loaded
echo
"$RTT" exec -n 200 --label "fosctl show status, one-shot process" -- \
  "$FOSCTL" -s "$SOCK" show status || die "fosctl show status failed"
"$RTT" -s "$SOCK" ipc -n 1000 || die "the IPC loop failed"
echo

# (e) restart with the set pinned
fwd_stop
fwd_start
ms=$READY_MS
n=$(set_entries)
[ "$n" = "$N_ENTRIES" ] || die "after restart fwd reports $n entries, expected $N_ENTRIES"
printf '(e) fwd restart to ready, 1M pinned:     %9.1f ms  %9s entries/s   [set big: %s entries]\n' \
  "$ms" "$(rate "$ms")" "$n"
echo "    fwd memory after restart: $(mem)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
