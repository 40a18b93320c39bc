#!/bin/bash
# The NAT collector: mappings past their timeout end, in the next walks, and
# only they; live ones (however long since their last walk) stay. The
# mappings are written into the pinned table by bench-nat-fill (NAT_FILL),
# as the datapath would have made them: 3000 live TCP and UDP mappings, and
# 3000 more last seen 300 s ago (UDP past its 120 s timeout, TCP not
# established and past its 240 s transitory one).
. "$(dirname "$0")/lib.sh"

[ -x "${NAT_FILL:-}" ] || skip "bench-nat-fill is not built (NAT_FILL)"
# the mappings' clock is CLOCK_MONOTONIC
up=$(python3 -c 'import time; print(int(time.clock_gettime(time.CLOCK_MONOTONIC)))')
[ "$up" -gt 360 ] || skip "the machine has been up ${up}s: mappings 300 s old cannot be written yet"

e2e_lab
cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
  name = "gc";
  interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade";
  ipVersion = "ipv4";
  sourceCIDRs = ( "10.0.0.0/8" );
  connectionTracking = { enabled = true; maxConnections = 20000; };
  endpointIndependent = true;
} );
EOF
fwd_start "$T/fwd.conf" || fail "fwd did not start"
IFINDEX=$(inR cat /sys/class/net/r-cli/ifindex)

# "walks expired mappings lastWalkMs portsInUse(10.10.1.1)"
gc_state() {
  fosctl -j show nat | jq_py "' '.join(str(x) for x in (j['gc']['walks'], j['expired'],
    j['configs'][0]['mappings'], j['gc']['lastWalkMs'],
    sum(a['portsInUse'] for a in j['externalAddresses'] if a['address'] == '10.10.1.1')))"
}
wait_walks() { # N: two more walks than now, so the last saw the table whole
  local w0 end=$((SECONDS + 30)) s
  s=$(gc_state) || fail "show nat"
  w0=${s%% *}
  while :; do
    s=$(gc_state) || fail "show nat"
    [ "${s%% *}" -ge $((w0 + $1)) ] && { STATE=$s; return 0; }
    [ $SECONDS -lt $end ] || fail "the collector did not walk $1 times in 30 s: $s"
    sleep 0.2
  done
}

out=$("$NAT_FILL" "$PIN" 1 "$IFINDEX" 10.10.1.1 3000) || fail "bench-nat-fill: $out"
wait_walks 2
read -r _ exp0 n last ports <<<"$STATE"
[ "$n" = 3000 ] || fail "mappings after 3000 live ones were written: $n"
[ "$ports" = 3000 ] || fail "ports in use on 10.10.1.1: $ports, not 3000"
[ "$exp0" = 0 ] || fail "live mappings expired: $exp0"
awk -v l="$last" 'BEGIN { exit !(l > 0) }' || fail "gc.lastWalkMs is $last"
pass_step "3000 live mappings: walked, none ended (a walk: $last ms)"

out=$("$NAT_FILL" "$PIN" 1 "$IFINDEX" 10.10.1.1 3000 300 3000) || fail "bench-nat-fill: $out"
wait_walks 2
read -r _ exp n _ ports <<<"$STATE"
[ "$exp" = 3000 ] || fail "expired: $exp, not the 3000 old mappings"
[ "$n" = 3000 ] || fail "mappings left: $n, not the 3000 live ones"
[ "$ports" = 3000 ] || fail "ports in use on 10.10.1.1: $ports, not 3000 (the old ones' IN entries stayed?)"
# exactly the old ones went: the live ones' sources are 10.0.0.1 .. 10.0.5.220
left=$(fosctl -j show nat mappings | jq_py "max((m['internal'] for m in j['mappings']), key=lambda a: [int(x) for x in a.split('.')])")
[ "$left" = "10.0.5.220" ] || fail "the highest source left is $left, not 10.0.5.220"
[ "$(fosctl -j show nat mappings | jq_py "(j['complete'], j['matching'], len(j['mappings']))")" = "(True, 3000, 3000)" ] ||
  fail "show nat mappings: not a complete walk of the 3000"
fosctl show nat | grep -q "^collector: 3000 expired, 0 ended by reloads, 0 moved to another way out; [0-9]* walks, the last [0-9.]* ms, every 1000 ms$" ||
  fail "show nat does not show the collector: $(fosctl show nat | grep collector)"
pass_step "3000 mappings 300 s old ended in the next walks, the 3000 live ones kept"

# a reload that no longer maps 10.0.4.0/22 ends those mappings, the others stay
sed -i 's|sourceCIDRs = ( "10.0.0.0/8" );|sourceCIDRs = ( "10.0.0.0/8" ); excludeCIDRs = ( "10.0.4.0/22" );|' "$T/fwd.conf"
fosctl reload >/dev/null || fail "reload"
wait_walks 2
read -r _ _ n _ ports <<<"$STATE"
# 10.0.4.0 .. 10.0.5.220 is n = 1023 .. 1499 (sources 10.0.0.0 + n + 1), two mappings each
[ "$n" = $((3000 - 2 * 477)) ] || fail "mappings after the reload: $n, not $((3000 - 2 * 477))"
[ "$ports" = "$n" ] || fail "ports in use after the reload: $ports, not $n"
ended=$(fosctl -j show nat | jq_py "j['ended']")
[ "$ended" = 954 ] || fail "ended by the reload: $ended, not 954"
pass_step "a reload ended the mappings the new config excludes"

# NAT taken out of the config: its hooks come off, its mappings end in the
# next walk (the empty table stays pinned for a later natConfig)
[ -n "$(hooks r-cli egress)" ] || fail "no NAT hook on r-cli egress before the reload"
echo 'programs = ();' >"$T/fwd.conf"
fosctl reload >/dev/null || fail "reload without natConfigs"
for d in ingress egress; do
  for i in r-cli r-srv; do
    [ -z "$(hooks "$i" "$d")" ] || fail "a NAT hook stayed on $i $d: $(hooks "$i" "$d")"
  done
done
fosctl show nat | grep -qx "no natConfigs" || fail "show nat without NAT: $(fosctl show nat)"
end=$((SECONDS + 30))
while :; do
  left=$(fosctl -j show nat mappings | jq_py "j['matching']")
  [ "$left" = 0 ] && break
  [ $SECONDS -lt $end ] || fail "$left mappings left 30 s after NAT was taken out"
  sleep 0.2
done
out=$(fosctl clear nat) || fail "clear nat without natConfigs: $out"
[ "$out" = "removed 0 mappings" ] || fail "clear nat without natConfigs said: $out"
pass_step "without natConfigs: hooks off, every mapping ended"
