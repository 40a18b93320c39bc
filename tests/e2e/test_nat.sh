#!/bin/bash
# NAT44/NAT66 in the lab, the server side inside (r-srv) and the client side
# outside (r-cli): masquerade of TCP, UDP and ICMP echo, v4 and v6, the
# source port kept; a port map (DNAT) from outside, answered back through
# it; fragmented datagrams both ways; hairpinning to the port map from
# inside, one hop spent; show nat and its CRD status;
# clear nat; a config fwd must refuse, with nothing changed.
. "$(dirname "$0")/lib.sh"
TOOLS="$(dirname "$0")/nat_tools.py"

e2e_lab
servers_start tcp:80 udp:5353
# the outside peer tells every client what address it came from
inC python3 "$TOOLS" serve "$T" tcp:7000 udp:7001 >>"$T/nat-serve.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/nat.ready" ] && break; sleep 0.1; done
[ -f "$T/nat.ready" ] || fail "the outside peer did not start"

cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
  name = "lab-nat";
  description = "the lab's inside behind r-cli";
  interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade";
  ipVersion = "both";
  portMappings = (
    { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 80; externalPort = 8080; },
    { protocol = "tcp"; internalIP = "fd00:10:2::2"; internalPort = 80; externalPort = 8080; },
    { protocol = "udp"; internalIP = "10.10.2.2"; internalPort = 5353; externalPort = 5353; },
    { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 8000; externalPort = 8088; },
    { protocol = "tcp"; internalIP = "fd00:10:2::2"; internalPort = 8000; externalPort = 8088; },
    { protocol = "udp"; internalIP = "10.10.2.2"; internalPort = 7002; externalPort = 7002; },
    { protocol = "udp"; internalIP = "fd00:10:2::2"; internalPort = 7002; externalPort = 7002; }
  );
  hairpinning = true;
  endpointIndependent = true;
} );
EOF
fwd_start "$T/fwd.conf" || fail "fwd did not start"

in_tcp() { inS python3 "$TOOLS" tcp "$@"; }
in_udp() { inS python3 "$TOOLS" udp "$@"; }

# masquerade: the outside sees the router's address, the port kept
out=$(in_tcp 10.10.1.2 7000 41000) || fail "tcp out: no answer"
[ "$out" = "10.10.1.1 41000" ] || fail "tcp out: the outside saw $out"
out=$(in_udp 10.10.1.2 7001 41002) || fail "udp out: no answer"
[ "$out" = "10.10.1.1 41002" ] || fail "udp out: the outside saw $out"
out=$(in_tcp fd00:10:1::2 7000 41004) || fail "tcp6 out: no answer"
[ "$out" = "fd00:10:1::1 41004" ] || fail "tcp6 out: the outside saw $out"
out=$(in_udp fd00:10:1::2 7001 41006) || fail "udp6 out: no answer"
[ "$out" = "fd00:10:1::1 41006" ] || fail "udp6 out: the outside saw $out"
pass_step "masquerade TCP/UDP, v4 and v6, ports kept"

# datagrams bigger than the links: fragments both ways, each translated
# by its datagram's first fragment (RFC 4787 REQ-14)
frag0=$(fosctl -j show nat | jq_py "j['configs'][0]['counters']['dropsFragment']")
out=$(in_udp 10.10.1.2 7001 41040 3000) || fail "fragmented udp out: no whole answer"
[ "$out" = "10.10.1.1 41040" ] || fail "fragmented udp out: the outside saw $out"
out=$(in_udp fd00:10:1::2 7001 41041 3000) || fail "fragmented udp6 out: no whole answer"
[ "$out" = "fd00:10:1::1 41041" ] || fail "fragmented udp6 out: the outside saw $out"
frag1=$(fosctl -j show nat | jq_py "j['configs'][0]['counters']['dropsFragment']")
[ "$frag1" = "$frag0" ] || fail "fragments dropped: $frag0 -> $frag1"
pass_step "fragmented datagrams, v4 and v6, both ways"

inS ping -c2 -W2 10.10.1.2 >/dev/null || fail "ping out"
inS ping -6 -c2 -W2 fd00:10:1::2 >/dev/null || fail "ping6 out"
# the outside saw the router, not the inside host
inC timeout 5 tcpdump -ni eth0 -c1 icmp and src 10.10.1.1 >"$T/tcpdump.txt" 2>&1 &
TD=$!
sleep 1
inS ping -c1 -W2 10.10.1.2 >/dev/null || fail "ping out (under tcpdump)"
wait $TD || fail "no echo request from 10.10.1.1 on the outside: $(cat "$T/tcpdump.txt")"
pass_step "ICMP echo through the NAT, v4 and v6"

