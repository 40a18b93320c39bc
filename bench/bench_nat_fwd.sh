#!/usr/bin/env bash
# bench_nat_fwd.sh: packets per second forwarded through a router namespace
# that masquerades the sender's network behind its outside address, in the
# same run:
#   (a) kernel forwarding, no NAT: the ceiling
#   (b) fos: the real fwd with a natConfig (masquerade, RIN inside, ROUT
#       outside, sourceCIDRs the sender's network, hairpinning = false as
#       nftables' rule below does none): fos_nat_out on ROUT's TC egress
#       translates every packet (fos_nat_in sits on ROUT's ingress, which
#       these packets do not cross)
#   (c) nftables masquerade: "type nat hook postrouting; oifname ROUT
#       masquerade", with the kernel's conntrack that it needs
#   (d) a bare BPF program on ROUT's tc egress (fos_tc_bench_ok, TC_ACT_OK),
#       attached as fwd attaches (a tcx link where the kernel has tcx, else
#       a clsact filter): the floor of (b), the cost of the hook fos uses on
#       this path
#   (e) fos with hairpinning = true: fos_nat_hairpin on RIN's ingress as
#       well, which looks at every packet from the inside for one to an
#       external address; what hairpinning costs, beside the comparison
#   (f) where the kernel has tcx, on request (FOS_BENCH_CASES): the bare
#       program on ROUT's egress and on RIN's ingress as clsact filters
#       (what fos attaches with daemon.tcAttach = "clsact", and on kernels
#       before 6.6)
#
# The lab, the generator and the figures are bench_ct_fwd.sh's: sender ns --
# veth -- router ns (ip_forward=1) -- veth -- receiver ns, in 198.18.0.0/15
# (sender 198.18.0.2, router 198.18.0.1 and 198.18.1.1, receiver
# 198.18.1.2); bench-gen sends 60-byte UDP frames 198.18.0.2 -> 198.18.1.2
# port 9 from FLOWS source ports, one long test run per measurement; the
# router's ingress NAPI kthread does all of the router's work on CPU 1; the
# receiver's native XDP program counts and drops what arrives. Each round
# runs every case with FLOWS = 1 and FLOWS = FOS_BENCH_NAT_FLOWS (default
# 10000): one mapping, and ten thousand mappings created in the first
# milliseconds of the run and then looked up in turn.
#
# Cross-checks: the receiver must see the router's outside address as the
# source (a tcpdump of a few frames of each NAT case: 198.18.1.1, never
# 198.18.0.2); (b) against fos's counters (translatedOut, mappings),
# (c) against the nft counter: each must have seen every packet the
# receiver got.
#
# Figures: rx Mpps, router ns/pkt (CPU time of the router's NAPI kthread per
# packet it took in), and what fos and nftables add to the router's CPU per
# packet over plain kernel forwarding; the goal of fos is at most half of
# what nftables adds. Each case runs ROUNDS times (default 5), the order
# rotating, SECONDS each (default 2); medians and the best round are
# printed, and the ratio twice: of the cases' medians, and the median of
# each round's own ratio (its three cases ran within the same minute, so a
# slow spell of a shared machine weighs on all three alike). Figures are only printed, never judged: exit 0 when it ran, 77
# when it cannot run here.
#
#   bash bench/bench_nat_fwd.sh [BUILD_DIR]      (BUILD_DIR defaults to ./build)
#   FOS_BENCH_ROUNDS=3 FOS_BENCH_SECONDS=3 FOS_BENCH_NAT_FLOWS=1000 bash bench/bench_nat_fwd.sh build
#   FOS_BENCH_CASES="kernel fos" bash bench/bench_nat_fwd.sh build   (some of the cases only)
set -u

BENCH_NAME=bench_nat_fwd
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
ROUNDS=${FOS_BENCH_ROUNDS:-5}
SECONDS_RUN=${FOS_BENCH_SECONDS:-2}
MANY=${FOS_BENCH_NAT_FLOWS:-10000}
DPORT=9

[ "$(id -u)" = 0 ] || skip "needs root"
for c in ip tc nft ethtool bpftool taskset chrt awk python3 mountpoint tcpdump; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
FWD=$BUILD/daemon/fwd
FOSCTL=$BUILD/cli/fosctl
GEN=$BUILD/bench/bench-gen
RTT=$BUILD/bench/bench-rtt
OBJ=$BUILD/bpf/xdp_bench.bpf.o
TC_OBJ=$BUILD/bpf/tc_bench.bpf.o
TCXA=$BUILD/bench/bench-tcx-attach
for f in "$FWD" "$FOSCTL" "$GEN" "$RTT" "$OBJ" "$TC_OBJ" "$TCXA"; do
  [ -e "$f" ] || skip "$f is missing (build the tree first)"
