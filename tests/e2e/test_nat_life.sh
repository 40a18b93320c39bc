#!/bin/bash
# NAT over time: a TCP connection and a UDP flow carry on through kill -9 of
# fwd and its restart; masquerade follows an address change of the external
# interface without a reload; a reload keeps the mappings the new config
# allows and ends the others; a tiny port range runs out, counted and logged.
. "$(dirname "$0")/lib.sh"
TOOLS="$(dirname "$0")/nat_tools.py"

e2e_lab
inC python3 "$TOOLS" serve "$T" tcp:7000 udp:7001 >>"$T/nat-serve.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/nat.ready" ] && break; sleep 0.1; done
[ -f "$T/nat.ready" ] || fail "the outside peer did not start"

write_conf() { # SOURCE_CIDRS
  cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
  name = "life";
  interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade";
  sourceCIDRs = ( $1 );
  portMappings = ( { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 7100; externalPort = 7100; } );
} );
EOF
}
write_conf '"10.10.2.0/24"'
fwd_start "$T/fwd.conf" || fail "fwd did not start"

# a long-lived TCP connection from the inside
mkdir -p "$T/hold"
inS python3 "$TOOLS" hold 10.10.1.2 7000 "$T/hold" >>"$T/hold.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/hold/ready" ] && break; sleep 0.1; done
[ -f "$T/hold/ready" ] || fail "the held connection did not open: $(cat "$T/hold.log")"
first=$(head -1 "$T/hold/out")
case "$first" in "10.10.1.1 "*) ;; *) fail "held connection seen as $first" ;; esac
ask() { # the held connection answers a line: the same peer as before
  local n
  n=$(wc -l <"$T/hold/out")
  echo ping >"$T/hold/in"
  for _ in $(seq 1 50); do
    [ "$(wc -l <"$T/hold/out")" -gt "$n" ] && break
    sleep 0.1
  done
  [ "$(tail -1 "$T/hold/out")" = "$first" ]
}
ask || fail "the held connection does not answer: $(tail -2 "$T/hold/out")"
udp1=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 45000) || fail "udp"
[ "$udp1" = "10.10.1.1 45000" ] || fail "udp seen as $udp1"

# kill -9: the datapath and its mappings stay; a restarted fwd adopts them
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
ask || fail "the held connection died with fwd"
fwd_start "$T/fwd.conf" || fail "fwd did not start again"
grep -q "nat: took over 3 TC hooks" "$FWD_LOG" || fail "the restart did not take the hooks over"
ask || fail "the held connection died in the restart"
out=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 45000) || fail "udp after the restart"
[ "$out" = "$udp1" ] || fail "the UDP flow's mapping changed in the restart: $out"
n=$(fosctl -j show nat | jq_py "j['configs'][0]['mappings']")
[ "$n" -ge 2 ] || fail "mappings after the restart: $n"
pass_step "kill -9 and restart: TCP and UDP flows carry on"

# a reload that allows more mappings than the table holds grows it: the
# mappings move to the bigger table, the flows carry on, and the new table
# is the pinned one a restart finds
size0=$(fosctl -j show nat | jq_py "j['tableSize']")
sed -i 's/type = "masquerade";/type = "masquerade"; connectionTracking = { maxConnections = 200000; };/' "$T/fwd.conf"
fosctl reload >/dev/null || fail "reload with a larger maxConnections"
size1=$(fosctl -j show nat | jq_py "j['tableSize']")
[ "$size1" -ge 200000 ] && [ "$size1" -gt "$size0" ] ||
  fail "the table did not grow for maxConnections 200000: $size0 -> $size1"
grep -q "nat: table grown from $size0 to $size1 mappings" "$FWD_LOG" || fail "the grow was not logged"
ask || fail "the held connection died when the table grew"
out=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 45000) || fail "udp after the grow"
[ "$out" = "$udp1" ] || fail "the UDP flow's mapping changed when the table grew: $out"
pinned=$(bpftool -j map show pinned "$PIN/nat/fos_nat" | jq_py "j['max_entries']")
[ "$pinned" = "$size1" ] || fail "the pinned table has $pinned mappings, not $size1"
fosctl show nat | grep -q "table: room for $size1 mappings" || fail "show nat does not show the table's size"
kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
fwd_start "$T/fwd.conf" || fail "fwd did not start on the grown table"
ask || fail "the held connection died in the restart on the grown table"
[ "$(fosctl -j show nat | jq_py "j['tableSize']")" = "$size1" ] || fail "the restart did not adopt the grown table"
pass_step "a bigger maxConnections grows the table in place: flows carry on, the restart adopts it"

# a reload that still allows them keeps them
sed -i 's/name = "life";/name = "life"; description = "changed";/' "$T/fwd.conf"
fosctl reload >/dev/null || fail "reload"
ask || fail "the held connection died in a reload that allows it"
# one that no longer translates the inside host ends its mappings
write_conf '"10.10.3.0/24"'
fosctl reload >/dev/null || fail "reload"
for _ in $(seq 1 30); do
  left=$(fosctl -j show nat mappings address 10.10.2.2/32 | jq_py "len([m for m in j['mappings'] if not m['static']])")
  [ "$left" = 0 ] && break
  sleep 0.1
