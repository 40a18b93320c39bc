#!/usr/bin/env bash
# rateLimiting.connectionsPerIP counts the flows a source has open: N UDP
# flows from the client pass and the next is dropped (connLimit); once they
# expire and the collector removes them the client may open new ones;
# `clear conntrack` gives the counts back; and TCP connections that were
# closed (FIN exchange) no longer count, so many short connections one
# after the other all work.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
TOOLS="$(dirname "$0")/ct_tools.py"
N=5

e2e_lab
inS python3 "$TOOLS" echo "$T" tcp:7000 udp:7001 >>"$T/echo-s.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/echo.ready" ] && break; sleep 0.1; done
[ -f "$T/echo.ready" ] || fail "the echo server did not start"

cat >"$T/limit.conf" <<EOF
conntrack = { udpTimeout = 3; };
programs = (
	{
		name = "shield";
		type = "xdp";
		interface = "r-cli";
		priority = 1;
		settings = {
			stateful = true;
			rateLimiting = { enabled = true; connectionsPerIP = $N; };
			actions = { default = "pass"; };
		};
	},
	{
		name = "edge-fw";
		type = "tc-ingress";
		interface = "r-cli";
		priority = 20;
		settings = { stateful = true; actions = { default = "pass"; }; };
	}
);
EOF
fwd_start "$T/limit.conf" || fail "fwd did not start"

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
conn_limit_drops() {
  ipc '{"method": "fos.Show.Ddos", "parameters": {"program": "shield"}}' |
    jq_py 'j["parameters"]["programs"][0]["drops"]["connLimit"]'
}
# the client's count in fos_ct_src: 0 when it has none
src_count() {
  bpftool -j map dump pinned "$PIN/global/fos_ct_src" | python3 -c '
import json, sys
want = [0] * 10 + [255, 255, 10, 10, 1, 2]
n = 0
for e in json.load(sys.stdin):
    k = e.get("key")
    if isinstance(k, dict):
        k = k.get("addr")
    k = [int(x, 0) if isinstance(x, str) else x for x in k]
    if k == want:
        v = e["value"]
        n = int(v, 0) if isinstance(v, str) else v
        if isinstance(v, list):
            n = int.from_bytes(bytes(int(x, 0) for x in v), "little")
print(n)'
}
udp_flow() { # source port -> 0 if the echo server answered
  inC python3 "$TOOLS" udp-ask 10.10.2.2 7001 "$1"
}
wait_count() { # expected count, seconds
  for _ in $(seq 1 $(($2 * 2))); do
    [ "$(src_count)" = "$1" ] && return 0
    sleep 0.5
  done
  return 1
}
command -v bpftool >/dev/null || skip "bpftool missing"

# --- N UDP flows pass, the next is dropped --------------------------------------
for i in $(seq 1 $N); do
  udp_flow $((41000 + i)) || fail "UDP flow $i of $N was dropped"
done
[ "$(src_count)" = $N ] || fail "the client counts $(src_count) flows, expected $N"
[ "$(conn_limit_drops)" = 0 ] || fail "connLimit drops before the limit: $(conn_limit_drops)"
# at the limit a flow already open still works (the last one: well within
# udpTimeout)
udp_flow $((41000 + N)) || fail "an open flow was dropped at the limit"
udp_flow 41100 && fail "flow $((N + 1)) passed over connectionsPerIP = $N"
[ "$(conn_limit_drops)" -ge 1 ] || fail "no connLimit drop counted"
[ "$(src_count)" = $N ] || fail "a dropped flow changed the count: $(src_count)"
pass_step "$N UDP flows pass, flow $((N + 1)) is dropped (connLimit)"

# --- expiry and the collector give the counts back ------------------------------
wait_count 0 25 || fail "the expired flows still count $(src_count) after 25 s"
udp_flow 41200 || fail "a new flow was dropped after the old ones expired"
[ "$(src_count)" = 1 ] || fail "the new flow counts $(src_count), expected 1"
pass_step "expired flows collected: the count fell to 0 and new flows pass"

# --- clear conntrack gives the counts back --------------------------------------
for i in $(seq 2 $N); do
  udp_flow $((41200 + i)) || fail "UDP flow $i of $N was dropped before clear"
done
[ "$(src_count)" = $N ] || fail "the client counts $(src_count) flows before clear, expected $N"
udp_flow 41300 && fail "flow $((N + 1)) passed before clear"
fosctl clear conntrack >/dev/null || fail "clear conntrack failed"
[ "$(src_count)" = 0 ] || fail "clear conntrack left a count of $(src_count)"
udp_flow 41301 || fail "a new flow was dropped after clear conntrack"
pass_step "clear conntrack released the counts"
fosctl clear conntrack >/dev/null || fail "clear conntrack failed"

# --- closed TCP connections do not count ----------------------------------------
cat >"$T/short.py" <<'PY'
import socket, sys
n = int(sys.argv[3])
for i in range(n):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
        s.sendall(b"hi %d\n" % i)
        got = b""
        while not got.endswith(b"\n"):
            d = s.recv(100)
            if not d:
                break
            got += d
        # our FIN, then the server's: the connection is closed both ways
        s.shutdown(socket.SHUT_WR)
        while s.recv(100):
            pass
        s.close()
    except OSError as e:
        print("connection %d of %d failed: %s" % (i + 1, n, e))
        sys.exit(1)
    if got != b"hi %d\n" % i:
        print("connection %d of %d: echo %r" % (i + 1, n, got))
        sys.exit(1)
PY
drops0=$(conn_limit_drops)
out=$(inC python3 "$T/short.py" 10.10.2.2 7000 $((3 * N))) ||
  fail "short TCP connections over connectionsPerIP = $N: $out"
[ "$(conn_limit_drops)" = "$drops0" ] || fail "closed connections were counted: connLimit drops rose"
c=$(src_count)
[ "$c" -le 1 ] || fail "after $((3 * N)) closed connections the client counts $c"
pass_step "$((3 * N)) short TCP connections one after the other all worked (count $c)"
