#!/usr/bin/env bash
# The stateful firewall of conf/examples/stateful-fw.conf on the router's
# outside interface (r-srv, TC ingress): flows the client opens work (nc,
# curl, ping, UDP, v4 and v6), the same from the outside are dropped, ICMP
# errors about tracked flows come back as RELATED, fosctl shows and clears the
# table, and the table's entries are what the traffic made.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
command -v curl >/dev/null || skip "curl missing"
TOOLS="$(dirname "$0")/ct_tools.py"

e2e_lab
servers_start tcp:8080 udp:5353
inS python3 "$TOOLS" echo "$T" tcp:7000 udp:7001 >>"$T/echo-s.log" 2>&1 &
mkdir -p "$T/c"
inC python3 "$TOOLS" echo "$T/c" tcp:7100 udp:7101 >>"$T/echo-c.log" 2>&1 &
inS python3 -m http.server 8000 --bind :: --directory "$T" >>"$T/http.log" 2>&1 &
inC python3 -m http.server 8001 --bind :: --directory "$T/c" >>"$T/http-c.log" 2>&1 &
for _ in $(seq 1 100); do
  [ -f "$T/echo.ready" ] && [ -f "$T/c/echo.ready" ] && break
  sleep 0.1
done

# before fwd: the outside can reach the inside (the lab routes both ways)
inS timeout 3 nc -w 2 10.10.1.2 7100 </dev/null >/dev/null 2>&1 ||
  fail "lab: the server cannot reach the client before fwd"
for _ in $(seq 1 30); do
  inS curl -s -m 2 -o /dev/null http://10.10.1.2:8001/ && break
  sleep 0.2
done
inS curl -s -m 2 -o /dev/null http://10.10.1.2:8001/ || fail "lab: curl from the server fails before fwd"

fwd_start "$FOS_CONF_DIR/examples/stateful-fw.conf" || fail "fwd did not start"
fosctl -j show program edge-fw >"$T/prog.json" || fail "show program"
jq_py 'j["type"], j["stateful"], j["attached"], j["tc"]["direction"], j["tc"]["tracker"]["direction"]' \
  <"$T/prog.json" | tr '\n' ' ' | grep -q "tc-ingress True True ingress egress" ||
  fail "edge-fw is not attached as a stateful tc-ingress program with an egress tracker: $(cat "$T/prog.json")"
pass_step "edge-fw attached on r-srv ingress, tracker on r-srv egress"

# --- from the inside: everything works -------------------------------------
tcp_pass 10.10.2.2 8080 || fail "client -> server tcp/8080 (v4) did not work"
tcp_pass fd00:10:2::2 8080 || fail "client -> server tcp/8080 (v6) did not work"
inC curl -s -m 5 -o /dev/null -w '%{http_code}' http://10.10.2.2:8000/ | grep -q 200 ||
  fail "curl from the client failed"
inC curl -s -m 5 -o /dev/null -w '%{http_code}' "http://[fd00:10:2::2]:8000/" | grep -q 200 ||
  fail "curl -6 from the client failed"
inC ping -c2 -W2 10.10.2.2 >/dev/null || fail "ping from the client failed"
inC ping -6 -c2 -W2 fd00:10:2::2 >/dev/null || fail "ping -6 from the client failed"
inC python3 "$TOOLS" udp-ask 10.10.2.2 7001 40001 || fail "UDP from the client got no answer"
inC python3 "$TOOLS" udp-ask fd00:10:2::2 7001 40002 || fail "UDP -6 from the client got no answer"
pass_step "nc, curl, ping and UDP from the inside work (v4 and v6)"

# --- from the outside: new flows are dropped --------------------------------
inS timeout 3 nc -w 2 10.10.1.2 7100 </dev/null >/dev/null 2>&1 &&
  fail "the server opened a TCP connection to the client through the firewall"
inS timeout 3 nc -w 2 fd00:10:1::2 7100 </dev/null >/dev/null 2>&1 &&
  fail "the server opened a TCP connection to the client (v6) through the firewall"
inS ping -c2 -W1 10.10.1.2 >/dev/null 2>&1 && fail "ping from the outside passed"
inS ping -6 -c2 -W1 fd00:10:1::2 >/dev/null 2>&1 && fail "ping -6 from the outside passed"
inS python3 "$TOOLS" udp-ask 10.10.1.2 7101 40003 && fail "UDP from the outside got an answer"
inS curl -s -m 2 -o /dev/null http://10.10.1.2:8001/ && fail "curl from the outside passed"
pass_step "nc, curl, ping and UDP from the outside are dropped"

