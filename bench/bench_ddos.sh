#!/usr/bin/env bash
# bench_ddos.sh: a veth receiver under a spoofed TCP SYN flood, four ways, with
# the same traffic in the same run:
#   (a) bare XDP_DROP: fos_xdp_drop attached natively with ip link (the floor)
#   (b) fos: the real fwd with one xdp program, synFloodProtection always on:
#       every SYN from a source that has not proved itself is answered with a
#       SYN cookie (a SYN-ACK sent back with XDP_TX) and goes no further
#   (c) nftables synproxy: an inet table whose raw-priority prerouting chain
#       marks SYNs to the service notrack and whose input chain answers
#       untracked and invalid packets with "synproxy mss 1460 wscale 7
#       timestamp sack-perm" (conntrack's SYN cookies); GRO gives the veth NAPI
#   (d) nftables limit: a netdev ingress chain that drops SYNs over "limit rate
#       over 1000/second", the rest goes on to the kernel's own listener
#       (with its SYN cookies when the backlog overflows)
# and then, (e), a legitimate client's TCP connections under the same flood
# for (b), (c) and (d): how many succeed and how long each takes.
#
# Traffic: bench-gen --mode syn in the sender namespace, out of the sender
# veth: 60-byte TCP SYNs (64 bytes on the wire) to 198.19.0.1 port 7000, each
# from a random source in 198.18.128.0/17 with a random port and sequence
# number, one long live-frames run per measurement pinned to CPU 0. The
# receiving veth's NAPI runs threaded, its kthread pinned to CPU 1. While the
# rates are measured the sender veth drops the answers in XDP (fos_xdp_count):
# they are addressed to spoofed sources, and a veth's NAPI for frames sent to
# it runs on the sending CPU, so a sender stack taking them would cost the
# receiver's CPU; for the legitimate client of (e) it drops only those to the
# spoofed prefix (fos_xdp_sink_spoofed, an XDP program, so frames sent with
# XDP_TX wake it) and takes its own. The
# receiver routes the spoofed prefix back to the sender, so answers cost no
# neighbour lookups.
#
# Figures per run: rx Mpps, the receiving veth's rx_packets over the
# generator's run time; answered Mpps, the SYN-ACKs that came back (the sender
# veth's rx_packets); napi ns, the CPU time of the receiving NAPI kthread per
# packet received. fos's cookie counter (fosctl show ddos) and the nft
# counters are printed beside them as a cross-check.
#
# Each case runs ROUNDS times (default 5) for SECONDS each (default 3), the
# order rotating every round; medians and ratios are printed. The client of
# (e) makes CONNECTS connections (default 1000) one after another, each
# connect, a line, its echo, close, for at most LEGIT_SECONDS (default 60:
# where most connects time out, as behind the limit rule, the rest are not
# tried; the table says how many were). Figures are only printed, never judged:
# exit 0 when it ran, 77 when it cannot run here.
#
#   bash bench/bench_ddos.sh [BUILD_DIR]      (BUILD_DIR defaults to ./build)
#   FOS_BENCH_ROUNDS=3 FOS_BENCH_SECONDS=2 FOS_BENCH_CONNECTS=200 FOS_BENCH_LEGIT_SECONDS=20 \
#     bash bench/bench_ddos.sh
set -u

BENCH_NAME=bench_ddos
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
ROUNDS=${FOS_BENCH_ROUNDS:-5}
SECONDS_RUN=${FOS_BENCH_SECONDS:-3}
CONNECTS=${FOS_BENCH_CONNECTS:-1000}
LEGIT_SECONDS=${FOS_BENCH_LEGIT_SECONDS:-60}

