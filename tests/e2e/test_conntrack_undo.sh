#!/usr/bin/env bash
# A reload that fails after the TC hooks were changed puts every hook back as
# it was: a firewall and its tracker that trade directions, two programs that
# trade hooks, a firewall turned stateless (its tracker must stay known to
# fwd, and to fwd --flush). The failure is a later program whose hook holds a
# tc filter fos did not attach: fwd attaches to clsact here (daemon.tcAttach),
# where a hook is a filter's place and can be taken; tcx links cannot be.
. "$(dirname "$0")/lib.sh"
CLSACT='daemon = { tcAttach = "clsact"; };'

command -v python3 >/dev/null || skip "python3 missing"
TOOLS="$(dirname "$0")/ct_tools.py"

e2e_lab
mkdir -p "$T/c"
inC python3 "$TOOLS" echo "$T/c" tcp:7100 >>"$T/echo-c.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/c/echo.ready" ] && break; sleep 0.1; done

prog() { # name type stateful prio default
  echo "{ name = \"$1\"; type = \"$2\"; interface = \"r-srv\"; priority = $4;
    settings = { stateful = $3; actions = { default = \"$5\"; }; }; },"
}
conf() { # programs...; the last entry may fail
  { echo "$CLSACT"; echo "programs = ("; printf '%s\n' "$@"; echo "{ name = \"late\"; type = \"tc-ingress\";
    interface = \"r-cli\"; priority = 30; settings = { actions = { default = \"pass\"; }; }; } );"; } >"$T/fw.conf"
}
fos_filters() { # the fos filters on r-srv, one line each: direction pref name
  for d in ingress egress; do
    inR tc filter show dev r-srv "$d" | grep -o "pref [0-9]* bpf chain 0 handle 0xf05 .* name [a-z_]*" |
      sed "s/^pref \([0-9]*\).* name \(.*\)/$d \1 \2/"
  done | sort
}
outside_blocked() { ! inS timeout 3 nc -w 2 10.10.1.2 7100 </dev/null >/dev/null 2>&1; }

# a good start without the late program
{ echo "$CLSACT"; echo "programs = ("; prog edge-fw tc-ingress true 20 drop | sed 's/},$/} );/'; } >"$T/fw.conf"
fwd_start "$T/fw.conf" || fail "fwd did not start"
before=$(fos_filters)
[ "$(echo "$before" | wc -l)" = 2 ] || fail "expected the firewall and its tracker: $before"
outside_blocked || fail "the firewall does not block the outside"
# the late program's hook holds a foreign filter: every reload naming it fails
inR tc qdisc add dev r-cli clsact
inR tc filter add dev r-cli ingress prio 30 handle 0xf05 bpf da obj "$FOS_BPF_DIR/tc.bpf.o" sec tc ||
  fail "cannot add the foreign filter"

check_unchanged() { # what was tried
  local after
  after=$(fos_filters)
  [ "$after" = "$before" ] || fail "$1: the hooks changed on a failed reload:
before:
$before
after:
$after"
  outside_blocked || fail "$1: after the failed reload the outside gets in"
  fosctl -j show program edge-fw | jq_py 'j["attached"] and j["tc"]["tracker"]["direction"] == "egress"' |
    grep -q True || fail "$1: fwd lost track of its hooks: $(fosctl -j show program edge-fw)"
}

conf "$(prog edge-fw tc-egress true 20 drop)"
fosctl reload >/dev/null 2>&1 && fail "a reload with the late program succeeded"
check_unchanged "firewall and tracker trading directions"
pass_step "firewall and tracker trading directions: undone"

conf "$(prog edge-fw tc-ingress false 20 drop)"
fosctl reload >/dev/null 2>&1 && fail "a reload with the late program succeeded"
check_unchanged "firewall turned stateless"
pass_step "firewall turned stateless: undone, tracker still known"

conf "$(prog edge-fw tc-ingress true 20 drop)" "$(prog other tc-egress false 40 pass)"
fosctl reload >/dev/null 2>&1 && fail "a reload with the late program succeeded"
check_unchanged "a new program beside the firewall"
pass_step "a new program beside the firewall: removed again"

# two programs trading hooks
{ echo "$CLSACT"; echo "programs = ("; prog a tc-ingress true 20 drop; prog b tc-egress false 30 pass | sed 's/},$/} );/'; } >"$T/fw.conf"
fosctl reload >/dev/null || fail "reload with a and b failed"
before=$(fos_filters)
conf "$(prog a tc-egress false 30 pass)" "$(prog b tc-ingress true 20 drop)"
fosctl reload >/dev/null 2>&1 && fail "a reload with the late program succeeded"
after=$(fos_filters)
[ "$after" = "$before" ] || fail "two programs trading hooks: not undone:
$before
--
$after"
outside_blocked || fail "two programs trading hooks: the outside gets in"
pass_step "two programs trading hooks: undone"

# the firewall turned stateless for real: its tracker goes, and --flush leaves nothing
{ echo "$CLSACT"; echo "programs = ("; prog edge-fw tc-ingress false 20 drop | sed 's/},$/} );/'; } >"$T/fw.conf"
fosctl reload >/dev/null || fail "reload to a stateless firewall failed"
inR tc filter show dev r-srv egress | grep -q "handle 0xf05" && fail "the tracker stayed on egress"
fwd_stop
inR "$FWD" --flush --pin-dir "$PIN" >>"$FWD_LOG" 2>&1 || fail "--flush failed"
[ -z "$(fos_filters)" ] || fail "--flush left fos filters: $(fos_filters)"
pass_step "stateless for real: tracker removed; --flush leaves no fos filter"
