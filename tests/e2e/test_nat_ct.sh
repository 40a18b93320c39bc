#!/bin/bash
# NAT with the connection table: where a stateful program tracks a
# natConfig's flows, a mapping lives as long as its flow's entry in the
# connection table, not by NAT's own timeouts. The entry expiring ends the
# mapping (though NAT's udpTimeout is longer), a live entry keeps it (though
# NAT's udpTimeout is shorter), `clear conntrack` ends it; without a
# stateful program NAT's own timeout decides.
. "$(dirname "$0")/lib.sh"
TOOLS="$(dirname "$0")/nat_tools.py"

e2e_lab
inC python3 "$TOOLS" serve "$T" tcp:7000 udp:7001 >>"$T/nat-serve.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/nat.ready" ] && break; sleep 0.1; done
[ -f "$T/nat.ready" ] || fail "the outside peer did not start"

write_conf() { # CT_UDP_TIMEOUT NAT_UDP_TIMEOUT [no-fw]
  {
    echo "conntrack = { udpTimeout = $1; };"
    [ "${3:-}" = no-fw ] || cat <<EOF
programs = ( { name = "edge-fw"; type = "tc-ingress"; interface = "r-cli"; priority = 20;
  settings = { stateful = true; actions = { default = "drop"; }; }; } );
EOF
    cat <<EOF
natConfigs = ( { name = "ct-nat"; interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade"; connectionTracking = { enabled = true; udpTimeout = $2; }; } );
EOF
  } >"$T/fwd.conf"
}

mappings() { # of the inside host's UDP port PORT
  fosctl -j show nat mappings protocol udp | jq_py "len([m for m in j['mappings'] if m['internalPort'] == $1])"
}
entries() { # in the connection table, of UDP port PORT
  fosctl -j show conntrack proto udp port "$1" | jq_py 'j["matched"]'
}
udp_out() { # SPORT: one datagram out and its answer, seen from the outside
  local out
  out=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 "$1") || fail "udp from port $1: no answer"
  [ "$out" = "10.10.1.1 $1" ] || fail "udp from port $1 seen as $out"
}

# the table's entry expires first: the mapping goes with it
write_conf 3 300
fwd_start "$T/fwd.conf" || fail "fwd did not start"
udp_out 46000
[ "$(mappings 46000)" = 1 ] || fail "no mapping for the flow"
[ "$(entries 46000)" -ge 1 ] || fail "no connection-table entry for the flow"
ct_gone= nat_gone=
for i in $(seq 1 40); do
  sleep 0.5
  [ -z "$ct_gone" ] && [ "$(entries 46000)" = 0 ] && ct_gone=$i
  [ -z "$nat_gone" ] && [ "$(mappings 46000)" = 0 ] && nat_gone=$i
  [ -n "$ct_gone" ] && [ -n "$nat_gone" ] && break
done
[ -n "$ct_gone" ] || fail "the connection-table entry did not expire after 3 s"
[ -n "$nat_gone" ] || fail "the mapping outlived its flow's entry by more than 15 s (NAT's udpTimeout is 300 s)"
# the two are read one after the other each step: an end between the reads
# may show the mapping gone a step before the entry
[ "$nat_gone" -ge $((ct_gone - 1)) ] || fail "the mapping ended (step $nat_gone) before the entry (step $ct_gone)"
pass_step "the flow's entry expired, the mapping ended with it (udpTimeout 300 s notwithstanding)"

# a live entry keeps the mapping past NAT's own timeout; clear conntrack ends it
write_conf 60 3
fosctl reload >/dev/null || fail "reload"
udp_out 46001
sleep 7
[ "$(entries 46001)" -ge 1 ] || fail "the entry went before its 60 s"
[ "$(mappings 46001)" = 1 ] || fail "the mapping ended after NAT's 3 s while its flow's entry lives"
udp_out 46001
fosctl clear conntrack proto udp port 46001 >/dev/null || fail "clear conntrack"
for _ in $(seq 1 30); do
  [ "$(mappings 46001)" = 0 ] && break
  sleep 0.5
done
[ "$(mappings 46001)" = 0 ] || fail "the mapping outlived its cleared entry"
pass_step "a live entry keeps the mapping past NAT's udpTimeout; clear conntrack ends it"

# nothing tracks the flows: NAT's own timeout
write_conf 60 3 no-fw
fosctl reload >/dev/null || fail "reload without the stateful program"
udp_out 46002
for _ in $(seq 1 30); do
  [ "$(mappings 46002)" = 0 ] && break
  sleep 0.5
done
[ "$(mappings 46002)" = 0 ] || fail "without a stateful program, the mapping outlived NAT's udpTimeout of 3 s"
pass_step "without a stateful program, NAT's own udpTimeout"
echo "PASS"