[ "$(id -u)" = 0 ] || skip "needs root"
for c in ip nft tc ethtool taskset awk python3 mountpoint sysctl; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
FWD=$BUILD/daemon/fwd
FOSCTL=$BUILD/cli/fosctl
GEN=$BUILD/bench/bench-gen
RTT=$BUILD/bench/bench-rtt
OBJ=$BUILD/bpf/xdp_bench.bpf.o
PASS_OBJ=$BUILD/bpf/xdp_pass.bpf.o
TOOLS=$SRC_DIR/tests/e2e/ddos_tools.py
ECHO=$SRC_DIR/tests/e2e/ct_tools.py
for f in "$FWD" "$FOSCTL" "$GEN" "$RTT" "$OBJ" "$PASS_OBJ" "$TOOLS" "$ECHO"; do
  [ -e "$f" ] || skip "$f is missing (build the tree first)"
done
NCPU=$(nproc)
GEN_CPU=0
RX_CPU=$((NCPU > 1 ? 1 : 0))

ID=$$
NS_TX="fosb-ddos-$ID-tx"
NS_RX="fosb-ddos-$ID-rx"
TXIF="fs$((ID % 100000))"
RXIF="fd$((ID % 100000))" # names the NAPI kthread: keep it unique and short
SPOOF=198.18.128.0/17
DST=198.19.0.1
PORT=7000
T=$(mktemp -d /tmp/fos-bench-ddos.XXXXXX)
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
ip -n "$NS_RX" addr add "$DST/15" dev "$RXIF"
for ns in "$NS_TX" "$NS_RX"; do ip -n "$ns" link set lo up; done
ip -n "$NS_TX" link set "$TXIF" up
ip -n "$NS_RX" link set "$RXIF" up
# answers to the spoofed sources go to the sender's MAC, not to 32k neighbours
ip -n "$NS_RX" route add "$SPOOF" via 198.18.0.1 dev "$RXIF"
# and that MAC never needs asking for: while rates are measured the sender
# drops every frame in XDP, ARP replies too, and answers sent by the stack
# (synproxy's) would wait for a neighbour that never comes
ip -n "$NS_RX" neigh replace 198.18.0.1 lladdr "$(inTX cat "/sys/class/net/$TXIF/address")" \
  dev "$RXIF" nud permanent || die "cannot add the sender's neighbour entry"
# the sender takes the SYN-ACKs: its veth needs NAPI, and an XDP program, as
# frames sent back with XDP_TX wake the NAPI of a veth with only GRO on not at
# all (they wait for the next packet sent to it the usual way)
inTX ip link set dev "$TXIF" xdp obj "$PASS_OBJ" sec xdp ||
  die "cannot attach fos_xdp_pass to $TXIF"
# queues on both ends, as NICs' drivers have: when a veth's ring is full (the
# flood keeps the receiver's full, the answers may fill the sender's), what
# the stack sends waits there; a veth with noqueue, its default, drops it
for q in "$NS_TX $TXIF" "$NS_RX $RXIF"; do
  read -r ns dev <<<"$q"
  ip netns exec "$ns" tc qdisc replace dev "$dev" root pfifo limit 1000 ||
    die "cannot give $dev a qdisc"
done
inRX sysctl -qw net.ipv4.tcp_syncookies=1 net.ipv4.tcp_timestamps=1 net.core.somaxconn=4096
RX_MAC=$(inRX cat "/sys/class/net/$RXIF/address")
mkdir -p "$PIN" "$T/echo"
mount -t bpf bpf "$PIN" || die "cannot mount a bpffs at $PIN"
inRX python3 "$ECHO" echo "$T/echo" "tcp:$PORT" >>"$T/echo.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/echo/echo.ready" ] && break; sleep 0.1; done
[ -f "$T/echo/echo.ready" ] || die "the echo server did not start"
inTX python3 "$TOOLS" connects "$DST" "$PORT" 3 --timeout 2 | grep -q '"ok": 3' ||
  die "the client cannot reach the echo server before any filter"

cat >"$T/fwd.conf" <<EOF
programs = (
	{
		name = "bench";
		type = "xdp";
		interface = "$RXIF";
		settings = {
			synFloodProtection = { enabled = true; always = true; };
			actions = { default = "pass"; };
		};
	}
);
EOF
cat >"$T/synproxy.nft" <<EOF
table inet fosbench {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp dport $PORT tcp flags syn notrack
	}
	chain in {
		type filter hook input priority filter; policy accept;
		tcp dport $PORT ct state invalid,untracked counter synproxy mss 1460 wscale 7 timestamp sack-perm
		ct state invalid counter drop
	}
}
EOF
cat >"$T/limit.nft" <<EOF
table netdev fosbench {
	chain ingress {
		type filter hook ingress device "$RXIF" priority 0; policy accept;
		tcp flags & (syn | ack) == syn limit rate over 1000/second counter drop
	}
}
EOF

