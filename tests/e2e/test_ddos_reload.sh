#!/usr/bin/env bash
# A reload that gives the blacklist set a new id while the datapath is
# blocking a flood: blocks made under the old id (between the start of the
# apply and its flip) move to the set's new id. The source stays blocked, is
# listed in the set as an automatic entry, nothing is left under the old id
# in fos_sets4, and the block expires on time.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
command -v bpftool >/dev/null || skip "bpftool missing"
e2e_lab

BLOCK=8
# every apply is held 2 s before its flips
export FOS_TEST_APPLY_HOLD_MS=2000
# a set of some size, written again under each new id
python3 -c '
for i in range(20000):
    print(f"100.{64 + i // 65536}.{i // 256 % 256}.{i % 256}/32")' >"$T/big.txt"
conf() { # extra entry of the set
  cat >"$T/ddos.conf" <<EOF
ipSets = (
	{ name = "blocked"; file = "$T/big.txt"; entries = [ "192.0.2.0/24", "$1" ]; }
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
				blockDuration = $BLOCK;
			};
			actions = { default = "pass"; };
		};
	}
);
EOF
}
conf 198.51.100.0/32
fwd_start "$T/ddos.conf" || fail "fwd did not start"

set_id() { # the id of set blocked in fos_set_meta
  bpftool -j map dump pinned "$PIN/global/fos_set_meta" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    f = e.get("formatted", e)
    name = f["value"]["name"]
    if isinstance(name, list):
        name = bytes(int(x, 16) if isinstance(x, str) else x for x in name).split(b"\0")[0].decode()
    if name == "blocked":
        print(f["key"])'
}
in_map() { # id addr -> 0 if fos_sets4 has addr/32 under set id
  local key
  key=$(python3 -c '
import sys, struct, socket
print(" ".join("%d" % b for b in struct.pack("<I", 64) + struct.pack(">I", int(sys.argv[1])) +
      socket.inet_aton(sys.argv[2])))' "$1" "$2")
  # shellcheck disable=SC2086
  bpftool map lookup pinned "$PIN/global/fos_sets4" key $key >/dev/null 2>&1
}
listed() { # addr -> the seconds its auto entry of set blocked has left, or nothing
  fosctl -j show set blocked | python3 -c "
import json, sys
j = json.load(sys.stdin)
e = [x for x in j['entries'] if x['cidr'] == '$1/32']
if e and e[0]['dynamic'] and e[0].get('auto') and 'expires' in e[0]:
    print(e[0]['expires'])"
}

# a change of the entries renumbers the set
id0=$(set_id)
[ -n "$id0" ] || fail "set blocked not in fos_set_meta: $(bpftool -j map dump pinned "$PIN/global/fos_set_meta")"
conf 198.51.100.99/32
fosctl reload >/dev/null || fail "reload failed"
id1=$(set_id)
[ "$id1" != "$id0" ] || fail "a change of the entries did not give the set a new id ($id0)"
pass_step "a reload renumbers set blocked ($id0 -> $id1)"

# the flood while a reload is staged and held before its flip
# (FOS_TEST_APPLY_HOLD_MS): its block is made under the id being replaced
src=10.10.1.21
tried=$src
ip -n "$NS_C" addr add "$src/24" dev eth0 || fail "cannot add $src"
old=$(set_id)
conf "198.51.100.1/32"
held=$(grep -c "apply staged, held" "$FWD_LOG")
fosctl reload >/dev/null &
rl=$!
for _ in $(seq 1 200); do
  [ "$(grep -c "apply staged, held" "$FWD_LOG")" -gt "$held" ] && break
  sleep 0.05
done
[ "$(grep -c "apply staged, held" "$FWD_LOG")" -gt "$held" ] || fail "the reload was not held"
inC ping -f -c 30 -W 1 -I "$src" 10.10.2.2 >/dev/null 2>&1
wait $rl || fail "the held reload failed"
new=$(set_id)
[ "$new" != "$old" ] || fail "the reload kept id $old"
left=
for _ in $(seq 1 20); do
  left=$(listed "$src")
  seen_ms=$(($(date +%s%N) / 1000000))
  [ -n "$left" ] && break
  sleep 0.1
done
[ -n "$left" ] && [ "$left" -gt 0 ] && [ "$left" -le $BLOCK ] ||
  fail "$src is not an automatic entry of set blocked after the reload: $(fosctl -j show set blocked | grep -F "$src")"
in_map "$new" "$src" || fail "$src is not in fos_sets4 under the live id $new"
in_map "$old" "$src" && fail "$src is still in fos_sets4 under the replaced id $old"
inC ping -c2 -W1 -I "$src" 10.10.2.2 >/dev/null && fail "$src gets through after the reload"
grep -q "ddos: blocked $src/32 in set blocked for [0-9]* s (icmp-flood; made under the id a reload replaced)" "$FWD_LOG" ||
  fail "the block of $src was not moved from the replaced id: $(grep -F "$src" "$FWD_LOG")"
moved=$src
# whole seconds left when it was listed
expires_at=$((seen_ms + left * 1000))
pass_step "$moved, blocked under the replaced id $old, is blocked under $new and listed"

# the moved block expires on time: listed until its expiry, gone within
# about a second after it, from the list and the map, and the source passes
while [ -n "$(listed "$moved")" ]; do
  sleep 0.2
  now=$(($(date +%s%N) / 1000000))
  [ "$now" -lt $((expires_at + 2500)) ] || fail "$moved still listed $((now - expires_at)) ms after its expiry"
done
now=$(($(date +%s%N) / 1000000))
[ "$now" -gt $((expires_at - 1500)) ] || fail "$moved removed $((expires_at - now)) ms before its expiry"
in_map "$new" "$moved" && fail "$moved is still in fos_sets4 after its expiry"
inC ping -c1 -W2 -I "$moved" 10.10.2.2 >/dev/null || fail "$moved is still blocked after its expiry"
pass_step "the moved block expired on time"

# and every source of the tries is gone from fwd's list and from the map
# under each id the set has had
sleep 2
listing=$(fosctl -j show set blocked)
last=$(set_id)
for src in $tried; do
  echo "$listing" | grep -qF "\"$src/32\"" && fail "$src still listed"
  for id in $(seq "$id0" "$last"); do
    in_map "$id" "$src" && fail "$src left in fos_sets4 under id $id"
  done
done
pass_step "nothing left of the blocks once they expired"
echo PASS
