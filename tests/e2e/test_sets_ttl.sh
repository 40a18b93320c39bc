#!/usr/bin/env bash
# Set entries with a time to live: fos.Set.Add with "timeout" blocks at once,
# show set counts the seconds down, the entry is gone (from fwd and from the
# map) within a second of its expiry, and a reload or a kill -9 + restart of
# fwd keeps the expiry. Bad timeouts are refused with their messages and
# change nothing.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
e2e_lab
# a copy of the lab's config, so that a reload can change the set
mkdir -p "$T/conf"
cp "$FOS_CONF_DIR/examples/lab.conf" "$T/conf/"
cp -r "$FOS_CONF_DIR/examples/sets" "$T/conf/"
CONF="$T/conf/lab.conf"
fwd_start "$CONF" || fail "fwd did not start"

# one raw IPC request (NUL-terminated JSON); prints the reply
ipc() { # method parameters-json
  python3 - "$SOCK" "$1" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
req = '{"method": %s, "parameters": %s}' % (json.dumps(sys.argv[2]), sys.argv[3])
s.sendall(req.encode() + b"\0")
buf = b""
while not buf.endswith(b"\0"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.rstrip(b"\0").decode())
EOF
}
add_timed() { # cidr timeout-json
  ipc fos.Set.Add "{\"name\": \"blocked\", \"cidr\": \"$1\", \"timeout\": $2}"
}
# the entry of blocked for CIDR as JSON, or None
entry() {
  fosctl -j show set blocked | jq_py "([e for e in j['entries'] if e['cidr']=='$1'] or [None])[0]"
}
expires() { # seconds left of CIDR's entry, or None
  fosctl -j show set blocked |
    jq_py "([e.get('expires') for e in j['entries'] if e['cidr']=='$1'] or [None])[0]"
}
# is 10.10.1.2/32 (prefixlen: 32 bits of set id + 32) in the fos_sets4 trie?
in_map() {
  fosctl -j show map fos_sets4 | python3 -c '
import json, sys
j = json.load(sys.stdin)
for e in j.get("entries", []):
    k = e["key"]
    if k["addr"] == "10.10.1.2" and k["prefixlen"] == 64:
        sys.exit(0)
sys.exit(1)'
}
map_expires() { # expires_ns of 10.10.1.2/32 in fos_sets4
  fosctl -j show map fos_sets4 | jq_py '[e["value"]["expires_ns"] for e in j["entries"] if e["key"]["addr"] == "10.10.1.2" and e["key"]["prefixlen"] == 64][0]'
}
map_set_id() { # set_id in the key of 10.10.1.2/32 (the newest if several)
  fosctl -j show map fos_sets4 | jq_py '[e["key"]["set_id"] for e in j["entries"] if e["key"]["addr"] == "10.10.1.2" and e["key"]["prefixlen"] == 64][-1]'
}
set_info() { # key of blocked in show sets
  fosctl -j show sets | jq_py "[s for s in j['sets'] if s['name']=='blocked'][0]['$1']"
}
C=10.10.1.2/32

inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping must pass before set add"

# --- a timed entry blocks, counts down and goes --------------------------------
out=$(add_timed $C 3)
echo "$out" | jq_py 'j["parameters"]["added"]' | grep -qx True || fail "add with timeout: $out"
[ "$(echo "$out" | jq_py 'j["parameters"]["expires"]')" = 3 ] || fail "reply expires: $out"
inC ping -c1 -W1 10.10.2.2 >/dev/null && fail "ping must be dropped while the entry lives"
e=$(expires $C)
[ "$e" != None ] && [ "$e" -ge 1 ] && [ "$e" -le 3 ] || fail "show set expires=$e"
[ "$(set_info timedEntries)" = 1 ] || fail "timedEntries=$(set_info timedEntries)"
in_map || fail "the entry is not in fos_sets4"
[ "$(map_expires)" -gt 0 ] || fail "the map value has no expiry: $(map_expires)"
pass_step "a timed entry blocks at once and shows its seconds left"

sleep 3.5
[ "$(entry $C)" = None ] || fail "expired entry still listed: $(entry $C)"
in_map && fail "expired entry still in fos_sets4"
[ "$(set_info expired)" = 1 ] || fail "expired=$(set_info expired)"
[ "$(set_info timedEntries)" = 0 ] || fail "timedEntries after expiry"
[ "$(fosctl -j show set blocked | jq_py 'j["expired"]')" = 1 ] || fail "show set expired"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping must pass after the entry expired"
grep -q "set blocked: $C expired, removed" "$FWD_LOG" || fail "no log of the removal"
pass_step "the entry is removed from fwd and the map on expiry"