# ---- receiver set-ups: each leaves NAPI on the receiving veth ---------------------
# NAPI threaded, its kthread on RX_CPU; run after every set-up (NAPI comes and
# goes with XDP and GRO)
napi_pin() { NAPI_PIDS=$(napi_threads "$NS_RX" "$RXIF" "$RX_CPU"); }

fos_cookies() { # "sent proved"
  "$FOSCTL" -j -s "$SOCK" show ddos bench | python3 -c 'import json, sys
p = json.load(sys.stdin)["programs"][0]
print(p["cookies"]["sent"], p["cookies"]["proved"])'
}

setup_drop() {
  inRX ip link set dev "$RXIF" xdp obj "$OBJ" sec xdp program fos_xdp_drop ||
    die "cannot attach fos_xdp_drop"
  napi_pin
  CHECK=""
}
teardown_drop() { inRX ip link set dev "$RXIF" xdp off; }

setup_fos() {
  ip netns exec "$NS_RX" "$FWD" -c "$T/fwd.conf" -s "$SOCK" --pin-dir "$PIN" \
    >>"$T/fwd.log" 2>&1 &
  FWD_PID=$!
  "$RTT" -s "$SOCK" wait --timeout 60 >/dev/null || die "fwd did not become ready"
  napi_pin
  local c
  c=$(fos_cookies) || die "fosctl show ddos failed (is synFloodProtection supported?)"
  read -r FOS_C0 _ <<<"$c"
}
teardown_fos() {
  local c s p
  c=$(fos_cookies) || die "fosctl show ddos failed"
  read -r s p <<<"$c"
  CHECK="fos cookies sent $((s - FOS_C0)), sources proved $p"
  kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  FWD_PID=
  inRX "$FWD" --flush --pin-dir "$PIN" >>"$T/fwd.log" 2>&1 || die "fwd --flush failed"
}

nft_counters() { # family: the packets of every counter, in rule order
  inRX nft list table "$1" fosbench |
    awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") printf "%s ", $(i + 1) } END { print "" }'
}
setup_nftsyn() {
  inRX ethtool -K "$RXIF" gro on >/dev/null || die "cannot turn GRO on"
  inRX nft -f "$T/synproxy.nft" || die "nft cannot load the synproxy ruleset"
  inRX sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 ||
    die "cannot set nf_conntrack_tcp_loose=0"
  napi_pin
}
teardown_nftsyn() {
  local c
  c=$(nft_counters inet)
  CHECK="nft synproxy counted $(echo "$c" | awk '{print $1}'), invalid dropped $(echo "$c" | awk '{print $2}')"
  inRX nft delete table inet fosbench
  inRX ethtool -K "$RXIF" gro off >/dev/null
  inRX conntrack -F >/dev/null 2>&1
}
setup_nftlim() {
  inRX ethtool -K "$RXIF" gro on >/dev/null || die "cannot turn GRO on"
  inRX nft -f "$T/limit.nft" || die "nft cannot load the limit ruleset"
  napi_pin
}
teardown_nftlim() {
  CHECK="nft limit dropped $(nft_counters netdev)"
  inRX nft delete table netdev fosbench
  inRX ethtool -K "$RXIF" gro off >/dev/null
}