done
NCPU=$(nproc)
GEN_CPU=0
ROUTER_CPU=$((NCPU > 1 ? 1 : 0))
RX_CPU=0

ID=$$
NS_TX="fosb-nat-$ID-tx"
NS_R="fosb-nat-$ID-r"
NS_RX="fosb-nat-$ID-rx"
SHORT=$((ID % 100000))
TXIF=nt0
RIN="ni$SHORT" # the router's interfaces and the receiver's name their NAPI
ROUT="no$SHORT" # kthreads: keep them unique and short
RXIF="nr$SHORT"
T=$(mktemp -d /tmp/fos-bench-nat-fwd.XXXXXX)
PIN=$T/bpf
SOCK=$T/fwd.sock
FWD_PID=

BENCH_NAMESPACES="$NS_TX $NS_R $NS_RX"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

inR() { ip netns exec "$NS_R" "$@"; }
inRX() { ip netns exec "$NS_RX" "$@"; }
fosctl() { "$FOSCTL" -s "$SOCK" "$@"; }

# ---- the lab --------------------------------------------------------------------
for ns in "$NS_TX" "$NS_R" "$NS_RX"; do
  ip netns add "$ns" || die "cannot create namespace $ns"
  ip -n "$ns" link set lo up
done
ip link add "$TXIF" netns "$NS_TX" type veth peer name "$RIN" netns "$NS_R" ||
  die "cannot create the sender's veth pair"
ip link add "$ROUT" netns "$NS_R" type veth peer name "$RXIF" netns "$NS_RX" ||
  die "cannot create the receiver's veth pair"
gen_link "$NS_TX" "$TXIF"
inR sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
  net.ipv4.conf.default.rp_filter=0 || die "cannot turn forwarding on"
ip -n "$NS_TX" addr add 198.18.0.2/24 dev "$TXIF"
ip -n "$NS_R" addr add 198.18.0.1/24 dev "$RIN"
ip -n "$NS_R" addr add 198.18.1.1/24 dev "$ROUT"
ip -n "$NS_RX" addr add 198.18.1.2/24 dev "$RXIF"
ip -n "$NS_TX" link set "$TXIF" up
ip -n "$NS_R" link set "$RIN" up
ip -n "$NS_R" link set "$ROUT" up
ip -n "$NS_RX" link set "$RXIF" up
inR sysctl -qw "net.ipv4.conf.$RIN.rp_filter=0" "net.ipv4.conf.$ROUT.rp_filter=0"
ip -n "$NS_TX" route add 198.18.1.0/24 via 198.18.0.1
# no route back to the sender's network: only the router's address answers
ROUTER_MAC=$(inR cat "/sys/class/net/$RIN/address")
RX_MAC=$(inRX cat "/sys/class/net/$RXIF/address")
ip -n "$NS_R" neigh replace 198.18.1.2 lladdr "$RX_MAC" dev "$ROUT" nud permanent ||
  die "cannot add the receiver's neighbour entry"
inRX ip link set dev "$RXIF" xdp obj "$OBJ" sec xdp program fos_xdp_count ||
  die "cannot attach fos_xdp_count to the receiver"
inR ethtool -K "$RIN" gro on >/dev/null || die "cannot turn GRO on on $RIN"
mkdir -p "$PIN"
mount -t bpf bpf "$PIN" || die "cannot mount a bpffs at $PIN"
bpftool prog loadall "$TC_OBJ" "$PIN/tcb" type classifier ||
  die "cannot load the bare TC program"

ROUTER_NAPI=$(napi_threads "$NS_R" "$RIN" "$ROUTER_CPU")
for pid in $(napi_threads "$NS_RX" "$RXIF" "$RX_CPU"); do
  chrt -f -p 50 "$pid" || die "cannot make the receiver's NAPI thread real-time"
done

for hp in false true; do
  cat >"$T/fwd-hp-$hp.conf" <<EOF
natConfigs = ( {
	name = "bench-masq";
	interfaces = { source = "$RIN"; destination = "$ROUT"; };
	type = "masquerade";
	ipVersion = "ipv4";
	sourceCIDRs = ( "198.18.0.0/24" );
	connectionTracking = { enabled = true; maxConnections = 262144; };
	hairpinning = $hp;
	endpointIndependent = true;
} );
EOF
done
cat >"$T/nft.nft" <<EOF
table ip fosbench {
	chain post {
		type nat hook postrouting priority 100; policy accept;
		oifname "$ROUT" counter masquerade
	}
}
EOF

