#!/usr/bin/env bash
# The datapath outlives fwd: kill -9 leaves filtering in force, the next fwd
# adopts the pinned program and maps without detaching, counters continue; a
# normal stop leaves it too, and only fwd --flush removes it.
. "$(dirname "$0")/lib.sh"
e2e_lab
servers_start tcp:23 tcp:80
CFG="$FOS_CONF_DIR/examples/lab.conf"
fwd_start "$CFG" || fail "fwd did not start"
fosctl set add blocked 10.10.1.99/32 >/dev/null || fail "set add"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped"
link0=$(fosctl -j show program lab-filter | jq_py 'j["linkId"]')
pk0=$(fosctl -j show program lab-filter | jq_py 'j["status"]["metrics"]["packetsProcessed"]')
r0=$(fosctl -j show rules lab-filter | jq_py 'j["programs"][0]["rules"][0]["packets"]')

fosctl reload >/dev/null && fosctl reload >/dev/null || fail "reloads failed"
gen0=$(fosctl -j show status | jq_py 'j["generation"]')
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "XDP detached when fwd was killed"
tcp_try 10.10.2.2 23 && fail "tcp/23 passed while fwd was down"
tcp_pass 10.10.2.2 80 || fail "tcp/80 must pass while fwd is down"
pass_step "filtering continues with fwd killed"

fwd_start "$CFG" || fail "fwd did not restart"
grep -q "adopted program lab-filter" "$FWD_LOG" || fail "restart did not adopt the program"
gen1=$(fosctl -j show status | jq_py 'j["generation"]')
[ "$gen1" = $((gen0 + 1)) ] || fail "generation after restart is $gen1, expected $((gen0 + 1))"
g=$(fosctl -j show map fos_state | jq_py 'j["entries"][0]["value"]["generation"]')
[ "$g" = "$gen1" ] || fail "fos_state holds generation $g, fwd says $gen1"
link1=$(fosctl -j show program lab-filter | jq_py 'j["linkId"]')
[ "$link1" = "$link0" ] || fail "link replaced on restart ($link0 -> $link1): there was a gap"
pk1=$(fosctl -j show program lab-filter | jq_py 'j["status"]["metrics"]["packetsProcessed"]')
r1=$(fosctl -j show rules lab-filter | jq_py 'j["programs"][0]["rules"][0]["packets"]')
[ "$pk1" -gt "$pk0" ] || fail "program counters restarted ($pk0 -> $pk1)"
[ "$r1" -gt "$r0" ] || fail "rule counters restarted ($r0 -> $r1)"
fosctl show set blocked | grep -qE "^10\.10\.1\.99/32 +dynamic " || fail "dynamic set entry lost on restart"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped after restart"
pass_step "restart adopted link $link1, counters continue ($pk0 -> $pk1, rule0 $r0 -> $r1)"

# a second fwd on the same pin dir is refused
out=$(inR "$FWD" -c "$CFG" -s "$T/other.sock" --pin-dir "$PIN" 2>&1) && fail "second fwd started"
echo "$out" | grep -q "another fwd already manages" || fail "second fwd message: $out"
pass_step "second instance refused"

# normal stop: datapath stays
fwd_stop
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "normal stop detached XDP"
tcp_try 10.10.2.2 23 && fail "tcp/23 passed after a normal stop"
pass_step "normal stop leaves the datapath"

# pins whose layout is not this fwd's (an older fwd's): refused, nothing touched
bpftool map update pinned "$PIN/global/fos_state" key 0 0 0 0 value \
  $(printf '0 %.0s' $(seq 1 32)) || fail "cannot rewrite fos_state"
out=$(inR "$FWD" -c "$CFG" -s "$T/v.sock" --pin-dir "$PIN" 2>&1) && fail "fwd adopted pins of another layout"
echo "$out" | grep -q "made by a fwd with another map layout (0; this fwd uses" || fail "message: $out"
echo "$out" | grep -q "fwd --flush --pin-dir $PIN" || fail "message lacks the remedy: $out"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "the refused fwd touched the datapath"
tcp_try 10.10.2.2 23 && fail "tcp/23 passed after the refused start"
pass_step "pins of another layout are refused with the remedy"

# --flush removes everything
inR "$FWD" --flush --pin-dir "$PIN" >"$T/flush.log" 2>&1 || fail "flush failed: $(cat "$T/flush.log")"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" && fail "XDP still attached after --flush"
# progs.debug and maps.debug belong to bpffs itself
[ -z "$(find "$PIN" -mindepth 1 -not -type d -not -name '*.debug')" ] || fail "pins left after --flush: $(find "$PIN")"
tcp_pass 10.10.2.2 23 || fail "tcp/23 must pass after --flush"
pass_step "fwd --flush removed everything"
echo PASS