# What the sender's veth does with the answers: "drop" them all in XDP while
# the receiver's rate is measured (answers to spoofed sources are nobody's:
# the sender's stack must not spend the receiver's CPU on them, since a veth's
# NAPI for frames sent with XDP_TX or by the stack runs on the CPU that sent
# them; dropping them there is still charged to the receiver's CPU, which a
# NIC sending them would not be); "pass" for the legitimate client of (e):
# those to the spoofed prefix are dropped in XDP (fos_xdp_sink_spoofed), the
# client's own go to its stack.
sender_xdp() {
  inTX ip link set dev "$TXIF" xdp off
  if [ "$1" = drop ]; then
    inTX ip link set dev "$TXIF" xdp obj "$OBJ" sec xdp program fos_xdp_count ||
      die "cannot attach fos_xdp_count to $TXIF"
  else
    inTX ip link set dev "$TXIF" xdp obj "$OBJ" sec xdp program fos_xdp_sink_spoofed ||
      die "cannot attach fos_xdp_sink_spoofed to $TXIF"
  fi
}

# measure: prints "rx_mpps sent_mpps answered_mpps napi_ns_per_packet busy_percent"
measure() {
  local a b aa ab ra rb out frames secs
  sender_xdp drop
  ra=$(napi_runtime $NAPI_PIDS)
  a=$(rx_packets "$NS_RX" "$RXIF")
  aa=$(rx_packets "$NS_TX" "$TXIF")
  out=$(taskset -c "$GEN_CPU" ip netns exec "$NS_TX" "$GEN" -i "$TXIF" -m syn -t "$SECONDS_RUN" \
        --src-prefix "$SPOOF" --daddr "$DST" --dport "$PORT" --dst-mac "$RX_MAC") ||
    die "bench-gen failed"
  sleep 0.1
  b=$(rx_packets "$NS_RX" "$RXIF")
  ab=$(rx_packets "$NS_TX" "$TXIF")
  rb=$(napi_runtime $NAPI_PIDS)
  frames=$(echo "$out" | awk '{print $2}')
  secs=$(echo "$out" | awk '{print $4}')
  awk -v r=$((b - a)) -v f="$frames" -v s="$secs" -v ans=$((ab - aa)) -v ns=$((rb - ra)) 'BEGIN {
    printf "%.3f %.3f %.3f %.1f %.0f\n", r / s / 1e6, f / s / 1e6, ans / s / 1e6, r ? ns / r : 0, ns / s / 1e7 }'
}

# (e): CONNECTS connections while the flood runs; prints the client's JSON
legit() {
  local gen out
  sender_xdp pass
  taskset -c "$GEN_CPU" ip netns exec "$NS_TX" "$GEN" -i "$TXIF" -m syn -t 600 \
    --src-prefix "$SPOOF" --daddr "$DST" --dport "$PORT" --dst-mac "$RX_MAC" >/dev/null 2>&1 &
  gen=$!
  sleep 0.5
  out=$(inTX python3 "$TOOLS" connects "$DST" "$PORT" "$CONNECTS" --timeout 3 \
        --max-seconds "$LEGIT_SECONDS")
  kill -INT "$gen" 2>/dev/null; wait "$gen" 2>/dev/null
  echo "$out"
}

# FOS_BENCH_DDOS_CASES picks some of them (a run without fos, say)
read -r -a CASES <<<"${FOS_BENCH_DDOS_CASES:-drop fos nftsyn nftlim}"
declare -A NAME=(
  [drop]="(a) bare XDP_DROP (fos_xdp_drop, native)"
  [fos]="(b) fos synFloodProtection always (XDP)"
  [nftsyn]="(c) nftables synproxy (inet, conntrack)"
  [nftlim]="(d) nftables netdev limit 1000/s SYNs"
)
declare -A RX SENT ANS NSP

