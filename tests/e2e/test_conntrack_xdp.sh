#!/usr/bin/env bash
# An XDP filter with stateful = true reads the connection table the TC
# firewall keeps: on the outside interface, an XDP default-drop filter lets
# the answers to the client's flows through and nothing else. Switching
# stateful on and off by reload swaps the program in place.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
TOOLS="$(dirname "$0")/ct_tools.py"

e2e_lab
servers_start tcp:8080 udp:5353
mkdir -p "$T/c"
inC python3 "$TOOLS" echo "$T/c" tcp:7100 >>"$T/echo-c.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/c/echo.ready" ] && break; sleep 0.1; done

write_conf() { # stateful of the XDP filter
  cat >"$T/fw.conf" <<CONF
daemon = { tcAttach = "clsact"; }; # a hook is a tc filter's place, which a foreign one can hold
programs = (
  { name = "edge-xdp"; type = "xdp"; interface = "r-srv"; priority = 10;
    settings = { stateful = $1; actions = { default = "drop"; rules = (
      { match = { protocol = "icmpv6"; }; action = "pass"; } ); }; }; },
  { name = "edge-fw"; type = "tc-ingress"; interface = "r-srv"; priority = 20;
    settings = { stateful = true; actions = { default = "drop"; }; }; }
);
CONF
}
write_conf true
fwd_start "$T/fw.conf" || fail "fwd did not start"

tcp_pass 10.10.2.2 8080 || fail "the answers to the client's TCP flow did not pass the XDP filter"
tcp_pass fd00:10:2::2 8080 || fail "the answers to the client's TCP flow (v6) did not pass"
inC ping -c2 -W2 10.10.2.2 >/dev/null || fail "ping answers did not pass the XDP filter"
inS timeout 3 nc -w 2 10.10.1.2 7100 </dev/null >/dev/null 2>&1 &&
  fail "the outside got through the stateful XDP filter"
fosctl -j show program edge-xdp >"$T/x.json"
jq_py 'j["stateful"] and j["counters"]["conntrack"]["established"] > 0' <"$T/x.json" | grep -q True ||
  fail "the XDP filter counted no established packets: $(cat "$T/x.json")"
pass_step "a stateful XDP filter passes the answers of tracked flows, drops the rest"

# stateless: the same default drop now drops the answers too
link0=$(fosctl -j show program edge-xdp | jq_py 'j["linkId"]')
write_conf false
fosctl reload >/dev/null || fail "reload to a stateless XDP filter failed"
tcp_try 10.10.2.2 8080 && fail "a stateless default-drop XDP filter let the answers through"
link1=$(fosctl -j show program edge-xdp | jq_py 'j["linkId"]')
[ "$link0" = "$link1" ] || fail "the XDP link changed ($link0 -> $link1): the program was not swapped in place"
write_conf true
fosctl reload >/dev/null || fail "reload back to stateful failed"
tcp_pass 10.10.2.2 8080 || fail "stateful again: the answers do not pass"
pass_step "stateful switched off and on by reload, on the same link"

# --- a tc filter fos did not attach is never replaced -------------------------
inR tc qdisc add dev r-cli clsact 2>/dev/null
inR tc filter add dev r-cli ingress prio 30 handle 0xf05 bpf da obj "$FOS_BPF_DIR/tc.bpf.o" sec tc ||
  fail "cannot add a foreign tc filter"
foreign=$(inR tc filter show dev r-cli ingress | grep -o "id [0-9]*" | head -1)
mkdir -p "$T/fwd.d"
cat >"$T/fwd.d/inside.conf" <<CONF
programs = (
  { name = "inside-fw"; type = "tc-ingress"; interface = "r-cli"; priority = 30;
    settings = { stateful = false; actions = { default = "drop"; }; }; }
);
CONF
out=$(fosctl reload 2>&1) && fail "fwd replaced a foreign tc filter"
echo "$out" | grep -q "fos did not attach" || fail "unclear refusal: $out"
[ "$(inR tc filter show dev r-cli ingress | grep -o "id [0-9]*" | head -1)" = "$foreign" ] ||
  fail "the foreign filter changed"
fosctl -j show programs | jq_py '[p["name"] for p in j["programs"]]' | grep -q inside-fw &&
  fail "the refused program is listed"
tcp_pass 10.10.2.2 8080 || fail "after the refused reload the running firewall no longer works"
pass_step "a foreign tc filter at fos's priority and handle is refused, not replaced"

# --- a priority held by a tc filter of another protocol -------------------------
rm -f "$T/fwd.d/inside.conf"
inR tc filter add dev r-cli egress prio 40 protocol ip bpf da obj "$FOS_BPF_DIR/tc.bpf.o" sec tc ||
  fail "cannot add the foreign IPv4 filter"
cat >"$T/fwd.d/inside.conf" <<CONF
programs = (
  { name = "inside-fw"; type = "tc-egress"; interface = "r-cli"; priority = 40;
    settings = { actions = { default = "pass"; }; }; }
);
CONF
out=$(fosctl reload 2>&1) && fail "fwd attached where a filter of another protocol holds the priority"
echo "$out" | grep -q "another kind or protocol may hold that priority" || fail "unclear refusal: $out"
inR tc filter show dev r-cli egress | grep -q "pref 40 .*direct-action" || fail "the foreign filter was touched"
rm -f "$T/fwd.d/inside.conf"
pass_step "a priority held by a filter of another protocol is refused with the reason"

# --- a program cannot change between XDP and TC under one name ------------------
sed -i 's/name = "edge-xdp"; type = "xdp"; interface = "r-srv"; priority = 10;/name = "edge-xdp"; type = "tc-egress"; interface = "r-srv"; priority = 10;/' "$T/fw.conf"
out=$(fosctl reload 2>&1) && fail "an XDP program was turned into a TC program in place"
echo "$out" | grep -q 'programs "edge-xdp": the running program is an XDP program' || fail "unclear refusal: $out"
fosctl -j show program edge-xdp | jq_py 'j["type"], j["attached"]' | tr '\n' ' ' | grep -q "^xdp True $" ||
  fail "the refused type change touched edge-xdp"
pass_step "a type change between XDP and TC under one name is refused"
