#!/usr/bin/env bash
# Reloads are all or nothing: a broken config is rejected with file:line and
# traffic keeps following the running config; a good one takes effect, by
# fosctl reload and by SIGHUP.
. "$(dirname "$0")/lib.sh"
e2e_lab
servers_start tcp:23 tcp:80 tcp:2323
mkdir -p "$T/conf" && cp -r "$FOS_CONF_DIR/examples/." "$T/conf/"
CFG="$T/conf/lab.conf"
fwd_start "$CFG" || fail "fwd did not start"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped at start"
gen0=$(fosctl -j show status | jq_py 'j["generation"]')

# broken: a port out of range. Rejected, with the file and line.
cp "$CFG" "$T/good.conf"
sed -i 's/dstPort = 23;/dstPort = 70000;/' "$CFG"
line=$(grep -n 'dstPort = 70000' "$CFG" | cut -d: -f1)
out=$(fosctl reload 2>&1); rc=$?
[ $rc = 1 ] || fail "broken reload: exit $rc"
echo "$out" | grep -q "lab.conf:$line:.*70000 is out of range 0-65535" || fail "message: $out"
tcp_try 10.10.2.2 23 && fail "after a rejected reload tcp/23 must still be dropped"
tcp_pass 10.10.2.2 80 || fail "after a rejected reload tcp/80 must still pass"
gen1=$(fosctl -j show status | jq_py 'j["generation"]')
[ "$gen1" = "$gen0" ] || fail "generation changed on a rejected reload ($gen0 -> $gen1)"
ok=$(fosctl -j show status | jq_py 'j["lastReload"]["ok"]')
[ "$ok" = False ] || fail "lastReload.ok=$ok"
pass_step "broken config rejected at lab.conf:$line, old rules in force"

# a syntax error and an unknown key: also rejected
printf 'programs = ( { name = "x" ' >"$CFG"
out=$(fosctl reload 2>&1) && fail "syntax error accepted"
echo "$out" | grep -q "lab.conf:" || fail "syntax error message lacks file:line: $out"
cp "$T/good.conf" "$CFG"; sed -i 's/priority = 10;/priority = 10; colour = "red";/' "$CFG"
out=$(fosctl reload 2>&1) && fail "unknown key accepted"
echo "$out" | grep -q "unknown key" || fail "unknown key message: $out"
tcp_try 10.10.2.2 23 && fail "tcp/23 must still be dropped"
pass_step "syntax error and unknown key rejected"

# the config file gone, or naming an interface that does not exist: rejected
mv "$CFG" "$T/moved.conf"
out=$(fosctl reload 2>&1) && fail "reload of a missing file accepted"
echo "$out" | grep -q "lab.conf: No such file or directory" || fail "missing file message: $out"
mv "$T/moved.conf" "$CFG"
cp "$T/good.conf" "$CFG"; sed -i 's/interface = "r-cli";/interface = "r-gone";/' "$CFG"
out=$(fosctl reload 2>&1) && fail "reload naming a missing interface accepted"
echo "$out" | grep -q 'lab.conf:[0-9]*: .*no such interface "r-gone"' || fail "interface message: $out"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "the program left r-cli on a rejected reload"
tcp_try 10.10.2.2 23 && fail "tcp/23 must still be dropped"
gen1b=$(fosctl -j show status | jq_py 'j["generation"]')
[ "$gen1b" = "$gen0" ] || fail "generation changed on rejected reloads"
pass_step "missing file and missing interface rejected, nothing changed"

# good change: move the drop from 23 to 2323; takes effect
cp "$T/good.conf" "$CFG"
sed -i 's/dstPort = 23;/dstPort = 2323;/' "$CFG"
fosctl reload >/dev/null || fail "good reload failed: $(fosctl reload 2>&1)"
tcp_pass 10.10.2.2 23 || fail "tcp/23 must pass after the reload"
tcp_try 10.10.2.2 2323 && fail "tcp/2323 must be dropped after the reload"
gen2=$(fosctl -j show status | jq_py 'j["generation"]')
[ "$gen2" -gt "$gen0" ] || fail "generation did not advance"
pass_step "good reload applied (generation $gen0 -> $gen2)"

