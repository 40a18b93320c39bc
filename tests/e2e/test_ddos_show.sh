#!/usr/bin/env bash
# show ddos and show ddos top: an ICMP flood from the client trips the
# router's icmpFloodProtection, which drops it, puts the client into the
# blacklist set for blockDuration, and says so in its counters, its state
# and its list of top sources; a reload keeps all of it. Bad requests get
# their message and change nothing.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
e2e_lab

cat >"$T/ddos.conf" <<EOF
ipSets = (
	{ name = "blocked"; entries = [ "192.0.2.0/24" ]; }
);
programs = (
	{
		name = "shield";
		type = "xdp";
		interface = "r-cli";
		settings = {
			blacklist = { enabled = true; ipSetRef = "blocked"; };
			icmpFloodProtection = {
				enabled = true;
				perSource = 10;
				perSourceBurst = 10;
				blockDuration = 300;
			};
			actions = { default = "pass"; };
		};
	},
	{
		name = "plain";
		type = "xdp";
		interface = "r-srv";
		settings = { actions = { default = "pass"; }; };
	}
);
EOF
fwd_start "$T/ddos.conf" || fail "fwd did not start"

# fosctl has no ddos commands here: straight to the socket
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
check() { # python statements over the JSON on stdin, bound to j
  python3 -c "import json, sys; j = json.load(sys.stdin)
$1"
}
ddos() { ipc "{\"method\": \"fos.Show.Ddos\", \"parameters\": ${1:-{\}}}"; }
top() { ipc "{\"method\": \"fos.Show.DdosTop\", \"parameters\": ${1:-{\}}}"; }

# programs say whether they run with DDoS mitigation
out=$(ipc '{"method": "fos.Show.Program", "parameters": {"name": "shield"}}')
[ "$(echo "$out" | jq_py 'j["parameters"]["ddos"]')" = True ] || fail "shield: ddos not true: $out"
[ "$(echo "$out" | jq_py '"shield/fos_ddos_events" in j["parameters"]["status"]["mapRefs"]')" = True ] ||
  fail "shield: its DDoS maps are not in mapRefs: $out"
out=$(ipc '{"method": "fos.Show.Program", "parameters": {"name": "plain"}}')
[ "$(echo "$out" | jq_py 'j["parameters"]["ddos"]')" = False ] || fail "plain: ddos not false: $out"
pass_step "programs show ddos"

# before any traffic: armed, not engaged, the settings as configured
out=$(ddos)
echo "$out" | check '
p = j["parameters"]["programs"]
assert [x["name"] for x in p] == ["shield"], p
s = p[0]
assert s["interface"] == "r-cli", s
pr = s["protections"]
assert pr["icmpFloodProtection"] == {"armed": True, "engaged": False, "perSource": 10,
    "perSourceBurst": 10, "blockDuration": 300}, pr
for g in ("rateLimiting", "synFloodProtection", "udpFloodProtection"):
    assert pr[g] == {"armed": False, "engaged": False}, (g, pr[g])
assert set(s["drops"]) == {"rate", "connRate", "connLimit", "synFlood", "icmpFlood",
    "udpFlood", "blacklist"}, s["drops"]
assert all(v == 0 for v in s["drops"].values()), s["drops"]
assert s["cookies"] == {"sent": 0, "proved": 0, "bad": 0}, s["cookies"]
assert s["blocked"] == 0 and s["eventsLost"] == 0, s
' >/dev/null || fail "show ddos before the flood: $out"
out=$(top)
[ "$(echo "$out" | jq_py 'j["parameters"]["sources"]')" = "[]" ] || fail "top before the flood: $out"
pass_step "show ddos: armed and quiet"

# the flood: far above 10 per second from one source
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "a single ping must pass"
inC ping -f -c 300 -W 1 10.10.2.2 >/dev/null 2>&1 &
flood=$!
# engaged while it acts: the first drops are its own (then the block's), and
# it stays engaged for 2 s after them
engaged=
for _ in $(seq 1 50); do
  out=$(ddos '{"program": "shield"}')
  if echo "$out" | check '