# ---- cases --------------------------------------------------------------------------
# "translatedOut mappings" of bench-masq as fwd reports them
fos_counts() {
  fosctl -j show nat | python3 -c 'import json, sys
c = json.load(sys.stdin)["configs"][0]
print(c["counters"]["translatedOut"], c["mappings"])' || die "fosctl show nat failed"
}

setup_kernel() { :; }
teardown_kernel() { CHECK=""; }

setup_fos() { # [HAIRPINNING]
  ip netns exec "$NS_R" "$FWD" -c "$T/fwd-hp-${1:-false}.conf" -s "$SOCK" --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 &
  FWD_PID=$!
  "$RTT" -s "$SOCK" wait --timeout 60 >/dev/null || die "fwd did not become ready"
  FOS_C0=$(fos_counts)
}
teardown_fos() {
  local o0 o1 mp
  read -r o0 _ <<<"$FOS_C0"
  read -r o1 mp <<<"$(fos_counts)"
  CHECK_SEEN=$((o1 - o0))
  CHECK="fos translated $CHECK_SEEN, $mp mappings"
  kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  FWD_PID=
  inR "$FWD" --flush --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 || die "fwd --flush failed"
  inR tc qdisc del dev "$RIN" clsact 2>/dev/null
  inR tc qdisc del dev "$ROUT" clsact 2>/dev/null
}
setup_foshp() { setup_fos true; }
teardown_foshp() { teardown_fos; }

HAVE_TCX=0
"$TCXA" --probe && HAVE_TCX=1
setup_tcbare() {
  if [ $HAVE_TCX = 1 ]; then
    inR "$TCXA" "$PIN/tcb/fos_tc_bench_ok" "$ROUT" egress "$PIN/tcb-out" ||
      die "cannot attach the bare TC program to tcx"
  else
    inR tc qdisc add dev "$ROUT" clsact || die "cannot add a clsact qdisc"
    inR tc filter add dev "$ROUT" egress prio 1 bpf da pinned "$PIN/tcb/fos_tc_bench_ok" ||
      die "cannot attach the bare TC program"
  fi
}
teardown_tcbare() {
  CHECK=""
  if [ $HAVE_TCX = 1 ]; then
    rm -f "$PIN/tcb-out"
  else
    inR tc qdisc del dev "$ROUT" clsact
  fi
}
setup_tcclsact() {
  inR tc qdisc add dev "$RIN" clsact || die "cannot add a clsact qdisc"
  inR tc qdisc add dev "$ROUT" clsact || die "cannot add a clsact qdisc"
  inR tc filter add dev "$RIN" ingress prio 1 bpf da pinned "$PIN/tcb/fos_tc_bench_ok" ||
    die "cannot attach the bare TC program"
  inR tc filter add dev "$ROUT" egress prio 1 bpf da pinned "$PIN/tcb/fos_tc_bench_ok" ||
    die "cannot attach the bare TC program"
}
teardown_tcclsact() {
  CHECK=""
  inR tc qdisc del dev "$RIN" clsact
  inR tc qdisc del dev "$ROUT" clsact
}

