#!/usr/bin/env bash
# fosctl set add/del change filtering at once, without a reload; bad input is
# refused with a clear message and changes nothing.
. "$(dirname "$0")/lib.sh"
e2e_lab
fwd_start "$FOS_CONF_DIR/examples/lab.conf" || fail "fwd did not start"

gen0=$(fosctl -j show status | jq_py 'j["generation"]')
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping must pass before set add"

fosctl set add blocked 10.10.1.2/32 || fail "set add failed"
inC ping -c2 -W1 10.10.2.2 >/dev/null && fail "ping must be dropped after set add"
fosctl show set blocked | grep -qE "^10\.10\.1\.2/32 +dynamic " || fail "show set lacks the dynamic entry"
dyn=$(fosctl -j show sets | jq_py '[s for s in j["sets"] if s["name"]=="blocked"][0]["dynamicEntries"]')
[ "$dyn" = 1 ] || fail "dynamicEntries=$dyn"
pass_step "set add blocks at once"

# a dynamic entry survives a reload
fosctl reload >/dev/null || fail "reload failed"
inC ping -c1 -W1 10.10.2.2 >/dev/null && fail "dynamic entry lost on reload"
pass_step "dynamic entry kept across reload"

fosctl set del blocked 10.10.1.2/32 || fail "set del failed"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping must pass after set del"
pass_step "set del unblocks at once"

# IPv6 entry
fosctl set add blocked fd00:10:1::2/128 || fail "set add v6"
inC ping -6 -c1 -W1 fd00:10:2::2 >/dev/null && fail "v6 source must be dropped"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "v4 must still pass"
fosctl set del blocked fd00:10:1::2/128 || fail "set del v6"
pass_step "IPv6 entries"

# errors: each with its message and exit code, nothing changed
out=$(fosctl set add nosuch 10.0.0.0/8 2>&1); rc=$?
[ $rc = 1 ] || fail "set add to a missing set: exit $rc"
echo "$out" | grep -q 'no set named "nosuch"' || fail "message: $out"
out=$(fosctl set add blocked 10.0.0.1/8 2>&1); rc=$?
[ $rc = 2 ] || fail "host bits: exit $rc ($out)"
echo "$out" | grep -q "host bits" || fail "message: $out"
out=$(fosctl set del blocked 10.10.9.0/24 2>&1); rc=$?
[ $rc = 1 ] || fail "deleting a config entry: exit $rc"
echo "$out" | grep -q "comes from the config" || fail "message: $out"
out=$(fosctl set del blocked 192.0.2.0/24 2>&1); rc=$?
[ $rc = 1 ] || fail "deleting a missing entry: exit $rc"
echo "$out" | grep -q "is not in set" || fail "message: $out"
fosctl show set blocked | grep -q "10.10.9.0/24" || fail "config entry must remain"
gen1=$(fosctl -j show status | jq_py 'j["generation"]')
[ "$gen1" = $((gen0 + 0)) ] || [ "$gen1" -ge "$gen0" ] || fail "generation went backwards"
pass_step "errors are clear and change nothing"

# SO_PEERCRED: an unprivileged user may look but not change anything
if command -v setpriv >/dev/null; then
  chmod 0711 "$T"; chmod 0666 "$SOCK"
  asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$FOSCTL" -s "$SOCK" "$@"; }
  asnobody show sets >/dev/null || fail "an unprivileged user must be able to show"
  out=$(asnobody set add blocked 10.10.1.2/32 2>&1); rc=$?
  [ $rc = 1 ] || fail "unprivileged set add: exit $rc"
  echo "$out" | grep -q 'needs root or the "fos" group' || fail "message: $out"
  out=$(asnobody reload 2>&1) && fail "unprivileged reload accepted"
  inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "an unprivileged set add changed the datapath"
  fosctl show set blocked | grep -q "10.10.1.2/32" && fail "an unprivileged set add changed the set"
  pass_step "unprivileged clients are refused changes"
fi
echo PASS
