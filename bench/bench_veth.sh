#!/usr/bin/env bash
# bench_veth.sh: how fast a veth receiver drops packets, four ways, with the
# same traffic in the same run:
#   (a) bare XDP_DROP: fos_xdp_drop attached natively with ip link (the peer)
#   (b) fos: the real fwd, started with the bench ruleset (bench/ruleset.h:
#       10k-CIDR blacklist set file + 100 rules, default drop); every packet
#       misses the set and all 100 rules and is dropped by the default action
#   (c) nftables: the same ruleset as a netdev ingress chain (the set as two
#       named sets with flags interval, the same 100 rules, then counter drop);
#       GRO is turned on so that the veth runs NAPI without an XDP program
#   (d) nftables bare: a netdev ingress chain holding only "counter drop", the
#       floor of (c) and the peer BENCHMARKING.md quotes
#
# Traffic: bench-gen in the sender namespace runs fos_xdp_gen with
# BPF_F_TEST_XDP_LIVE_FRAMES out of the sender veth: 60-byte UDP frames
# 198.18.0.1 -> 198.19.0.1 port 9 (64 bytes on the wire), one long test run
# per measurement, pinned to CPU 0. The receiving veth's NAPI runs threaded,
# its kthread pinned to CPU 1.
#
# Two figures per run: rx Mpps, the receiving veth's rx_packets (every frame
# its NAPI took off the ring) over the generator's run time; and napi ns, the
# CPU time of the NAPI kthread (/proc/PID/schedstat) per packet received, the
# cost of one packet on the receiving CPU, which other load on the machine
# does not inflate. (b) and (c) are cross-checked against fos's counters (via
# fosctl) and the nft drop counter.
#
# Each case runs ROUNDS times (default 5), the order rotating every round, for
# SECONDS each (default 3); medians and ratios are printed. Figures are only
# printed, never judged: exit 0 when it ran, 77 when it cannot run here.
#
#   bash bench/bench_veth.sh [BUILD_DIR]      (BUILD_DIR defaults to ./build)
#   FOS_BENCH_ROUNDS=3 FOS_BENCH_SECONDS=4 bash bench/bench_veth.sh /tmp/benchbuild
set -u

BENCH_NAME=bench_veth
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
ROUNDS=${FOS_BENCH_ROUNDS:-5}
SECONDS_RUN=${FOS_BENCH_SECONDS:-3}

[ "$(id -u)" = 0 ] || skip "needs root"
for c in ip nft ethtool taskset awk python3 mountpoint; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
FWD=$BUILD/daemon/fwd
GEN=$BUILD/bench/bench-gen
BFILTER=$BUILD/bench/bench-filter
RTT=$BUILD/bench/bench-rtt
OBJ=$BUILD/bpf/xdp_bench.bpf.o
for f in "$FWD" "$BUILD/cli/fosctl" "$GEN" "$BFILTER" "$RTT" "$OBJ"; do
  [ -e "$f" ] || skip "$f is missing (build the tree first)"
done
NCPU=$(nproc)
GEN_CPU=0
RX_CPU=$((NCPU > 1 ? 1 : 0))

ID=$$
NS_TX="fosb-veth-$ID-tx"
NS_RX="fosb-veth-$ID-rx"
TXIF=fbt0
RXIF="fr$((ID % 100000))" # names the NAPI kthread: keep it unique and short
T=$(mktemp -d /tmp/fos-bench-veth.XXXXXX)
PIN=$T/bpf
SOCK=$T/fwd.sock
FWD_PID=

BENCH_NAMESPACES="$NS_TX $NS_RX"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

inTX() { ip netns exec "$NS_TX" "$@"; }
inRX() { ip netns exec "$NS_RX" "$@"; }

# ---- the lab ------------------------------------------------------------------
ip netns add "$NS_TX" || die "cannot create namespace $NS_TX"
ip netns add "$NS_RX" || die "cannot create namespace $NS_RX"
ip link add "$TXIF" netns "$NS_TX" type veth peer name "$RXIF" netns "$NS_RX" ||
  die "cannot create the veth pair"