setup_nft() {
  inR nft -f "$T/nft.nft" || die "nft cannot load the ruleset"
}
teardown_nft() {
  CHECK_SEEN=$(inR nft list chain ip fosbench post |
    awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
  # masquerade is evaluated once per connection, on its first packet
  CHECK="nft masquerade rule hit $CHECK_SEEN times (once per flow)"
  CHECK_SEEN=
  inR nft delete table ip fosbench
}

stat_of() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

# the source address the receiver sees while the generator runs (a NAT case
# must show the router's outside address)
seen_source() { # FLOWS
  local cap=$T/cap.txt
  inRX ip link set dev "$RXIF" xdp off
  inRX timeout 5 tcpdump -l -n -c 3 -i "$RXIF" udp dst port $DPORT >"$cap" 2>/dev/null &
  local tp=$!
  sleep 0.5
  ip netns exec "$NS_TX" timeout 3 "$GEN" -i "$TXIF" -t 0.3 --dst-mac "$ROUTER_MAC" \
    --saddr 198.18.0.2 --daddr 198.18.1.2 --dport "$DPORT" --sports "$1" >/dev/null 2>&1
  wait "$tp" 2>/dev/null
  inRX ip link set dev "$RXIF" xdp obj "$OBJ" sec xdp program fos_xdp_count ||
    die "cannot re-attach fos_xdp_count to the receiver"
  for pid in $(napi_threads "$NS_RX" "$RXIF" "$RX_CPU"); do
    chrt -f -p 50 "$pid" || die "cannot make the receiver's NAPI thread real-time"
  done
  awk '{ print $3 }' "$cap" | sed 's/\.[0-9]*$//' | sort -u | tr '\n' ' '
}

measure() { # FLOWS; prints "rx_mpps in_mpps sent_mpps rx_packets in_packets ns_per_pkt busy_pct"
  local a b ia ib ra rb out frames secs
  ra=$(napi_runtime $ROUTER_NAPI)
  a=$(stat_of "$NS_RX" "$RXIF" rx_packets)
  ia=$(stat_of "$NS_R" "$RIN" rx_packets)
  out=$(taskset -c "$GEN_CPU" ip netns exec "$NS_TX" "$GEN" -i "$TXIF" -t "$SECONDS_RUN" \
        --dst-mac "$ROUTER_MAC" --saddr 198.18.0.2 --daddr 198.18.1.2 --dport "$DPORT" \
        --sports "$1") || die "bench-gen failed"
  sleep 0.2
  b=$(stat_of "$NS_RX" "$RXIF" rx_packets)
  ib=$(stat_of "$NS_R" "$RIN" rx_packets)
  rb=$(napi_runtime $ROUTER_NAPI)
  frames=$(echo "$out" | awk '{print $2}')
  secs=$(echo "$out" | awk '{print $4}')
  awk -v r=$((b - a)) -v i=$((ib - ia)) -v f="$frames" -v s="$secs" -v ns=$((rb - ra)) 'BEGIN {
    printf "%.3f %.3f %.3f %d %d %.1f %.0f\n", r / s / 1e6, i / s / 1e6, f / s / 1e6, r, i,
      i ? ns / i : 0, ns / s / 1e7 }'
}

# the translation itself, once per NAT case, before timing
for c in fos nft; do
  "setup_$c"
  src=$(seen_source 4)
  CHECK_SEEN=
  "teardown_$c"
  case "$src" in
  "198.18.1.1 ") echo "check: ($c) the receiver sees the source 198.18.1.1 (translated)" ;;
  *) die "($c) the receiver saw the source(s) '$src', not the router's 198.18.1.1" ;;
  esac
done
ROUTER_NAPI=$(napi_threads "$NS_R" "$RIN" "$ROUTER_CPU")

if [ $HAVE_TCX = 1 ]; then
  HOW=tcx
else
  HOW=clsact
fi
read -r -a CASES <<<"${FOS_BENCH_CASES:-kernel fos nft tcbare foshp}"
declare -A NAME=(
  [kernel]="(a) kernel forwarding, no NAT"
  [fos]="(b) fos masquerade (fwd, $HOW)"
  [nft]="(c) nftables masquerade + conntrack"
  [tcbare]="(d) a bare program ($HOW)"
  [foshp]="(e) fos masquerade, hairpinning ($HOW)"
  [tcclsact]="(f) two bare programs (clsact)"
)
echo "fos attaches its TC programs as $HOW here (tcx links on Linux 6.6 and later, else clsact filters)"
declare -A RX NSP

echo "bench_nat_fwd: 60-byte UDP, sender -> router (masquerading) -> receiver; generator on CPU" \
  "$GEN_CPU, router NAPI thread on CPU $ROUTER_CPU, receiver NAPI thread on CPU $RX_CPU;"