# the port map: outside -> 10.10.1.1:8080 -> 10.10.2.2:80, answered back
tcp_pass 10.10.1.1 8080 || fail "port map v4 tcp"
tcp_pass fd00:10:1::1 8080 || fail "port map v6 tcp"
udp_pass 10.10.1.1 5353 || fail "port map v4 udp"
tcp_try 10.10.1.1 8081 && fail "8081 is not mapped"
# curl from outside to a web server inside (python3 -m http.server) through
# the map 8088 -> 8000, v4 and v6
mkdir -p "$T/www" && echo "through the NAT" >"$T/www/index.txt"
inS python3 -m http.server 8000 --bind :: --directory "$T/www" >>"$T/http.log" 2>&1 &
for a in 10.10.1.1 '[fd00:10:1::1]'; do
  out=
  for _ in $(seq 1 30); do
    out=$(inC curl -sS --max-time 5 "http://$a:8088/index.txt" 2>&1) && break
    sleep 0.2
  done
  [ "$out" = "through the NAT" ] || fail "curl http://$a:8088/index.txt: $out"
done
pass_step "port maps, TCP v4/v6 and UDP; curl through them"

# hairpinning: the inside reaches the port map through the external address,
# and the packet loses a hop as a routed one does (sent with TTL 64)
inS timeout 8 tcpdump -l -n -v -c 1 -i eth0 \
  'tcp[tcpflags] & tcp-syn != 0 and src host 10.10.1.1 and dst port 80' >"$T/hairpin.txt" 2>/dev/null &
tdp=$!
sleep 1
out=$(inS timeout 5 nc -w 2 10.10.1.1 8080 </dev/null) || fail "hairpin: no answer"
[ "$out" = hello ] || fail "hairpin: got $out"
wait "$tdp"
grep -q "ttl 63," "$T/hairpin.txt" || fail "hairpin: the SYN did not arrive with TTL 63: $(cat "$T/hairpin.txt")"
# a datagram bigger than the link, hairpinned both ways: every fragment
# translated as its first was (the inside peer answers with as many bytes)
mkdir -p "$T/in"
inS python3 "$TOOLS" serve "$T/in" udp:7002 >>"$T/nat-serve-in.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/in/nat.ready" ] && break; sleep 0.1; done
[ -f "$T/in/nat.ready" ] || fail "the inside peer did not start"
h0=$(fosctl -j show nat | jq_py "j['configs'][0]['counters']['hairpinned']")
out=$(in_udp 10.10.1.1 7002 41060 3000) || fail "fragmented hairpin: no whole answer"
[ "$out" = "10.10.1.1 41060" ] || fail "fragmented hairpin: the inside peer saw $out"
out=$(in_udp fd00:10:1::1 7002 41061 3000) || fail "fragmented hairpin v6: no whole answer"
[ "$out" = "fd00:10:1::1 41061" ] || fail "fragmented hairpin v6: the inside peer saw $out"
h1=$(fosctl -j show nat | jq_py "j['configs'][0]['counters']['hairpinned']")
# each way of each datagram is three fragments or more
[ $((h1 - h0)) -ge 12 ] || fail "hairpinned packets: $h0 -> $h1"
pass_step "hairpinning to a port map, one hop spent; fragmented datagrams too, v4 and v6"

j=$(fosctl -j show nat mappings) || fail "show nat"
echo "$j" | jq_py "j['configs'][0]['active'] and j['configs'][0]['translationCount'] > 0" |
  grep -qx True || fail "show nat: not active or nothing translated: $j"
echo "$j" | jq_py "j['configs'][0]['programRefs']" | grep -q "nat-in" || fail "programRefs: $j"
echo "$j" | jq_py "[m['externalPort'] for m in j['mappings'] if m['internal'] == '10.10.2.2' and m['internalPort'] == 41000]" |
  grep -qx "\[41000\]" || fail "show nat: the TCP mapping is not listed: $j"
echo "$j" | jq_py "[a['portsInUse'] for a in j['externalAddresses'] if a['address'] == '10.10.1.1'][0] >= 5" |
  grep -qx True || fail "show nat: ports in use: $j"
text=$(fosctl show nat) || fail "show nat (text)"
echo "$text" | grep -q "lab-nat" || fail "show nat text: $text"
pass_step "show nat"

# a clear that names no natConfig there is, or a bad protocol, is refused and ends nothing
before=$(fosctl -j show nat | jq_py "j['configs'][0]['mappings']")
out=$(fosctl clear nat config no-such-nat 2>&1) && fail "clear nat of an unknown natConfig succeeded: $out"
echo "$out" | grep -q 'no natConfig named "no-such-nat"' || fail "clear nat config no-such-nat said: $out"
out=$(fosctl clear nat protocol 300 2>&1) && fail "clear nat protocol 300 succeeded: $out"
[ "$(fosctl -j show nat | jq_py "j['configs'][0]['mappings']")" = "$before" ] ||
  fail "a refused clear nat changed the mappings"