gen_link "$NS_TX" "$TXIF"
ip -n "$NS_TX" addr add 198.18.0.1/15 dev "$TXIF"
ip -n "$NS_RX" addr add 198.19.0.1/15 dev "$RXIF"
ip -n "$NS_TX" link set "$TXIF" up
ip -n "$NS_RX" link set "$RXIF" up
ip -n "$NS_RX" link set lo up
RX_MAC=$(inRX cat "/sys/class/net/$RXIF/address")
mkdir -p "$PIN" "$T/rs"
mount -t bpf bpf "$PIN" || die "cannot mount a bpffs at $PIN"
"$BFILTER" --write-config "$T/rs" --interface "$RXIF" || die "cannot write the ruleset"
cat >"$T/bare.nft" <<EOF
table netdev fosbench {
	chain ingress {
		type filter hook ingress device "$RXIF" priority 0; policy accept;
		counter drop
	}
}
EOF

# ---- receiver set-ups: each leaves NAPI on the receiving veth ---------------------
# NAPI threaded, its kthread on RX_CPU; run after every set-up (NAPI comes and goes
# with XDP and GRO).
napi_pin() { NAPI_PIDS=$(napi_threads "$NS_RX" "$RXIF" "$RX_CPU"); }

# program "bench" as fwd reports it: "processed default attach-mode"
fos_counts() {
  local out
  out=$("$BUILD/cli/fosctl" -j -s "$SOCK" show program bench) || die "fosctl show program failed"
  echo "$out" | python3 -c 'import json, sys
j = json.load(sys.stdin)
print(j["status"]["metrics"]["packetsProcessed"], j["counters"]["default"], j["mode"])'
}

setup_drop() {
  inRX ip link set dev "$RXIF" xdp obj "$OBJ" sec xdp program fos_xdp_drop ||
    die "cannot attach fos_xdp_drop"
  napi_pin
}
teardown_drop() { inRX ip link set dev "$RXIF" xdp off; }

setup_fos() {
  # ip netns exec execs fwd: $! is fwd itself
  ip netns exec "$NS_RX" "$FWD" -c "$T/rs/fwd.conf" -s "$SOCK" --pin-dir "$PIN" \
    >>"$T/fwd.log" 2>&1 &
  FWD_PID=$!
  "$RTT" -s "$SOCK" wait --timeout 60 >/dev/null || die "fwd did not become ready"
  napi_pin
  local c0
  c0=$(fos_counts) || exit 1
  read -r FOS_P0 FOS_D0 FOS_MODE <<<"$c0"
}
teardown_fos() {
  local p d c1
  c1=$(fos_counts) || exit 1
  read -r p d _ <<<"$c1"
  CHECK_FOS_P=$((p - FOS_P0))
  CHECK_FOS_D=$((d - FOS_D0))
  kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  FWD_PID=
  inRX "$FWD" --flush --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 || die "fwd --flush failed"
}

nft_drop_count() {
  inRX nft list chain netdev fosbench ingress |
    awk '/counter packets/ && /drop/ && !/saddr/ { for (i = 1; i < NF; i++) if ($i == "packets") n = $(i + 1) } END { print n + 0 }'
}
nft_setup() { # FILE
  inRX ethtool -K "$RXIF" gro on >/dev/null || die "cannot turn GRO on"
  inRX nft -f "$1" || die "nft cannot load $1"
  napi_pin
}
nft_teardown() {
  CHECK_NFT=$(nft_drop_count)
  inRX nft delete table netdev fosbench
  inRX ethtool -K "$RXIF" gro off >/dev/null
}
setup_nft() { nft_setup "$T/rs/filter.nft"; }
teardown_nft() { nft_teardown; }
setup_nftbare() { nft_setup "$T/bare.nft"; }
teardown_nftbare() { nft_teardown; }


