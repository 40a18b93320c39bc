# shellcheck shell=bash
# bench/lib.sh: what the veth benchmarks (bench_veth.sh, bench_ct_fwd.sh,
# bench_ddos.sh) share. Source it after setting BENCH_NAME (the prefix of
# every message); the script then sets T (its temporary directory), PIN (a
# bpffs mounted under T, or unset), FWD_PID (fwd when it runs) and
# BENCH_NAMESPACES (the namespaces it made), which bench_cleanup undoes.

skip() { echo "$BENCH_NAME: SKIP: $*"; exit 77; }
die() {
  echo "$BENCH_NAME: ERROR: $*" >&2
  [ -f "${T:-}/fwd.log" ] && tail -n 20 "$T/fwd.log" >&2
  exit 1
}

# fwd stopped, the namespaces' processes killed and the namespaces deleted,
# the bpffs unmounted, T removed
bench_cleanup() {
  local ns p
  set +e
  if [ -n "${FWD_PID:-}" ] && kill -0 "$FWD_PID" 2>/dev/null; then
    kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  fi
  for ns in ${BENCH_NAMESPACES:-}; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [ -n "${PIN:-}" ] && mountpoint -q "$PIN" && umount "$PIN"
  [ -n "${T:-}" ] && rm -rf "$T"
}

# The generator's veth DEV in namespace NS made to hand its frames to the
# peer's NAPI (GRO or XDP there), whichever way bench-gen sends: veth queues
# a socket's skb (bench-gen's AF_PACKET sender) for the peer's NAPI only
# when the sending side has no TSO; otherwise the frame is received on the
# sender's CPU and the peer's NAPI thread never sees it
gen_link() { # NS DEV
  ip netns exec "$1" ethtool -K "$2" tso off >/dev/null 2>&1 ||
    die "cannot turn TSO off on the generator's $2 (ethtool)"
}

# NAPI of DEV in namespace NS made threaded, its kthreads pinned to CPU;
# prints their pids (NAPI comes and goes with XDP and GRO: call it again
# after changing either)
napi_threads() { # NS DEV CPU
  local pid pids=
  ip netns exec "$1" sh -c "echo 1 > /sys/class/net/$2/threaded" 2>/dev/null ||
    echo "$BENCH_NAME: cannot make NAPI threaded on $2, ignoring" >&2
  for pid in $(ps -eo pid=,comm= | awk -v p="napi/$2-" 'index($2, p) == 1 {print $1}'); do
    taskset -pc "$3" "$pid" >/dev/null && pids="$pids $pid"
  done
  [ -n "$pids" ] || echo "$BENCH_NAME: no NAPI kthread for $2 to pin, ignoring" >&2
  echo "$pids"
}

# ns the kthreads PIDS have run so far (schedstat: time on CPU)
napi_runtime() { # PIDS...
  local pid sum=0 t
  for pid in "$@"; do
    read -r t _ <"/proc/$pid/schedstat" 2>/dev/null && sum=$((sum + t))
  done
  echo $sum
}

rx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; } # NS DEV
