#!/bin/bash
# NAT behaviour as a real RFC 5780 client finds it: coturn's turnserver on
# the outside with two addresses, turnutils_natdiscovery on the inside,
# once with endpointIndependent = true (it must report endpoint-independent
# mapping and filtering) and once with false (address-and-port-dependent
# mapping and filtering). Hairpinning is asked about too.
. "$(dirname "$0")/lib.sh"
command -v turnserver >/dev/null || skip "turnserver (coturn) missing"
command -v turnutils_natdiscovery >/dev/null || skip "turnutils_natdiscovery (coturn) missing"

e2e_lab
# the STUN server's second address, for CHANGE-REQUEST
ip -n "$NS_C" addr add 10.10.1.3/24 dev eth0 || fail "a second outside address"
inC turnserver -n --no-tls --no-dtls --no-cli -L 10.10.1.2 -L 10.10.1.3 --listening-port 3478 \
  --log-file stdout --simple-log --no-auth-pings >"$T/turnserver.log" 2>&1 &
for _ in $(seq 1 50); do
  inC ss -lun | grep -q "10.10.1.3:3479" && break
  sleep 0.1
done
inC ss -lun | grep -q "10.10.1.3:3479" || fail "turnserver is not listening on both addresses: $(tail -5 "$T/turnserver.log")"

nat_conf() { # ENDPOINT_INDEPENDENT [HAIRPINNING]
  cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
  name = "rfc5780";
  interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade";
  endpointIndependent = $1;
  hairpinning = ${2:-true};
} );
EOF
}

discover() { # -> the client's output
  inS timeout 60 turnutils_natdiscovery -m -f 10.10.1.2 2>&1
}

nat_conf true
fwd_start "$T/fwd.conf" || fail "fwd did not start"
out=$(discover) || fail "natdiscovery failed: $out"
echo "$out" | grep -q "NAT with Endpoint Independent Mapping" ||
  fail "endpointIndependent = true: mapping not reported endpoint independent: $out"
echo "$out" | grep -q "Endpoint Independent Filtering" ||
  fail "endpointIndependent = true: filtering not reported endpoint independent: $out"
pass_step "endpointIndependent = true: EIM and EIF"
out=$(inS timeout 60 turnutils_natdiscovery -H 10.10.1.2 2>&1) || fail "natdiscovery -H failed: $out"
echo "$out" | grep -q "Received a request (maybe a successful hairpinning)" || fail "hairpinning not found: $out"
pass_step "hairpinning of a mapping"

nat_conf true false
fosctl reload >/dev/null || fail "reload"
out=$(inS timeout 60 turnutils_natdiscovery -H 10.10.1.2 2>&1)
echo "$out" | grep -q "Received a request" && fail "hairpinning = false, and the request came back: $out"
pass_step "hairpinning = false: no hairpin"

nat_conf false
fosctl reload >/dev/null || fail "reload"
fosctl clear nat >/dev/null || fail "clear nat"
out=$(discover) || fail "natdiscovery failed: $out"
echo "$out" | grep -q "NAT with Address and Port Dependent Mapping" ||
  fail "endpointIndependent = false: mapping not reported address and port dependent: $out"
echo "$out" | grep -q "Address and Port Dependent Filtering" ||
  fail "endpointIndependent = false: filtering not reported address and port dependent: $out"
pass_step "endpointIndependent = false: APDM and APDF"
echo "PASS"
