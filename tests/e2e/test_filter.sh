#!/usr/bin/env bash
# The lab config filters real traffic as written: allowed flows pass, denied
# flows are dropped at the router's XDP hook, IPv4 and IPv6, and the per-rule
# counters say which rule did it.
. "$(dirname "$0")/lib.sh"
e2e_lab
servers_start tcp:22 tcp:23 tcp:80 tcp:8050 udp:53 udp:5353 udp:5500
fwd_start "$FOS_CONF_DIR/examples/lab.conf" || fail "fwd did not start"

fosctl show programs | grep -q lab-filter || fail "show programs lacks lab-filter"
attached=$(fosctl -j show program lab-filter | jq_py 'j["status"]["attached"]')
[ "$attached" = True ] || fail "lab-filter not attached: $attached"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "no XDP program on r-cli"

inC ping -c2 -W2 10.10.2.2 >/dev/null || fail "ping v4 must pass (default pass)"
inC ping -6 -c2 -W2 fd00:10:2::2 >/dev/null || fail "ping v6 must pass (default pass)"
pass_step "icmp passes"

tcp_pass 10.10.2.2 80 || fail "tcp/80 v4 must pass"
tcp_pass fd00:10:2::2 80 || fail "tcp/80 v6 must pass"
tcp_pass 10.10.2.2 22 || fail "tcp/22 must pass"
pass_step "tcp 80 and 22 pass"

tcp_try 10.10.2.2 23 && fail "tcp/23 v4 must be dropped (rule 0)"
tcp_try fd00:10:2::2 23 && fail "tcp/23 v6 must be dropped (rule 0)"
tcp_try 10.10.2.2 8050 && fail "tcp/8050 must be dropped (rule 1, 8000-8100)"
pass_step "tcp 23 and 8050 dropped"

udp_pass 10.10.2.2 53 || fail "udp/53 must pass (rule 2)"
udp_try 10.10.2.2 5353 && fail "udp/5353 from 10.10.1.0/24 must be dropped (rule 3)"
udp_pass fd00:10:2::2 5500 || fail "udp/5500 over IPv6 must pass (rule 3 is 10.10.1.0/24 only)"
pass_step "udp rules"

rules=$(fosctl -j show rules lab-filter)
r0=$(echo "$rules" | jq_py 'j["programs"][0]["rules"][0]["packets"]')
r1=$(echo "$rules" | jq_py 'j["programs"][0]["rules"][1]["packets"]')
r3=$(echo "$rules" | jq_py 'j["programs"][0]["rules"][3]["packets"]')
[ "$r0" -ge 2 ] || fail "rule 0 counted $r0 packets, expected >= 2"
[ "$r1" -ge 1 ] || fail "rule 1 counted $r1 packets"
[ "$r3" -ge 1 ] || fail "rule 3 counted $r3 packets"
dropped=$(fosctl -j show program lab-filter | jq_py 'j["status"]["metrics"]["packetsDropped"]')
[ "$dropped" -ge 4 ] || fail "packetsDropped=$dropped"
fosctl show rules lab-filter | grep -q "default" || fail "text show rules lacks the default row"
pass_step "counters: rule0=$r0 rule1=$r1 rule3=$r3 dropped=$dropped"

# the blacklist (set "blocked") drops a source in it
ip -n "$NS_C" addr add 10.10.9.5/24 dev eth0
inR ip route add 10.10.9.0/24 dev r-cli
inC ping -c1 -W1 -I 10.10.9.5 10.10.2.2 >/dev/null && fail "blacklisted source 10.10.9.5 must be dropped"
bl=$(fosctl -j show program lab-filter | jq_py 'j["counters"]["blacklist"]')
[ "$bl" -ge 1 ] || fail "blacklist counter is $bl"
pass_step "blacklist drops 10.10.9.0/24 ($bl)"

# maps: listed with fill levels, dumped through their BTF
fosctl show maps | grep -q "lab-filter/fos_rules" || fail "show maps lacks lab-filter/fos_rules"
n=$(fosctl -j show maps | jq_py 'sum(m["entries"] for m in j["maps"] if m["name"] in ("fos_sets", "fos_sets4"))')
[ "$n" -ge 3 ] || fail "fos_sets and fos_sets4 hold $n entries, expected the set and the rule CIDRs"
act=$(fosctl -j show map lab-filter/fos_slots | jq_py 'sorted(e["value"]["n_rules"] for e in j["entries"])[-1]')
[ "$act" = 4 ] || fail "fos_slots dump: n_rules=$act, expected 4"
fosctl -j show map lab-filter/fos_stats | jq_py 'len(j["entries"][0]["value"])' >/dev/null ||
  fail "per-CPU map dump"
# keys that hold addresses read as addresses
fosctl -j show map fos_sets4 | jq_py '[e["key"]["addr"] for e in j["entries"]]' | grep -q "'10.10.9.0'" ||
  fail "fos_sets4 dump does not show 10.10.9.0: $(fosctl -j show map fos_sets4)"
fosctl -j show map fos_sets | jq_py '[e["key"]["addr"] for e in j["entries"]]' | grep -q "'fd00:bad::'" ||
  fail "fos_sets dump does not show fd00:bad::"
out=$(fosctl show map nosuch 2>&1) && fail "show map of a missing map succeeded"
echo "$out" | grep -q 'no map named "nosuch"' || fail "message: $out"
pass_step "maps listed and dumped by BTF"
echo "PASS"