echo "bench_ddos: 60-byte TCP SYNs from random sources in $SPOOF over a veth pair, generator"
echo "on CPU $GEN_CPU, receiver NAPI thread on CPU $RX_CPU; $ROUNDS rounds x ${SECONDS_RUN}s, order rotating"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < ${#CASES[@]}; k++)); do
    c=${CASES[$(((k + r) % ${#CASES[@]}))]}
    "setup_$c"
    m=$(measure) || exit 1
    read -r rx sent ans nsp busy <<<"$m"
    "teardown_$c"
    RX[$c]="${RX[$c]:-} $rx"
    SENT[$c]="${SENT[$c]:-} $sent"
    ANS[$c]="${ANS[$c]:-} $ans"
    NSP[$c]="${NSP[$c]:-} $nsp"
    printf '  round %d %-7s rx %6.3f Mpps  sent %6.3f  answered %6.3f Mpps  napi %6.1f ns/pkt, busy %3d%%  %s\n' \
      $((r + 1)) "$c" "$rx" "$sent" "$ans" "$nsp" "$busy" "$CHECK"
  done
done

declare -A LEGIT
for c in "${CASES[@]}"; do
  [ "$c" = drop ] && continue
  "setup_$c"
  LEGIT[$c]=$(legit) || exit 1
  "teardown_$c"
  echo "  legitimate client under the flood, $c: ${LEGIT[$c]}  $CHECK"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | awk 'NF' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }

echo
printf '%-42s %8s %12s %9s %9s %9s %8s %8s\n' "receiver (medians)" "rx Mpps" "range" "sent Mpps" \
  "answered" "napi ns" "x DROP" "x synpr"
declare -A MED MNS
for c in "${CASES[@]}"; do
  MED[$c]=$(echo "${RX[$c]}" | median)
  MNS[$c]=$(echo "${NSP[$c]}" | median)
done
for c in "${CASES[@]}"; do
  awk -v n="${NAME[$c]}" -v m="${MED[$c]}" -v rg="$(echo "${RX[$c]}" | range)" \
    -v s="$(echo "${SENT[$c]}" | median)" -v a="$(echo "${ANS[$c]}" | median)" -v ns="${MNS[$c]}" \
    -v base="${MED[drop]:-0}" -v nft="${MED[nftsyn]:-0}" 'BEGIN {
    printf "%-42s %8.2f %12s %9.2f %9.3f %9.1f %8.2f %8.2f\n", n, m, rg, s, a, ns, base ? m / base : 0, nft ? m / nft : 0 }'
done
awk -v a="${MED[drop]:-0}" -v b="${MED[fos]:-0}" -v c="${MED[nftsyn]:-0}" -v d="${MED[nftlim]:-0}" \
  -v nb="${MNS[fos]:-0}" -v nc="${MNS[nftsyn]:-0}" 'BEGIN {
  printf "\nreceived Mpps, ratio of medians: fos / bare XDP_DROP = %.2f   fos / nftables synproxy = %.2f   fos / nftables limit = %.2f\n", a ? b / a : 0, c ? b / c : 0, d ? b / d : 0
  printf "NAPI CPU time per packet: fos %.0f ns, nftables synproxy %.0f ns (synproxy / fos = %.1f)\n", nb, nc, nb ? nc / nb : 0 }'
echo
printf '%-42s %9s %9s %9s %9s %9s\n' "legitimate client under the flood" "success" "tried" "median ms" "p99 ms" \
  "max ms"
for c in "${CASES[@]}"; do
  [ "$c" = drop ] && continue
  echo "${LEGIT[$c]}" | python3 -c 'import json, sys
n = sys.argv[1]
try:
    j = json.loads(sys.stdin.read())
except ValueError:
    print("%-42s %9s" % (n, "no result")); sys.exit(0)
t = j["ok"] + j["failed"]
ms = j["ms"]
f = lambda v: "-" if v is None else "%.1f" % v
print("%-42s %8.1f%% %9d %9s %9s %9s" % (n, 100.0 * j["ok"] / t if t else 0, t, f(ms["median"]), f(ms["p99"]), f(ms["max"])))' "${NAME[$c]}"
done
echo "answered = SYN-ACKs back at the sender; napi ns = CPU time of the receiving NAPI kthread per"
echo "packet received (schedstat), which includes the sender's NAPI dropping the answers in XDP"
echo "(on the receiver's CPU). (a) answers nothing and passes nothing: the cost floor. The client of (e)"
echo "shares the sender veth with the flood; the answers to the spoofed sources are dropped there in XDP."
echo "Both veths have a pfifo qdisc, so what a stack sends into a full ring waits, as behind a NIC,"
echo "instead of being dropped."
exit 0
