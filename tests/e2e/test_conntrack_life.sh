#!/usr/bin/env bash
# The life of tracked flows: a long TCP connection survives kill -9 and a
# restart of fwd; a UDP flow idle past udpTimeout no longer lets the outside
# answer; a full table keeps established flows going and counts the flows it
# could not take; bad conntrack settings are refused with file:line and
# change nothing.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
TOOLS="$(dirname "$0")/ct_tools.py"

e2e_lab
inS python3 "$TOOLS" echo "$T" tcp:7000 udp:7001 >>"$T/echo-s.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/echo.ready" ] && break; sleep 0.1; done

write_conf() { # max udpTimeout [extra conntrack keys]
  cat >"$T/fw.conf" <<CONF
conntrack = { maxConnections = $1; udpTimeout = $2; ${3:-} };
programs = (
  { name = "edge-fw"; type = "tc-ingress"; interface = "r-srv"; priority = 20;
    settings = { stateful = true; actions = { default = "drop"; }; }; }
);
CONF
}
write_conf 4096 3
fwd_start "$T/fw.conf" || fail "fwd did not start"

# --- a long-lived TCP connection across kill -9 and restart -------------------
inC python3 "$TOOLS" stream 10.10.2.2 7000 14 "$T/stream" &
STREAM=$!
sleep 2
read -r s0 e0 <"$T/stream" || fail "the stream did not start"
[ "$e0" -gt 5 ] || fail "the stream echoed only $e0 of $s0 lines before the restart"
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
sleep 2
read -r s1 e1 <"$T/stream"
[ $((e1 - e0)) -gt 5 ] || fail "with fwd down the stream stalled ($e0 -> $e1 of $s1)"
fwd_start "$T/fw.conf" || fail "fwd did not restart"
sleep 2
read -r s2 e2 <"$T/stream"
[ $((e2 - e1)) -gt 5 ] || fail "after the restart the stream stalled ($e1 -> $e2 of $s2)"
fosctl -j show conntrack proto tcp port 7000 | jq_py 'j["entries"][0]["state"]' | grep -q established ||
  fail "the long connection is not established in the table after the restart"
wait $STREAM
read -r s3 e3 <"$T/stream"
[ $((s3 - e3)) -le 3 ] || fail "the stream lost lines: sent $s3 echoed $e3"
pass_step "a TCP connection kept working through kill -9 and restart ($e3/$s3 lines echoed)"

# --- UDP expiry: the outside may answer only while the flow is alive ----------
inC python3 "$TOOLS" udp-ask 10.10.2.2 7001 41000 || fail "UDP flow did not work"
# within udpTimeout the server may send more on that flow
inC python3 "$TOOLS" udp-listen 41000 2 "$T/l1" &
for _ in $(seq 1 30); do [ -f "$T/l1.ready" ] && break; sleep 0.1; done
inS python3 "$TOOLS" udp-send 10.10.1.2 41000 7001 3
wait $!
[ "$(cat "$T/l1")" -ge 1 ] || fail "the server's datagrams on a live flow were dropped"
# after udpTimeout (3 s) of silence the flow is gone: the same datagrams are new
sleep 4.5
inC python3 "$TOOLS" udp-listen 41000 2 "$T/l2" &
for _ in $(seq 1 30); do [ -f "$T/l2.ready" ] && break; sleep 0.1; done
inS python3 "$TOOLS" udp-send 10.10.1.2 41000 7001 3
wait $!
[ "$(cat "$T/l2")" = 0 ] || fail "the server's datagrams passed after the flow expired ($(cat "$T/l2"))"
pass_step "an expired UDP flow no longer lets the outside in"

# --- the collector removes expired entries ------------------------------------
for _ in $(seq 1 40); do
  n=$(fosctl -j show conntrack proto udp port 41000 | jq_py 'j["matched"]')
  [ "$n" = 0 ] && break
  sleep 0.5
done
[ "$n" = 0 ] || fail "the expired UDP entry was not collected"
fosctl -j show conntrack summary | jq_py 'j["gc"]["runs"] > 0 and j["gc"]["removed"] > 0' | grep -q True ||
  fail "the collector reports no runs or removals"
pass_step "the collector removed the expired entry"