# the rule: TCP to the router's own port 2222 is allowed in
mkdir -p "$T/r"
inR python3 "$TOOLS" echo "$T/r" tcp:2222 >>"$T/echo-r.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/r/echo.ready" ] && break; sleep 0.1; done
echo hi | inS timeout 3 nc -w 2 -q 1 10.10.2.1 2222 | grep -q hi ||
  fail "the rule allowing tcp/2222 to the router did not let the server in"
pass_step "a NEW flow the rules allow gets in"

# --- RELATED: ICMP errors about tracked flows pass --------------------------
inC python3 "$TOOLS" refused 10.10.2.2 6999 ||
  fail "the ICMP port unreachable for the client's UDP flow did not come back"
inC python3 "$TOOLS" refused fd00:10:2::2 6999 ||
  fail "the ICMPv6 port unreachable for the client's UDP flow did not come back"
fosctl -j show program edge-fw >"$T/prog.json"
rel=$(jq_py 'j["counters"]["conntrack"]["related"]' <"$T/prog.json")
[ "$rel" -ge 2 ] || fail "counters.conntrack.related is $rel, expected >= 2"
est=$(jq_py 'j["counters"]["conntrack"]["established"]' <"$T/prog.json")
new=$(jq_py 'j["counters"]["conntrack"]["new"]' <"$T/prog.json")
[ "$est" -gt 0 ] && [ "$new" -gt 0 ] || fail "established $est / new $new counters did not move"
pass_step "ICMP errors come back as RELATED ($rel), established $est, new $new"

# --- the table as fosctl shows it ---------------------------------------------
inC python3 "$TOOLS" stream 10.10.2.2 7000 4 "$T/s1" &
STREAM=$!
sleep 1
fosctl -j show conntrack proto tcp dst 10.10.2.2/32 port 7000 >"$T/ct.json" || fail "show conntrack"
jq_py '[(e["src"], e["dst"], e["dport"], e["state"], e["seenReply"]) for e in j["entries"]]' <"$T/ct.json" |
  grep -q "('10.10.1.2', '10.10.2.2', 7000, 'established', True)" ||
  fail "the client's TCP flow is not in the table as established: $(cat "$T/ct.json")"
jq_py 'j["entries"][0]["packets"]["orig"] > 0 and j["entries"][0]["packets"]["reply"] > 0 and j["entries"][0]["timeout"] > 80000' \
  <"$T/ct.json" | grep -q True || fail "flow counters or timeout wrong: $(cat "$T/ct.json")"
fosctl show conntrack proto tcp port 7000 >"$T/ct.txt" || fail "show conntrack (text)"
grep -q "10.10.1.2" "$T/ct.txt" && grep -q established "$T/ct.txt" || fail "text output: $(cat "$T/ct.txt")"
fosctl -j show conntrack summary >"$T/sum.json" || fail "show conntrack summary"
jq_py 'j["maxConnections"] == 65536 and j["entries"] > 0 and j["created"] > 0 and [p["proto"] for p in j["protocols"]]' \
  <"$T/sum.json" | grep -q "tcp" || fail "summary: $(cat "$T/sum.json")"
pass_step "show conntrack (filters, -j, text) and summary"

# --- clear conntrack ------------------------------------------------------
wait $STREAM
n_udp=$(fosctl -j show conntrack proto udp | jq_py 'j["matched"]')
[ "$n_udp" -gt 0 ] || fail "no UDP flows tracked"
out=$(fosctl clear conntrack proto udp) || fail "clear conntrack failed: $out"
echo "$out" | grep -qx "removed $n_udp entr\(y\|ies\)" || fail "clear conntrack said: $out (expected $n_udp)"
[ "$(fosctl -j show conntrack proto udp | jq_py 'j["matched"]')" = 0 ] ||
  fail "UDP flows left after clear"