echo "$ROUNDS rounds x ${SECONDS_RUN}s per case and flow count (1 and $MANY), order rotating"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < ${#CASES[@]}; k++)); do
    c=${CASES[$(((k + r) % ${#CASES[@]}))]}
    for flows in 1 "$MANY"; do
      "setup_$c"
      m=$(measure "$flows") || exit 1
      read -r rx in sent n _ nsp busy <<<"$m"
      CHECK_SEEN=
      "teardown_$c"
      if [ -n "$CHECK_SEEN" ] && [ "$CHECK_SEEN" -lt $((n - 16)) ]; then
        CHECK="$CHECK  (FEWER than the $n the receiver got)"
      fi
      RX[$c.$flows]="${RX[$c.$flows]:-} $rx"
      NSP[$c.$flows]="${NSP[$c.$flows]:-} $nsp"
      [ "$busy" -lt 90 ] && sat="*" || sat=" "
      printf '  round %d %-6s %5d flows rx %6.3f Mpps  router in %6.3f  sent %6.3f  router %6.1f ns/pkt, busy %3d%%%s rx %d %s\n' \
        $((r + 1)) "$c" "$flows" "$rx" "$in" "$sent" "$nsp" "$busy" "$sat" "$n" "$CHECK"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { tr ' ' '\n' | awk 'NF' | sort -g | head -n 1; }

echo
for flows in 1 "$MANY"; do
  printf '%-40s %6s %9s %10s %11s %11s\n' "$flows flow(s) (medians)" "rx Mpps" "x kernel" \
    "router ns" "best round" "over kernel"
  declare -A MED MNS BNS
  for c in "${CASES[@]}"; do
    MED[$c]=$(echo "${RX[$c.$flows]}" | median)
    MNS[$c]=$(echo "${NSP[$c.$flows]}" | median)
    BNS[$c]=$(echo "${NSP[$c.$flows]}" | best)
  done
  for c in "${CASES[@]}"; do
    awk -v n="${NAME[$c]}" -v m="${MED[$c]}" -v ns="${MNS[$c]}" -v b="${BNS[$c]}" \
      -v base="${MED[kernel]:-0}" -v nk="${MNS[kernel]:-0}" 'BEGIN {
      printf "%-40s %7.3f %9.2f %10.1f %11.1f %+11.1f\n", n, m, base ? m / base : 0, ns, b, ns - nk }'
  done
  # the comparison needs all four cases (FOS_BENCH_CASES may leave some out)
  [ -n "${MNS[kernel]:-}" ] && [ -n "${MNS[fos]:-}" ] && [ -n "${MNS[nft]:-}" ] &&
    [ -n "${MNS[tcbare]:-}" ] &&
  awk -v na="${MNS[kernel]}" -v nb="${MNS[fos]}" -v nc="${MNS[nft]}" -v nd="${MNS[tcbare]}" \
    -v ba="${BNS[kernel]}" -v bb="${BNS[fos]}" -v bc="${BNS[nft]}" \
    -v ra="${NSP[kernel.$flows]}" -v rb="${NSP[fos.$flows]}" -v rc="${NSP[nft.$flows]}" \
    -v fb="${MED[fos]}" -v fc="${MED[nft]}" -v f="$flows" 'BEGIN {
    ratio = (nc - na) > 0 ? (nb - na) / (nc - na) : 0
    bratio = (bc - ba) > 0 ? (bb - ba) / (bc - ba) : 0
    # each round its own ratio, then their median
    n = split(ra, xa, " "); split(rb, xb, " "); split(rc, xc, " ")
    m = 0
    for (i = 1; i <= n; i++)
      if (xc[i] - xa[i] > 0) r[++m] = (xb[i] - xa[i]) / (xc[i] - xa[i])
    for (i = 1; i <= m; i++)
      for (j = i + 1; j <= m; j++)
        if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
    pr = m ? (m % 2 ? r[(m + 1) / 2] : (r[m / 2] + r[m / 2 + 1]) / 2) : 0
    rounds = ""
    for (i = 1; i <= m; i++) rounds = rounds sprintf(" %.2f", r[i])
    printf "%s flow(s): router CPU per packet added over kernel forwarding: fos %+.0f ns (the hook alone %+.0f), nftables masquerade %+.0f ns\n",
      f, nb - na, nd - na, nc - na
    printf "  fos / nftables of that added cost = %.2f medians, %.2f best rounds (goal <= 0.5: %s)\n",
      ratio, bratio, (ratio <= 0.5 ? "met" : "NOT met")
    printf "  the same, round by round:%s; their median %.2f (goal <= 0.5: %s)\n", rounds, pr,
      (m && pr <= 0.5 ? "met" : "NOT met")
    printf "  forwarded Mpps fos / nftables = %.2f\n", fb / fc }'
  [ -n "${MNS[fos]:-}" ] && [ -n "${MNS[foshp]:-}" ] &&
    awk -v nb="${MNS[fos]}" -v ne="${MNS[foshp]}" 'BEGIN {
    printf "  hairpinning (e) adds %+.0f ns per packet to (b): its program on the inside ingress\n", ne - nb }'
  echo
  unset MED MNS BNS
done
echo "router ns = CPU time of the router's NAPI kthread (receive, NAT, forward, transmit) per"
echo "packet it took in; busy = its share of the run: * = under 90%, the router waited for"
echo "its CPU (other load), so that round's rx Mpps is low."
exit 0