# --- a full table: established flows keep going, new ones are counted ---------
write_conf 64 60
fosctl reload >/dev/null || fail "reload to maxConnections 64 failed"
fosctl clear conntrack >/dev/null || fail "clear conntrack"
inC python3 "$TOOLS" stream 10.10.2.2 7000 6 "$T/stream2" &
STREAM=$!
sleep 1
inC python3 "$TOOLS" udp-flows 10.10.2.2 7001 200
sleep 0.5
fosctl -j show conntrack summary >"$T/sum.json"
jq_py 'j["entries"] <= 64 + 4 and j["insertFailures"] > 0' <"$T/sum.json" | grep -q True ||
  fail "the table went past its limit or counted no failure: $(cat "$T/sum.json")"
read -r sa ea <"$T/stream2"
sleep 2
read -r sb eb <"$T/stream2"
[ $((eb - ea)) -gt 5 ] || fail "the established stream stalled with the table full ($ea -> $eb)"
wait $STREAM
fails=$(jq_py 'j["insertFailures"]' <"$T/sum.json")
pass_step "a full table kept the established stream going, $fails insert failures counted"

# --- bad settings: refused with file:line, nothing changes --------------------
write_conf 64 60
cp "$T/fw.conf" "$T/good.conf"
for bad in "tcpTimeout = 0;" "udpTimeout = -5;" "invalid = \"maybe\";" "bogus = 1;"; do
  write_conf 64 60 "$bad"
  out=$(fosctl reload 2>&1) && fail "reload with '$bad' succeeded"
  echo "$out" | grep -q "fw.conf:1" || fail "no file:line for '$bad': $out"
done
bad_prog() { # interface state
  cat >"$T/fw.conf" <<CONF
programs = (
  { name = "edge-fw"; type = "tc-ingress"; interface = "$1"; priority = 20;
    settings = { stateful = true; actions = { default = "drop"; rules = (
      { match = { protocol = "tcp"; state = "$2"; }; action = "pass"; } ); }; }; }
);
CONF
}
bad_prog nosuch0 new
out=$(fosctl reload 2>&1) && fail "reload with a firewall on a missing interface succeeded"
echo "$out" | grep -q "nosuch0" || fail "the missing interface is not named: $out"
bad_prog r-srv sleepy
out=$(fosctl reload 2>&1) && fail "reload with an unknown state succeeded"
echo "$out" | grep -q "fw.conf:4.*sleepy" || fail "the unknown state is not named with file:line: $out"
fosctl -j show conntrack summary | jq_py 'j["maxConnections"]' | grep -q '^64$' ||
  fail "a refused reload changed the running config's table settings"
# what the datapath reads
fosctl -j show map fos_ct_cfg | jq_py 'j["entries"][0]["value"]["max_entries"], j["entries"][0]["value"]["timeout_ns"][4]' |
  tr '\n' ' ' | grep -q "^64 60000000000 $" ||
  fail "a refused reload changed fos_ct_cfg: $(fosctl -j show map fos_ct_cfg)"
fosctl -j show program edge-fw | jq_py 'j["attached"]' | grep -q True || fail "edge-fw was detached"
inS timeout 3 nc -w 2 10.10.1.2 7000 </dev/null >/dev/null 2>&1 &&
  fail "after refused reloads the outside got in"
pass_step "bad conntrack settings refused with file:line; nothing changed"

# --- entries that left the table without fwd are given back to the limit -------
command -v bpftool >/dev/null || skip "bpftool missing (the rest passed)"
cp "$T/good.conf" "$T/fw.conf"
fosctl reload >/dev/null || fail "reload of the good config"
inC python3 "$TOOLS" udp-flows 10.10.2.2 7001 30
before=$(fosctl -j show conntrack summary | jq_py 'j["entries"]')
[ "$before" -ge 30 ] || fail "expected at least 30 entries, the summary says $before"
fwd_stop
# with fwd stopped, empty the table by hand, as LRU evictions would
bpftool -j map dump pinned "$PIN/global/fos_ct" |
  jq_py '"\n".join(" ".join(b[2:] for b in e["key"]) for e in j)' |
  while read -r key; do
    [ -n "$key" ] && bpftool map delete pinned "$PIN/global/fos_ct" key hex $key
  done
fwd_start "$T/fw.conf" || fail "fwd did not restart"
for _ in $(seq 1 30); do
  fosctl -j show conntrack summary >"$T/sum.json"
  jq_py 'j["gc"]["runs"] >= 1 and j["entries"] == 0' <"$T/sum.json" | grep -q True && break
  sleep 0.5
done
jq_py 'j["entries"] == 0 and j["gc"]["released"] >= 30' <"$T/sum.json" | grep -q True ||
  fail "the count kept entries the table no longer holds: $(cat "$T/sum.json")"
pass_step "entries gone behind fwd's back ($before) were released from the count"
