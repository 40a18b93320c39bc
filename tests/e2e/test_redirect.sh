#!/usr/bin/env bash
# action "redirect": matching frames leave through another interface straight
# from XDP, without the router's stack; the rest is routed as usual.
. "$(dirname "$0")/lib.sh"
command -v ethtool >/dev/null || skip "ethtool missing"
e2e_lab
# a veth only takes redirected frames when its peer runs NAPI (XDP or GRO)
inS ethtool -K eth0 gro on >/dev/null 2>&1 || skip "cannot enable GRO on the server's veth"
mkdir -p "$T/c"
cat >"$T/c/redirect.conf" <<'CONF'
programs = ( { name = "redir"; type = "xdp"; interface = "r-cli";
  settings = { actions = { default = "pass"; rules = (
    { match = { protocol = "udp"; dstPort = 7777; }; action = "redirect"; interface = "r-srv"; }
  ); }; }; } );
CONF
fwd_start "$T/c/redirect.conf" || fail "fwd did not start"

rx() { inS cat /sys/class/net/eth0/statistics/rx_packets; }
before=$(rx)
for i in $(seq 1 20); do echo "x$i" | inC nc -u -w0 10.10.2.2 7777 2>/dev/null; done
# counters settle as NAPI runs; a loaded machine may take a moment
for _ in $(seq 1 100); do
  red=$(fosctl -j show program redir | jq_py 'j["status"]["metrics"]["packetsRedirected"]')
  after=$(rx)
  [ "$red" -ge 20 ] && [ $((after - before)) -ge 20 ] && break
  sleep 0.1
done
[ "$red" -ge 20 ] || fail "packetsRedirected=$red, expected >= 20"
[ $((after - before)) -ge 20 ] || fail "the server's veth received $((after - before)) frames, expected >= 20"
r0=$(fosctl -j show rules redir | jq_py 'j["programs"][0]["rules"][0]["packets"]')
[ "$r0" -ge 20 ] || fail "rule 0 counted $r0"
pass_step "20 UDP/7777 frames redirected r-cli -> r-srv in XDP (server rx +$((after - before)))"

# the frames kept their headers: a redirect does not route, so the server
# (whose MAC they do not carry) does not deliver them to a socket
servers_start udp:7777 udp:5353
echo probe | inC nc -u -w0 10.10.2.2 7777 2>/dev/null
# a routed datagram sent after the probe has arrived: the probe had its chance
udp_pass 10.10.2.2 5353 || fail "routed UDP broken"
grep -qs probe "$T/udp-7777" && fail "a redirected frame was routed and delivered"
# everything else is still routed normally
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "routed traffic broken"
pass_step "other traffic is routed as before"

# a redirect to an interface that does not exist is refused at reload
sed -i 's/interface = "r-srv"/interface = "nosuch0"/' "$T/c/redirect.conf"
out=$(fosctl reload 2>&1) && fail "reload with a missing redirect interface accepted"
echo "$out" | grep -q 'no such interface "nosuch0"' || fail "message: $out"
pass_step "missing redirect target refused"
echo PASS