s = j["parameters"]["programs"][0]
assert s["drops"]["icmpFlood"] > 0
' 2>/dev/null; then
    echo "$out" | check '
pr = j["parameters"]["programs"][0]["protections"]
assert pr["icmpFloodProtection"]["engaged"] is True, pr
assert not pr["rateLimiting"]["engaged"] and not pr["udpFloodProtection"]["engaged"], pr
' >/dev/null && engaged=1
    break
  fi
  sleep 0.05
done
wait $flood
[ -n "$engaged" ] || fail "icmpFloodProtection not engaged while it drops: $out"
out=$(ddos '{"program": "shield"}')
echo "$out" | check '
s = j["parameters"]["programs"][0]
assert s["drops"]["icmpFlood"] > 0, s["drops"]
assert s["drops"]["blacklist"] > 0, s["drops"]
assert s["blocked"] >= 1, s
assert s["trackedSources"] >= 1, s
assert s["eventsLost"] == 0 and s["blockFailed"] == 0, s
' >/dev/null || fail "show ddos after the flood: $out"
pass_step "show ddos: the flood is dropped and the protection engaged"

out=$(top '{"limit": 5}')
echo "$out" | check '
v = j["parameters"]["sources"]
assert 1 <= len(v) <= 5, v
e = v[0]
assert e["program"] == "shield" and e["source"] == "10.10.1.2/32", e
assert e["drops"]["icmpFlood"] > 0, e
assert e["total"] == sum(e["drops"].values()), e
assert 0 <= e["lastDrop"] < 60, e
assert 250 < e["blocked"] <= 300, e
assert [x["total"] for x in v] == sorted([x["total"] for x in v], reverse=True), v
' >/dev/null || fail "show ddos top: $out"
pass_step "show ddos top: the client first, blocked"

# the block: the client is in the set, as an automatic entry with its expiry
found=
for _ in $(seq 1 20); do
  fosctl -j show set blocked | check '
e = [x for x in j["entries"] if x["cidr"] == "10.10.1.2/32"]
assert e and e[0]["dynamic"] and e[0]["auto"], j
assert 250 < e[0]["expires"] <= 300, e
' >/dev/null 2>&1 && { found=1; break; }
  sleep 0.1
done
[ -n "$found" ] || fail "the blocked client is not in set blocked: $(fosctl -j show set blocked)"
grep -q "ddos: blocked 10.10.1.2/32 in set blocked for [0-9]* s (icmp-flood)" "$FWD_LOG" ||
  fail "no block in fwd's log"
inC ping -c2 -W1 10.10.2.2 >/dev/null && fail "the blocked client still gets through"
pass_step "the client is blocked in set blocked"

# a reload keeps the counters, the sources and the block
before=$(ddos | jq_py 'j["parameters"]["programs"][0]["drops"]["icmpFlood"]')
fosctl reload >/dev/null || fail "reload failed"
out=$(ddos)
echo "$out" | check "
s = j['parameters']['programs'][0]
assert s['drops']['icmpFlood'] >= $before, s
assert s['protections']['icmpFloodProtection']['armed'], s
" >/dev/null || fail "reload lost the counters: $out"
out=$(top)
[ "$(echo "$out" | jq_py 'j["parameters"]["sources"][0]["source"]')" = 10.10.1.2/32 ] ||
  fail "reload lost the sources: $out"
fosctl -j show set blocked | check '
assert [x for x in j["entries"] if x["cidr"] == "10.10.1.2/32" and x["auto"]], j
' >/dev/null || fail "reload lost the block"
inC ping -c2 -W1 10.10.2.2 >/dev/null && fail "the block is gone after the reload"
pass_step "a reload keeps counters, sources and the block"

