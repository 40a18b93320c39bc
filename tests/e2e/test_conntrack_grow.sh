#!/usr/bin/env bash
# maxConnections raised past the table's size: a reload makes a bigger table,
# copies the flows over and moves every stateful program onto it in one
# step; connections carry on, through the reload and a restart after it. A
# reload that fails after the new table was made leaves the old one in use.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
TOOLS="$(dirname "$0")/ct_tools.py"

e2e_lab
inS python3 "$TOOLS" echo "$T" tcp:7000 >>"$T/echo-s.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/echo.ready" ] && break; sleep 0.1; done

write_conf() { # maxConnections [interface of a second program]
  cat >"$T/fw.conf" <<CONF
daemon = { tcAttach = "clsact"; }; # a hook is a tc filter's place, which a foreign one can hold
conntrack = { maxConnections = $1; };
programs = (
  { name = "edge-fw"; type = "tc-ingress"; interface = "r-srv"; priority = 20;
    settings = { stateful = true; actions = { default = "drop"; }; }; }
CONF
  [ -n "${2:-}" ] && cat >>"$T/fw.conf" <<CONF
 ,{ name = "late"; type = "tc-ingress"; interface = "$2"; priority = 30;
    settings = { actions = { default = "pass"; }; }; }
CONF
  echo ");" >>"$T/fw.conf"
}
capacity() { fosctl -j show conntrack summary | jq_py 'j["capacity"]'; }
echoed() { read -r _ e <"$T/stream"; echo "$e"; }

write_conf 1000
fwd_start "$T/fw.conf" || fail "fwd did not start"
cap0=$(capacity)
inC python3 "$TOOLS" stream 10.10.2.2 7000 12 "$T/stream" &
STREAM=$!
sleep 1.5

# a reload that would grow the table but fails later (a foreign filter on the
# second program's hook): the running table stays, and the stream goes on
inR tc qdisc add dev r-cli clsact
inR tc filter add dev r-cli ingress prio 30 handle 0xf05 bpf da obj "$FOS_BPF_DIR/tc.bpf.o" sec tc ||
  fail "cannot add the foreign filter"
write_conf 200000 r-cli
fosctl reload >/dev/null 2>&1 && fail "the reload with the foreign filter succeeded"
[ "$(capacity)" = "$cap0" ] || fail "a failed reload changed the table ($cap0 -> $(capacity))"
e0=$(echoed); sleep 1.5
[ $(($(echoed) - e0)) -gt 5 ] || fail "the stream stalled after the failed reload"
pass_step "a failed reload that would grow the table left it as it was"

write_conf 200000
e0=$(echoed)
fosctl reload >/dev/null || fail "the reload to 200000 connections failed"
cap1=$(capacity)
[ "$cap1" -gt 200000 ] || fail "the table was not grown: capacity $cap1"
sleep 1.5
[ $(($(echoed) - e0)) -gt 5 ] || fail "the stream stalled when the table grew"
grep -q "connection table grown from $cap0 to $cap1" "$FWD_LOG" || fail "no log line for the growth"
fosctl -j show conntrack proto tcp port 7000 | jq_py 'j["entries"][0]["state"]' | grep -q established ||
  fail "the stream's flow did not move to the new table"
pass_step "the table grew from $cap0 to $cap1 entries under a live connection"

kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
fwd_start "$T/fw.conf" || fail "fwd did not restart"
[ "$(capacity)" = "$cap1" ] || fail "the restarted fwd did not adopt the grown table"
e0=$(echoed); sleep 1.5
[ $(($(echoed) - e0)) -gt 5 ] || fail "the stream stalled after the restart"
wait $STREAM
pass_step "a restart adopts the grown table; the connection kept going"