done
[ "$left" = 0 ] || fail "$left mappings of 10.10.2.2 left after a reload that excludes it"
out=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 45002) || fail "udp after the exclusion"
[ "$out" = "10.10.2.2 45002" ] || fail "an excluded host is still translated: $out"
write_conf '"10.10.2.0/24"'
fosctl reload >/dev/null || fail "reload"
pass_step "reload: mappings kept where allowed, ended where not"

# the external address changes: masquerade and the port map follow it
# both changes at once, as one netlink batch: fwd sees them together, the
# port map's old mapping still there when the new one is written
printf 'addr del 10.10.1.1/24 dev r-cli\naddr add 10.10.1.5/24 dev r-cli\n' |
  ip -n "$NS_R" -batch - || fail "cannot change r-cli's address"
ok=
for _ in $(seq 1 30); do
  out=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 45004 2>/dev/null) && [ "$out" = "10.10.1.5 45004" ] && { ok=1; break; }
  sleep 0.2
done
[ -n "$ok" ] || fail "after the address change the outside saw: $out"
grep -q "nat: r-cli now masquerades as 10.10.1.5" "$FWD_LOG" || fail "the change is not logged: $(grep masquerades "$FWD_LOG")"
inS python3 "$TOOLS" serve "$T/srv" tcp:7100 >>"$T/srv.log" 2>&1 &
mkdir -p "$T/srv"
for _ in $(seq 1 50); do [ -f "$T/srv/nat.ready" ] && break; sleep 0.1; done
out=$(inC python3 "$TOOLS" tcp 10.10.1.5 7100) || fail "the port map on the new address"
[ "$out" = "10.10.1.2 $(echo "$out" | cut -d' ' -f2)" ] || fail "the port map's server saw $out"
pass_step "address change followed without a reload"

# a port range of two ports: the UDP ports of one parity run out
sed -i 's/type = "masquerade";/type = "masquerade"; portRange = "20000-20001";/' "$T/fwd.conf"
fosctl reload >/dev/null || fail "reload with a port range"
fosctl clear nat >/dev/null
inS python3 "$TOOLS" udp 10.10.1.2 7001 46000 >/dev/null || fail "the first flow of the range"
inS python3 "$TOOLS" udp 10.10.1.2 7001 46002 >/dev/null 2>&1 && fail "a second even port from a range with one"
inS python3 "$TOOLS" udp 10.10.1.2 7001 46001 >/dev/null || fail "the odd port of the range"
d=$(fosctl -j show nat | jq_py "j['configs'][0]['counters']['dropsExhausted']")
[ "$d" -ge 1 ] || fail "exhaustion drops: $d"
for _ in $(seq 1 30); do grep -q 'natConfigs "life": .* dropped: no free external port' "$FWD_LOG" && break; sleep 0.1; done
grep -q 'natConfigs "life": .* dropped: no free external port' "$FWD_LOG" || fail "exhaustion not logged"
fosctl show nat | grep -q "life" || fail "show nat"
pass_step "port exhaustion: dropped, counted, logged"

# the header's layout of the pinned table: read, or set to LAYOUT
hdr_layout() { # [LAYOUT]
  bpftool -j map lookup pinned "$PIN/nat/fos_nat_hdr" key 0 0 0 0 | python3 -c '
import json, subprocess, sys
v = [int(b, 16) for b in json.load(sys.stdin)["value"]]
if len(sys.argv) < 3:
    print(int.from_bytes(bytes(v[76:80]), "little")); sys.exit(0)
v[76:80] = list(int(sys.argv[2]).to_bytes(4, "little"))
subprocess.run(["bpftool", "map", "update", "pinned", sys.argv[1], "key", "0", "0", "0", "0",
                "value"] + [str(b) for b in v], check=True)' "$PIN/nat/fos_nat_hdr" "$@"
}
# a table of the same maps whose indexes another version built (its hash):
# refused with what to do, and left as it is
fwd_stop
[ "$(hdr_layout)" = 2 ] || fail "the table's header says layout $(hdr_layout)"
hdr_layout 1 || fail "cannot set the header's layout"
: >"$FWD_LOG"
fwd_start "$T/fwd.conf" && fail "fwd started on a NAT table of another layout"
grep -q "cannot map the NAT table into memory: .* (maps pinned in $PIN/nat by another version of fwd? fwd --flush removes them)" "$FWD_LOG" ||
  fail "no clear message for a table of another hash: $(cat "$FWD_LOG")"
[ "$(hdr_layout)" = 1 ] || fail "the table of another hash was changed"
hdr_layout 2 || fail "cannot set the header's layout back"
pass_step "a table whose indexes another version built: refused, said what to do, left alone"

# a NAT table another version of fwd pinned (the hash maps of old) is
# refused with what to do, and left as it is
rm -f "$PIN/nat/fos_nat"
bpftool map create "$PIN/nat/fos_nat" type hash key 40 value 64 entries 16384 name fos_nat flags 1 ||
  fail "cannot pin a table of the old layout"
: >"$FWD_LOG"
fwd_start "$T/fwd.conf" && fail "fwd started on a NAT table of another layout"
grep -q "cannot load the NAT programs: .* (maps pinned in $PIN/nat by another version of fwd? fwd --flush removes them)" "$FWD_LOG" ||
  fail "no clear message for a table of another layout: $(cat "$FWD_LOG")"
[ "$(bpftool -j map show pinned "$PIN/nat/fos_nat" | jq_py "j['type']")" = hash ] ||
  fail "the other layout's table was changed"
pass_step "a table pinned by another version: refused, said what to do, left alone"
echo "PASS"