out=$(fosctl show conntrack state bogus 2>&1) && fail "a bad state was accepted"
echo "$out" | grep -q "state" || fail "bad state message: $out"
# straight to the socket: a filter fwd cannot read must never widen a clear
ipc() { # request JSON -> reply JSON
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\0")
buf = b""
while not buf.endswith(b"\0"):
    d = s.recv(65536)
    if not d: break
    buf += d
print(buf.rstrip(b"\0").decode())' "$SOCK" "$1"
}
n_all=$(fosctl -j show conntrack | jq_py 'j["matched"]')
[ "$n_all" -gt 0 ] || fail "the table is empty"
for p in '{"src": 5}' '{"src": ["10.0.0.0/8"]}' '{"dport": 443}' '{"port": "443"}' '{"limit": 3}'; do
  out=$(ipc "{\"method\": \"fos.Clear.Conntrack\", \"parameters\": $p}")
  echo "$out" | grep -q '"fos.InvalidParameter"' || fail "clear conntrack $p was not refused: $out"
done
[ "$(fosctl -j show conntrack | jq_py 'j["matched"]')" = "$n_all" ] || fail "a refused clear removed flows"
for p in '{"limit": 0}' '{"limit": "all"}' '{"zone": -1}' '{"state": "estab"}' '{"proto": "sctp6"}'; do
  out=$(ipc "{\"method\": \"fos.Show.Conntrack\", \"parameters\": $p}")
  echo "$out" | grep -q '"fos.InvalidParameter"' || fail "show conntrack $p was not refused: $out"
done
# a limit stops the walk
fosctl -j show conntrack limit 1 | jq_py 'len(j["entries"]) == 1 and j["matched"] == 1' | grep -q True ||
  fail "limit 1: $(fosctl -j show conntrack limit 1)"
out=$(fosctl show map fos_ct 2>&1) && fail "a dump of the whole connection table was started"
echo "$out" | grep -q "show conntrack" || fail "show map fos_ct: $out"
pass_step "clear conntrack removed $n_udp UDP flows; bad filters rejected"

# --- fwd restarted: the table and the firewall carry on ----------------------
tcp_pass 10.10.2.2 8080 || fail "tcp after clear"
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
inS timeout 3 nc -w 2 10.10.1.2 7100 </dev/null >/dev/null 2>&1 &&
  fail "with fwd down, the outside got in"
tcp_pass 10.10.2.2 8080 || fail "with fwd down, the client's flows stopped working"
fwd_start "$FOS_CONF_DIR/examples/stateful-fw.conf" || fail "fwd did not restart"
grep -q "adopted the connection table" "$FWD_LOG" || fail "the pinned table was not adopted"
tcp_pass 10.10.2.2 8080 || fail "after the restart, the client's flows stopped working"
pass_step "kill -9 and restart: the firewall and its table stayed in place"

# --- fwd --flush removes the TC hooks, and only fos's ---------------------------
# fos's hooks are tcx links on this kernel; a filter fos did not attach (this
# kernel has cls_bpf only: a BPF one, from the same object file but loaded by
# tc itself) sits in a clsact qdisc beside them
hooks r-srv ingress | grep -q "^tcx fos_tc_fw " || fail "the firewall is not a tcx link: $(hooks r-srv ingress)"
hooks r-srv egress | grep -q "^tcx fos_tc_track " || fail "the tracker is not a tcx link: $(hooks r-srv egress)"
inR tc qdisc add dev r-srv clsact 2>/dev/null
inR tc filter add dev r-srv ingress prio 7 bpf da obj "$FOS_BPF_DIR/tc.bpf.o" sec tc ||
  fail "cannot add a foreign tc filter"
fwd_stop
hooks r-srv ingress | grep -q "^tcx fos_tc_fw " || fail "stopping fwd removed the firewall"
inR "$FWD" --flush --pin-dir "$PIN" >>"$FWD_LOG" 2>&1 || fail "fwd --flush failed"
hooks r-srv ingress | grep -q "^tcx" && fail "--flush left the firewall on r-srv ingress: $(hooks r-srv ingress)"
hooks r-srv egress | grep -q "^tcx" && fail "--flush left the tracker on r-srv egress: $(hooks r-srv egress)"
[ -e "$PIN/tcx" ] && fail "--flush left $PIN/tcx: $(ls "$PIN/tcx")"
hooks r-srv ingress | grep -q "^clsact 7 " ||
  fail "--flush removed a tc filter fos did not add"
inS timeout 3 nc -w 2 10.10.1.2 7100 </dev/null >/dev/null 2>&1 ||
  fail "after --flush the outside still cannot reach the client"
pass_step "fwd --flush removed fos's tcx links and left the foreign tc filter"