# a restart adopts the pinned maps: the same counters and sources
fwd_stop
fwd_start "$T/ddos.conf" || fail "fwd did not start again"
out=$(top)
[ "$(echo "$out" | jq_py 'j["parameters"]["sources"][0]["source"]')" = 10.10.1.2/32 ] ||
  fail "a restart lost the sources: $out"
[ "$(ddos | jq_py 'j["parameters"]["programs"][0]["drops"]["icmpFlood"]')" -ge "$before" ] ||
  fail "a restart lost the counters: $(ddos)"
pass_step "a restart keeps counters and sources"

# errors: each with its message; nothing changes
gen0=$(fosctl -j show status | jq_py 'j["generation"]')
err() { # request-params method expected-error expected-text
  local out
  out=$(ipc "{\"method\": \"$2\", \"parameters\": $1}")
  echo "$out" | jq_py "j['error']" | grep -qx "$3" || fail "$2 $1: not $3: $out"
  echo "$out" | grep -q "$4" || fail "$2 $1: message: $out"
}
err '{"program": "nosuch"}' fos.Show.Ddos fos.NoSuchProgram 'no program named \\"nosuch\\"'
err '{"program": "plain"}' fos.Show.Ddos fos.InvalidParameter "program plain has no DDoS protection"
err '{"program": "nosuch"}' fos.Show.DdosTop fos.NoSuchProgram 'no program named'
err '{"program": "plain"}' fos.Show.DdosTop fos.InvalidParameter "program plain has no DDoS protection"
err '{"prog": "shield"}' fos.Show.Ddos fos.InvalidParameter 'unknown parameter \\"prog\\"'
err '{"limit": 5}' fos.Show.Ddos fos.InvalidParameter 'unknown parameter \\"limit\\"'
err '{"count": 5}' fos.Show.DdosTop fos.InvalidParameter 'unknown parameter \\"count\\"'
err '{"limit": 0}' fos.Show.DdosTop fos.InvalidParameter "limit: expected 1-10000"
err '{"limit": 10001}' fos.Show.DdosTop fos.InvalidParameter "limit: expected 1-10000"
err '{"limit": "5"}' fos.Show.DdosTop fos.InvalidParameter "limit: expected 1-10000"
err '{"program": 3}' fos.Show.Ddos fos.InvalidParameter "program: expected a name"
[ "$(fosctl -j show status | jq_py 'j["generation"]')" = "$gen0" ] || fail "an error changed the state"
[ "$(top | jq_py 'j["parameters"]["sources"][0]["source"]')" = 10.10.1.2/32 ] ||
  fail "an error changed the sources"
pass_step "bad requests are refused with their message"

# protections switched off: the program runs without DDoS code, and is no
# longer listed; its block stays in the set until it expires
cp "$T/ddos.conf" "$T/ddos-on.conf"
sed '/icmpFloodProtection = {/,/};/d' "$T/ddos-on.conf" >"$T/ddos.conf"
fosctl reload >/dev/null || fail "reload without protections failed"
out=$(ipc '{"method": "fos.Show.Program", "parameters": {"name": "shield"}}')
[ "$(echo "$out" | jq_py 'j["parameters"]["ddos"]')" = False ] || fail "shield still ddos: $out"
[ "$(ddos | jq_py 'j["parameters"]["programs"]')" = "[]" ] || fail "show ddos lists it: $(ddos)"
err '{"program": "shield"}' fos.Show.Ddos fos.InvalidParameter "program shield has no DDoS protection"
inC ping -c2 -W1 10.10.2.2 >/dev/null && fail "the block went with the protection"
# and on again: armed, on the same link
cp "$T/ddos-on.conf" "$T/ddos.conf"
fosctl reload >/dev/null || fail "reload with protections failed"
ddos | check '
s = j["parameters"]["programs"][0]
assert s["name"] == "shield" and s["protections"]["icmpFloodProtection"]["armed"], s
' >/dev/null || fail "protections not back: $(ddos)"
pass_step "protections switched off and on by reload"
echo PASS