n=$(fosctl -j clear nat protocol udp | jq_py "j['removed']") || fail "clear nat"
[ "$n" -ge 2 ] || fail "clear nat removed $n"
fosctl -j show nat mappings | jq_py "[m for m in j['mappings'] if m['protocol'] == 'udp' and not m['static']]" |
  grep -qx "\[\]" || fail "udp mappings left after clear nat"
pass_step "clear nat"

# a refused config changes nothing
cp "$T/fwd.conf" "$T/good.conf"
sed -i 's/internalIP = "10.10.2.2"; internalPort = 80/internalIP = "10.99.0.5"; internalPort = 80/' "$T/fwd.conf"
out=$(fosctl reload 2>&1) && fail "reload of a bad config succeeded"
line=$(grep -n '10.99.0.5' "$T/fwd.conf" | cut -d: -f1)
echo "$out" | grep -q "fwd.conf:$line: natConfigs \"lab-nat\": internalIP 10.99.0.5 is outside every network of the router's interfaces" ||
  fail "the message: $out"
tcp_pass 10.10.1.1 8080 || fail "the port map went with a refused reload"
cp "$T/good.conf" "$T/fwd.conf"
# the checks that need the kernel, each on its own: the message at the
# entry's line, the running NAT untouched
inR ip link add r-bare type veth peer name r-bare-p || fail "cannot add r-bare"
inR ip link set r-bare up
refuse() { # WHAT LINE EXPECTED-MESSAGE CONFIG-ENTRY
  printf 'natConfigs = ( %s );\n' "$4" >"$T/fwd.conf"
  out=$(fosctl reload 2>&1) && fail "$1: the reload succeeded"
  echo "$out" | grep -qF "fwd.conf:$2: $3" || fail "$1: the message: $out"
  tcp_pass 10.10.1.1 8080 || fail "$1: the running port map went with a refused reload"
  case "$1" in "no address") ;; *) [ "$(echo "$out" | grep -c 'fwd.conf:')" = 1 ] || fail "$1: more than the one error: $out" ;; esac
  out=$(in_udp 10.10.1.2 7001 41030) || fail "$1: udp out after the refusal"
  [ "$out" = "10.10.1.1 41030" ] || fail "$1: masquerade changed by a refused reload: $out"
}
refuse "no address" 2 'natConfigs "b": a port map on r-bare, which has no IPv4 address to publish it on' \
  '{ name = "b"; interfaces = { source = "r-srv"; destination = "r-bare"; }; type = "masquerade";
     portMappings = ( { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 80; externalPort = 80; } ); }'
refuse "no interface" 1 'natConfigs "g": interfaces.destination: no such interface "nosuch0"' \
  '{ name = "g"; interfaces = { source = "r-srv"; destination = "nosuch0"; }; type = "masquerade"; }'
refuse "both sides" 2 'natConfigs "y": r-cli is the inside of one natConfig and the outside of another' \
  '{ name = "x"; interfaces = { source = "r-srv"; destination = "r-cli"; }; type = "masquerade"; },
   { name = "y"; interfaces = { source = "r-cli"; destination = "r-bare"; }; type = "masquerade";
     sourceCIDRs = ( "10.10.1.0/24" ); }'
cp "$T/good.conf" "$T/fwd.conf"
pass_step "a refused config: the message, nothing changed"

# NAT taken out: no translation, the hooks gone
hooks r-cli ingress | grep -q " fos_nat_in " || fail "fos_nat_in is not on r-cli: $(hooks r-cli ingress)"
hooks r-cli egress | grep -q " fos_nat_out " || fail "fos_nat_out is not on r-cli: $(hooks r-cli egress)"
echo "" >"$T/fwd.conf"
fosctl reload >/dev/null || fail "reload without NAT"
tcp_try 10.10.1.1 8080 && fail "the port map is still there"
out=$(in_tcp 10.10.1.2 7000 41010 2>/dev/null) && [ "$out" != "10.10.2.2 41010" ] && fail "still translated: $out"
hooks r-cli ingress | grep -q fos_nat && fail "fos_nat_in is still on r-cli: $(hooks r-cli ingress)"
hooks r-cli egress | grep -q fos_nat && fail "fos_nat_out is still on r-cli: $(hooks r-cli egress)"
pass_step "NAT removed by a reload"

# the lab's example as shipped: masquerade, and port 80 to the server
cp "$FOS_CONF_DIR/examples/nat.conf" "$T/fwd.conf"
fosctl reload >/dev/null || fail "reload with conf/examples/nat.conf"
out=$(in_tcp 10.10.1.2 7000 41020) || fail "tcp out with the example"
[ "$out" = "10.10.1.1 41020" ] || fail "the example's masquerade: seen as $out"
fosctl -j show nat | jq_py "j['configs'][0]['name'] == 'advanced-nat' and j['configs'][0]['active']" |
  grep -qx True || fail "show nat with the example"
tcp_pass 10.10.1.1 80 || fail "the example's port map 10.10.1.1:80 -> 10.10.2.2:80"
pass_step "conf/examples/nat.conf runs in the lab"
echo "PASS"