# measure: prints "rx_mpps sent_mpps rx_packets napi_ns_per_packet napi_busy_percent"
measure() {
  local a b ra rb out frames secs
  ra=$(napi_runtime $NAPI_PIDS)
  a=$(rx_packets "$NS_RX" "$RXIF")
  out=$(taskset -c "$GEN_CPU" ip netns exec "$NS_TX" "$GEN" -i "$TXIF" -t "$SECONDS_RUN" \
        --dst-mac "$RX_MAC") || die "bench-gen failed"
  sleep 0.1
  b=$(rx_packets "$NS_RX" "$RXIF")
  rb=$(napi_runtime $NAPI_PIDS)
  frames=$(echo "$out" | awk '{print $2}')
  secs=$(echo "$out" | awk '{print $4}')
  awk -v r=$((b - a)) -v f="$frames" -v s="$secs" -v ns=$((rb - ra)) 'BEGIN {
    printf "%.3f %.3f %d %.1f %.0f\n", r / s / 1e6, f / s / 1e6, r, r ? ns / r : 0, ns / s / 1e7 }'
}

CASES=(drop fos nft nftbare)
declare -A NAME=(
  [drop]="(a) bare XDP_DROP (fos_xdp_drop, native)"
  [fos]="(b) fos filter via fwd, 10k set + 100 rules"
  [nft]="(c) nftables netdev ingress, same ruleset"
  [nftbare]="(d) nftables netdev ingress, counter drop only"
)
declare -A RX SENT NSP

echo "bench_veth: 60-byte UDP over a veth pair, generator on CPU $GEN_CPU, receiver NAPI" \
  "thread on CPU $RX_CPU; $ROUNDS rounds x ${SECONDS_RUN}s, order rotating"
echo "(b) and (c): every packet misses the 10k-CIDR set and all 100 rules and is dropped by the"
echo "default action (fos) or the final counter drop (nftables)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < ${#CASES[@]}; k++)); do
    c=${CASES[$(((k + r) % ${#CASES[@]}))]}
    "setup_$c"
    m=$(measure) || exit 1
    read -r rx sent n nsp busy <<<"$m"
    "teardown_$c"
    RX[$c]="${RX[$c]:-} $rx"
    SENT[$c]="${SENT[$c]:-} $sent"
    NSP[$c]="${NSP[$c]:-} $nsp"
    case $c in
    fos) check="fos ($FOS_MODE) counted $CHECK_FOS_P, default action $CHECK_FOS_D" ;;
    nft*) check="nft final drop counted $CHECK_NFT" ;;
    *) check="" ;;
    esac
    printf '  round %d %-7s rx %7.3f Mpps  sent %7.3f Mpps  napi %6.1f ns/pkt, busy %3d%%  rx %d %s\n' \
      $((r + 1)) "$c" "$rx" "$sent" "$nsp" "$busy" "$n" "$check"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | awk 'NF' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }

echo
printf '%-47s %8s %12s %9s %9s %8s %8s\n' "receiver (medians)" "rx Mpps" "range" "sent Mpps" \
  "napi ns" "x DROP" "x nft(c)"
declare -A MED MNS
for c in "${CASES[@]}"; do
  MED[$c]=$(echo "${RX[$c]}" | median)
  MNS[$c]=$(echo "${NSP[$c]}" | median)
done
for c in "${CASES[@]}"; do
  awk -v n="${NAME[$c]}" -v m="${MED[$c]}" -v rg="$(echo "${RX[$c]}" | range)" \
    -v s="$(echo "${SENT[$c]}" | median)" -v ns="${MNS[$c]}" -v base="${MED[drop]}" \
    -v nft="${MED[nft]}" 'BEGIN {
    printf "%-47s %8.2f %12s %9.2f %9.1f %8.2f %8.2f\n", n, m, rg, s, ns, m / base, m / nft }'
done
awk -v a="${MED[drop]}" -v b="${MED[fos]}" -v c="${MED[nft]}" -v na="${MNS[drop]}" \
  -v nb="${MNS[fos]}" -v nc="${MNS[nft]}" 'BEGIN {
  printf "\nreceived Mpps, ratio of medians: fos / bare XDP_DROP = %.2f   fos / nftables = %.2f\n", b / a, b / c
  printf "NAPI CPU time per packet: fos %.0f ns, bare XDP_DROP %.0f ns, nftables %.0f ns (nftables / fos = %.1f)\n", nb, na, nc, nc / nb }'
echo "napi ns = CPU time of the receiving NAPI kthread per packet received (schedstat), which"
echo "other load on the machine does not inflate; busy = its share of the run. A receiver that"
echo "gets about what was sent (busy well under 100%) is limited by the generator, not by itself."
exit 0