# --- an update of the expiry -------------------------------------------------
add_timed $C 100 >/dev/null
out=$(add_timed $C 2)
[ "$(echo "$out" | jq_py 'j["parameters"]["added"]')" = False ] || fail "update: $out"
[ "$(echo "$out" | jq_py 'j["parameters"]["expires"]')" = 2 ] || fail "update expires: $out"
e=$(expires $C)
[ "$e" -le 2 ] || fail "expiry not shortened: $e"
# a plain add makes it permanent
out=$(ipc fos.Set.Add "{\"name\": \"blocked\", \"cidr\": \"$C\"}")
echo "$out" | jq_py '"expires" not in j["parameters"]' | grep -qx True || fail "plain add: $out"
[ "$(expires $C)" = None ] || fail "plain add kept the expiry"
sleep 2.5
[ "$(entry $C)" != None ] || fail "the permanent entry expired"
fosctl set del blocked $C >/dev/null || fail "set del"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping after set del"
pass_step "adding an entry again updates its expiry"

# --- reload and kill -9 + restart keep the expiry ------------------------------
add_timed $C 12 >/dev/null
id0=$(map_set_id)
exp0=$(map_expires)
# the set changes: it is written under a new id, the timed entry carried over
sed -i 's|entries = \[ "10.10.9.0/24"|entries = [ "192.0.2.0/24", "10.10.9.0/24"|' "$CONF"
grep -q 192.0.2.0/24 "$CONF" || fail "test: the config edit did not apply"
fosctl reload >/dev/null || fail "reload failed"
[ "$(entry 192.0.2.0/24)" != None ] || fail "the reload did not change the set"
e=$(expires $C)
[ "$e" != None ] && [ "$e" -ge 1 ] && [ "$e" -le 12 ] || fail "expiry after reload: $e"
[ "$(map_set_id)" != "$id0" ] || fail "the set was not written under a new id"
[ "$(map_expires)" = "$exp0" ] || fail "the map's expiry changed on reload: $exp0 -> $(map_expires)"
inC ping -c1 -W1 10.10.2.2 >/dev/null && fail "entry lost on reload"
pass_step "a reload that changes the set keeps the expiry"

kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
inC ping -c1 -W1 10.10.2.2 >/dev/null && fail "the datapath must keep blocking without fwd"
fwd_start "$CONF" || fail "fwd did not restart"
e=$(expires $C)
[ "$(set_info timedEntries)" = 1 ] || fail "timedEntries after restart"
# it counted down while fwd was away (a busy machine may take a few s to restart)
[ "$e" != None ] && [ "$e" -ge 1 ] && [ "$e" -le 11 ] || fail "expiry after restart: $e"
[ "$e" -ge 2 ] && { inC ping -c1 -W1 10.10.2.2 >/dev/null && fail "entry lost on restart"; }
sleep $((e + 1))
[ "$(entry $C)" = None ] || fail "entry still listed after its expiry (restarted fwd)"
in_map && fail "entry still in the map after its expiry (restarted fwd)"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping must pass after expiry (restarted fwd)"
pass_step "a kill -9 and restart of fwd keep the expiry"

# an entry that expires while no fwd runs is gone when it starts
add_timed $C 1 >/dev/null
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
sleep 1.5
fwd_start "$CONF" || fail "fwd did not restart"
[ "$(entry $C)" = None ] || fail "an entry that expired while fwd was down is listed"
in_map && fail "an entry that expired while fwd was down is in the map"
[ "$(set_info expired)" -ge 1 ] || fail "expired while down not counted"
pass_step "entries expired while fwd was down are removed on start"

# --- errors: clear messages, nothing changed --------------------------------
before=$(fosctl -j show set blocked)
for bad in 0 -1 '"abc"' 2147483648 1.5 true; do
  out=$(add_timed 10.10.1.3/32 "$bad")
  [ "$(echo "$out" | jq_py 'j.get("error")')" = fos.InvalidParameter ] ||
    fail "timeout $bad: $out"
  echo "$out" | grep -q 'parameter \\"timeout\\" must be' || fail "timeout $bad message: $out"
done
out=$(add_timed 10.10.9.0/24 60)
[ "$(echo "$out" | jq_py 'j.get("error")')" = fos.InvalidParameter ] || fail "config entry: $out"
echo "$out" | grep -q "is in the configuration of set" || fail "config entry message: $out"
echo "$out" | grep -q "it cannot expire" || fail "config entry message: $out"
out=$(ipc fos.Set.Del "{\"name\": \"blocked\", \"cidr\": \"10.10.9.0/24\", \"timeout\": 5}")
echo "$out" | grep -q 'takes no \\"timeout\\"' || fail "set del with a timeout: $out"
[ "$(fosctl -j show set blocked)" = "$before" ] || fail "a refused request changed the set"
[ "$(expires 10.10.9.0/24)" = None ] || fail "the config entry got an expiry"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "a refused request changed the datapath"
pass_step "bad timeouts and a timeout on a config entry are refused"
echo PASS