# a set changed by a reload: the old copy's entries are erased, none left over
live() { fosctl -j show maps | jq_py 'sum(m["entries"] for m in j["maps"] if m["name"] in ("fos_sets", "fos_sets4"))'; }
n0=$(live)
rc0=$(fosctl -j show rules lab-filter | jq_py 'j["programs"][0]["rules"][0]["packets"]')
[ "$rc0" -ge 1 ] || fail "rule 0 has counted nothing yet ($rc0)"
sed -i 's|"10.10.9.0/24"|"10.10.9.0/24", "10.10.8.0/24"|' "$CFG"
grep -q 10.10.8.0/24 "$CFG" || fail "test setup: the set entry was not added"
fosctl reload >/dev/null || fail "reload with a changed set failed"
for _ in $(seq 1 100); do [ "$(live)" = $((n0 + 1)) ] && break; sleep 0.1; done
[ "$(live)" = $((n0 + 1)) ] || fail "the set tries hold $(live) entries, expected $((n0 + 1)): the old copy was left"
fosctl show set blocked | grep -q "10.10.8.0/24" || fail "the new entry is not in the set"
rc1=$(fosctl -j show rules lab-filter | jq_py 'j["programs"][0]["rules"][0]["packets"]')
[ "$rc1" -ge "$rc0" ] || fail "rule counters reset by a set change ($rc0 -> $rc1)"
pass_step "a changed set replaces its old copy ($n0 -> $((n0 + 1)) entries), rule counters kept ($rc0 -> $rc1)"

# SIGHUP reloads too
cp "$T/good.conf" "$CFG"
kill -HUP "$FWD_PID"
for _ in $(seq 1 200); do
  g=$(fosctl -j show status 2>/dev/null | jq_py 'j["generation"]' 2>/dev/null) || g=0
  [ "$g" -gt "$gen2" ] && break
  sleep 0.1
done
[ "$g" -gt "$gen2" ] || fail "SIGHUP did not reload"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped again after SIGHUP"
pass_step "SIGHUP reload"

# removing the program detaches it; adding it back attaches it
cat >"$CFG" <<'CONF'
ipSets = ( { name = "blocked"; entries = [ "10.10.9.0/24" ]; } );
CONF
fosctl reload >/dev/null || fail "reload without programs failed"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" && fail "XDP still attached after removal"
tcp_pass 10.10.2.2 23 || fail "tcp/23 must pass with no program"
[ ! -e "$PIN/progs/lab-filter" ] || fail "pins of a removed program remain"
cp "$T/good.conf" "$CFG"
fosctl reload >/dev/null || fail "reload adding the program back failed"
tcp_try 10.10.2.2 23 && fail "tcp/23 dropped again once the program is back"
pass_step "program removal and re-add"

# rename on the same interface: the new program takes over the live link
link0=$(fosctl -j show program lab-filter | jq_py 'j["linkId"]')
sed 's/name = "lab-filter";/name = "lab-filter-2";/' "$T/good.conf" >"$CFG"
fosctl reload >/dev/null || fail "rename reload failed: $(fosctl reload 2>&1)"
link1=$(fosctl -j show program lab-filter-2 | jq_py 'j["linkId"]')
[ "$link1" = "$link0" ] || fail "rename replaced the link ($link0 -> $link1): r-cli had a gap"
fosctl show program lab-filter >/dev/null 2>&1 && fail "the old name is still shown"
tcp_try 10.10.2.2 23 && fail "tcp/23 must stay dropped across the rename"
[ ! -e "$PIN/progs/lab-filter" ] || fail "pins of the old name remain"
pass_step "rename keeps link $link0"

# two programs swap interfaces in one reload
cat >"$CFG" <<'CONF'
programs = (
  { name = "a"; type = "xdp"; interface = "r-cli";
    settings = { actions = { rules = ( { match = { protocol = "tcp"; dstPort = 23; }; action = "drop"; } ); }; }; },
  { name = "b"; type = "xdp"; interface = "r-srv"; }
);
CONF
fosctl reload >/dev/null || fail "two-program reload failed: $(fosctl reload 2>&1)"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped by a on r-cli"
la=$(fosctl -j show program a | jq_py 'j["linkId"]')
sed -i 's/interface = "r-cli"/interface = "TMP"/; s/interface = "r-srv"/interface = "r-cli"/; s/interface = "TMP"/interface = "r-srv"/' "$CFG"
fosctl reload >/dev/null || fail "swap reload failed: $(fosctl reload 2>&1)"
[ "$(fosctl -j show program b | jq_py 'j["interface"]')" = r-cli ] || fail "b is not on r-cli"
[ "$(fosctl -j show program b | jq_py 'j["linkId"]')" = "$la" ] || fail "r-cli's link was replaced"
tcp_pass 10.10.2.2 23 || fail "tcp/23 must pass once b (no rules) runs on r-cli"
pass_step "swap of interfaces keeps the links"

# a link detached behind fwd's back is attached again on the next reload
lb=$(fosctl -j show program b | jq_py 'j["linkId"]')
inR bpftool link detach id "$lb" || fail "cannot detach link $lb"
[ "$(fosctl -j show program b | jq_py 'j["attached"]')" = False ] || fail "a detached link shows as attached"
fosctl reload >/dev/null || fail "reload after a detach failed"
[ "$(fosctl -j show program b | jq_py 'j["attached"]')" = True ] || fail "not attached again"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "no XDP on r-cli after the reload"
pass_step "a detached link is attached again"
echo PASS
