#!/bin/bash
# The path through the NAT: a fourth namespace ("far") beyond the client
# namespace, which routes to it over a link of MTU 1400. From the inside,
# traceroute sees every hop (time exceeded translated back), path MTU
# discovery learns 1400 (fragmentation needed / packet too big translated
# back, IPv4 and IPv6), a bulk TCP transfer crosses the smaller link, and
# iperf3 runs at the rate of plain forwarding (GSO/GRO super-packets keep
# their checksums right).
. "$(dirname "$0")/lib.sh"
command -v traceroute >/dev/null || skip "traceroute missing"
command -v iperf3 >/dev/null || skip "iperf3 missing"

NS_F="fos-$E2E_ID-f"
trap 'for p in $(ip netns pids "$NS_F" 2>/dev/null); do kill -9 $p; done; ip netns del "$NS_F" 2>/dev/null; e2e_cleanup' EXIT

e2e_lab
ip netns add "$NS_F" || fail "namespace $NS_F"
ip link add c-far netns "$NS_C" type veth peer name eth0 netns "$NS_F" || fail "veth to far"
ip -n "$NS_F" link set lo up
ip netns exec "$NS_F" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
inC sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$NS_C" link set c-far mtu 1400 up
ip -n "$NS_F" link set eth0 mtu 1400 up
ip -n "$NS_C" addr add 10.10.9.1/24 dev c-far
ip -n "$NS_C" addr add fd00:10:9::1/64 dev c-far nodad
ip -n "$NS_F" addr add 10.10.9.2/24 dev eth0
ip -n "$NS_F" addr add fd00:10:9::2/64 dev eth0 nodad
ip -n "$NS_F" route add default via 10.10.9.1
ip -n "$NS_F" -6 route add default via fd00:10:9::1
ip -n "$NS_R" route add 10.10.9.0/24 via 10.10.1.2
ip -n "$NS_R" -6 route add fd00:10:9::/64 via fd00:10:1::2
inF() { ip netns exec "$NS_F" "$@"; }
# a first packet may wait seconds for neighbour discovery on a new link
reach() { # NS_FUNC ping args...
  local f=$1; shift
  for _ in 1 2 3 4 5; do "$f" ping -c1 -W2 "$@" >/dev/null 2>&1 && return 0; done
  return 1
}
# the far side knows only the outside: no route to the inside networks
inC ip route del 10.10.2.0/24 2>/dev/null
reach inC 10.10.9.2 || fail "client -> far"
reach inC -6 fd00:10:9::2 || fail "client -> far (v6)"

cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
  name = "path";
  interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade";
  ipVersion = "both";
} );
EOF
fwd_start "$T/fwd.conf" || fail "fwd did not start"
reach inS 10.10.9.2 || fail "inside -> far through the NAT"
reach inS -6 fd00:10:9::2 || fail "inside -> far (v6) through the NAT"

# traceroute: every hop answers, and the inside hears it
for mode in "" "-I"; do
  out=$(inS traceroute -n -q1 -w2 -m5 $mode 10.10.9.2 2>&1) || fail "traceroute $mode: $out"
  echo "$out" | grep -qE "^ *2  10\.10\.1\.2 " || fail "traceroute $mode: no answer from the hop beyond the NAT: $out"
  echo "$out" | grep -qE "^ *3  10\.10\.9\.2 " || fail "traceroute $mode: the target: $out"
done
out=$(inS traceroute -6 -n -q1 -w2 -m5 fd00:10:9::2 2>&1) || fail "traceroute6: $out"
echo "$out" | grep -qE "^ *2  fd00:10:1::2 " || fail "traceroute6: $out"
pass_step "traceroute through the NAT, UDP and ICMP, v4 and v6"

# path MTU discovery: the error from the client namespace reaches the inside
inS ip route flush cache 2>/dev/null
out=$(inS ping -M do -s 1450 -c3 -i0.3 -W1 10.10.9.2 2>&1)
echo "$out" | grep -qi "mtu = 1400\|mtu=1400" || fail "no fragmentation needed (mtu 1400) reached the inside: $out"
inS ping -M do -s 1372 -c1 -W2 10.10.9.2 >/dev/null || fail "a 1400-byte packet after PMTU discovery"
out=$(inS ping -6 -M do -s 1450 -c3 -i0.3 -W1 fd00:10:9::2 2>&1)
echo "$out" | grep -qi "mtu = 1400\|mtu=1400" || fail "no packet too big (mtu 1400) reached the inside: $out"
n=$(fosctl -j show nat | jq_py "j['configs'][0]['counters']['icmpErrors']")
[ "$n" -ge 4 ] || fail "ICMP errors translated: $n"
pass_step "path MTU discovery through the NAT, v4 and v6"

# a bulk TCP transfer over the smaller link (the inside learns the MTU)
inF iperf3 -s -1 -p 5201 -D -I "$T/iperf-far.pid" >/dev/null 2>&1 || fail "iperf3 on far"
sleep 0.5
out=$(inS timeout 30 iperf3 -c 10.10.9.2 -p 5201 -t 2 -J 2>&1) || fail "iperf3 to far: $out"
far=$(echo "$out" | jq_py "int(j['end']['sum_received']['bytes'])")
[ "$far" -gt 1000000 ] || fail "bulk transfer to far: $far bytes"
pass_step "a bulk transfer across the 1400-byte link"

# iperf3 to the client namespace at the rate of plain forwarding
rate() { # iperf3 from the inside to the outside: bits per second
  inC iperf3 -s -1 -p 5202 -D -I "$T/iperf.pid" >/dev/null 2>&1 || return 1
  sleep 0.5
  inS timeout 30 iperf3 -c 10.10.1.2 -p 5202 -t 3 -J | jq_py "int(j['end']['sum_received']['bits_per_second'])"
}
nat=$(rate) || fail "iperf3 through the NAT"
echo "" >"$T/fwd.conf"
fosctl reload >/dev/null || fail "reload without NAT"
plain=$(rate) || fail "iperf3 without NAT"
echo "iperf3: through the NAT $((nat / 1000000)) Mbit/s, plain forwarding $((plain / 1000000)) Mbit/s"
# one MSS at a time would be a small fraction of plain forwarding
[ "$nat" -gt $((plain / 4)) ] || fail "iperf3 through the NAT: $nat bit/s against $plain plain"
pass_step "iperf3 through the NAT at the rate of plain forwarding"
echo "PASS"
