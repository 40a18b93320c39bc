#!/bin/bash
# NAT with more than one inside and outside interface. The lab's server
# network (r-srv) goes out by r-cli (natConfig wan1, with a port map) or by a
# second link to the client, r-wan2 (natConfig wan2); a second inside
# network (r-lan2, a namespace of its own) goes out by r-cli too (lan2).
#   - hairpinning between the two inside networks: a host of lan2 reaches
#     wan1's port map through the external address, routed to r-srv
#   - the route of a flow moves from r-cli to r-wan2: not one packet leaves
#     r-wan2 with r-cli's address; the flow gets a mapping of its new way out
#   - a port map's internal end published on both outside interfaces is
#     refused, with its line, and nothing changes
. "$(dirname "$0")/lib.sh"
TOOLS="$(dirname "$0")/nat_tools.py"
command -v tcpdump >/dev/null || skip "tcpdump missing"

NS_L="fos-$E2E_ID-l"
trap 'for p in $(ip netns pids "$NS_L" 2>/dev/null); do kill -9 $p; done; ip netns del "$NS_L" 2>/dev/null; e2e_cleanup' EXIT
e2e_lab
ip netns add "$NS_L" || fail "namespace $NS_L"
ip -n "$NS_L" link set lo up
ip link add r-lan2 netns "$NS_R" type veth peer name eth0 netns "$NS_L" || fail "veth to lan2"
ip link add r-wan2 netns "$NS_R" type veth peer name eth1 netns "$NS_C" || fail "veth wan2"
ip -n "$NS_R" addr add 10.10.4.1/24 dev r-lan2
ip -n "$NS_L" addr add 10.10.4.2/24 dev eth0
ip -n "$NS_R" addr add 10.10.3.1/24 dev r-wan2
ip -n "$NS_C" addr add 10.10.3.2/24 dev eth1
for l in r-lan2 r-wan2; do ip -n "$NS_R" link set "$l" up; done
ip -n "$NS_L" link set eth0 up
ip -n "$NS_C" link set eth1 up
ip -n "$NS_L" route add default via 10.10.4.1
# the outside peer 10.10.50.1, reached by r-cli for now
ip -n "$NS_C" addr add 10.10.50.1/32 dev lo
ip -n "$NS_R" route add 10.10.50.1/32 via 10.10.1.2 dev r-cli
inS ping -c1 -W2 10.10.50.1 >/dev/null || fail "lab: no path to the outside peer"
ip netns exec "$NS_L" ping -c1 -W2 10.10.2.2 >/dev/null || fail "lab: no path lan2 -> server"

servers_start tcp:80
inC python3 "$TOOLS" serve "$T" udp:7001 >>"$T/nat-serve.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/nat.ready" ] && break; sleep 0.1; done
[ -f "$T/nat.ready" ] || fail "the outside peer did not start"

cat >"$T/fwd.conf" <<EOF
natConfigs = (
  { name = "wan1"; interfaces = { source = "r-srv"; destination = "r-cli"; };
    type = "masquerade"; ipVersion = "ipv4"; sourceCIDRs = ( "10.10.2.0/24" );
    portMappings = ( { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 80; externalPort = 8080; } );
    hairpinning = true; endpointIndependent = true; },
  { name = "wan2"; interfaces = { source = "r-srv"; destination = "r-wan2"; };
    type = "masquerade"; ipVersion = "ipv4"; sourceCIDRs = ( "10.10.2.0/24" );
    endpointIndependent = true; },
  { name = "lan2"; interfaces = { source = "r-lan2"; destination = "r-cli"; };
    type = "masquerade"; ipVersion = "ipv4"; sourceCIDRs = ( "10.10.4.0/24" );
    hairpinning = true; endpointIndependent = true; }
);
EOF
fwd_start "$T/fwd.conf" || fail "fwd did not start"

# hairpinning from lan2 to wan1's port map on the server's network
out=$(ip netns exec "$NS_L" timeout 5 nc -w 2 10.10.1.1 8080 </dev/null 2>&1) ||
  fail "hairpin from lan2 to the port map: no answer ($out)"
[ "$out" = hello ] || fail "hairpin from lan2 to the port map: got $out"
pass_step "hairpinning from one inside network to a port map on another"

# a UDP flow out by r-cli, then its route moves to r-wan2
out=$(inS python3 "$TOOLS" udp 10.10.50.1 7001 45000) || fail "udp out by r-cli"
[ "$out" = "10.10.1.1 45000" ] || fail "udp out by r-cli: the peer saw $out"
inC timeout 12 tcpdump -l -n -i eth1 -c 1 'udp and src host 10.10.1.1' >"$T/leak.txt" 2>/dev/null &
tdp=$!
sleep 1
ip -n "$NS_R" route replace 10.10.50.1/32 via 10.10.3.2 dev r-wan2
got=
for _ in $(seq 1 8); do
  out=$(inS python3 "$TOOLS" udp 10.10.50.1 7001 45000 2>/dev/null) && { got=$out; break; }
done
[ "$got" = "10.10.3.1 45000" ] || fail "after the route moved the peer saw '${got:-nothing}', not 10.10.3.1 45000"
moved=$(fosctl -j show nat | jq_py "j['moved']")
[ "$moved" -ge 1 ] || fail "show nat: moved $moved"
wait "$tdp" && fail "a packet left r-wan2 with r-cli's address: $(cat "$T/leak.txt")"
pass_step "a flow whose route moved: no packet with the old address, a mapping of the new way out ($moved moved)"

# the server's port published on both outside interfaces: refused
cp "$T/fwd.conf" "$T/good.conf"
python3 - "$T/fwd.conf" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('destination = "r-wan2"; };\n', 'destination = "r-wan2"; };\n    portMappings = ( { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 80; externalPort = 80; } );\n', 1)
open(p, "w").write(s)
PY
gen0=$(fosctl -j show status | jq_py "j['generation']")
out=$(fosctl reload 2>&1) && fail "a port map published on two interfaces was accepted"
echo "$out" | grep -q 'fwd.conf:[0-9]*: natConfigs "wan2": internal port 80-80 is already published on "r-cli" by the port map at' ||
  fail "the refusal said: $out"
[ "$(fosctl -j show status | jq_py "j['generation']")" = "$gen0" ] || fail "the refused reload changed the generation"
out=$(ip netns exec "$NS_L" timeout 5 nc -w 2 10.10.1.1 8080 </dev/null 2>&1)
[ "$out" = hello ] || fail "the port map stopped working after the refused reload: $out"
pass_step "a port map's internal end on two outside interfaces is refused, nothing changed"
