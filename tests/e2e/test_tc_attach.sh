#!/usr/bin/env bash
# TC programs as tcx links (this kernel has tcx; daemon.tcAttach "auto"):
# fos's links of a hook run in priority order however they were added or
# re-prioritised, are pinned and outlive a kill -9 of fwd, are adopted by the
# next fwd without a second link; daemon.tcAttach "clsact" attaches new hooks
# as tc filters and leaves the links in place, a hook keeps its way after
# that; a bad value is refused with file:line and nothing changes, and so is
# a new link whose pin name something else holds; the link
# of an interface that went away is cleaned up; fwd --flush removes links and
# fos's filters and leaves a foreign filter.
. "$(dirname "$0")/lib.sh"
e2e_lab
fosctl_ok() { fosctl "$@" >/dev/null || fail "fosctl $*: $(fosctl "$@" 2>&1)"; }
servers_start tcp:23 tcp:80 tcp:2323 tcp:8080
CFG="$T/tc.conf"

# prog NAME PRIORITY [IFACE] RULE...: a tc-ingress program; RULE "PORT:ACTION"
# on TCP, everything else passes
prog() {
  local name=$1 prio=$2 ifc=r-cli; shift 2
  case "${1:-}" in r-*) ifc=$1; shift ;; esac
  printf '\t{ name = "%s"; type = "tc-ingress"; interface = "%s"; priority = %s;\n' \
    "$name" "$ifc" "$prio"
  printf '\t  settings = { actions = { default = "pass"; rules = (\n'
  local sep=""
  for r in "$@"; do
    printf '%s\t\t{ match = { protocol = "tcp"; dstPort = %s; }; action = "%s"; }' \
      "$sep" "${r%%:*}" "${r##*:}"
    sep=$',\n'
  done
  printf '\n\t); }; }; }'
}
# config [daemon settings] PROGRAM...
config() {
  local sep=""
  { [ -n "${DAEMON:-}" ] && echo "daemon = { $DAEMON };"
    echo "programs = ("
    for p in "$@"; do printf '%s%s' "$sep" "$p"; sep=$',\n'; done
    printf '\n);\n'; } >"$CFG"
}
FIRST() { prog first "$1" 23:drop; }
SECOND() { prog second "$1" 2323:drop; }
THIRD() { prog third "$1" 8080:drop; }

attachment() { fosctl -j show program "$1" | jq_py 'j["tc"]["attachment"]'; }
# the programs on r-cli ingress as the kernel runs them, by fos's names
kernel_order() {
  local kind name id out="" p
  fosctl -j show programs >"$T/progs.json"
  while read -r kind name id; do
    p=$(jq_py "next((p['name'] for p in j['programs'] if p.get('tc', {}).get('progId') == $id), '?$name')" <"$T/progs.json")
    out="$out $kind:$p"
  done < <(hooks r-cli ingress | awk '$1 == "tcx" { print $1, $2, $3 } $1 == "clsact" { print $1, $3, $4 }')
  echo "${out# }"
}
blocked() { ! tcp_try 10.10.2.2 "$1"; }

# --- links in priority order, however they came -------------------------------
config "$(FIRST 20)" "$(SECOND 40)"
fwd_start "$CFG" || fail "fwd did not start"
grep -q 'TC hooks: new ones attached as tcx' "$FWD_LOG" || fail "fwd did not say how it attaches"
[ "$(kernel_order)" = "tcx:first tcx:second" ] || fail "order: $(kernel_order)"
[ "$(attachment first)" = tcx ] || fail "first is attached as $(attachment first)"
ls "$PIN/tcx" | grep -qx "$(inR cat /sys/class/net/r-cli/ifindex)-ingress-20" ||
  fail "no pinned link of first: $(ls "$PIN/tcx")"
blocked 23 || fail "first does not drop tcp/23"
blocked 2323 || fail "second does not drop tcp/2323"
tcp_pass 10.10.2.2 80 || fail "tcp/80 does not pass"
config "$(FIRST 20)" "$(SECOND 40)" "$(THIRD 30)"
fosctl_ok reload
[ "$(kernel_order)" = "tcx:first tcx:third tcx:second" ] || fail "third added: $(kernel_order)"
blocked 8080 || fail "third does not drop tcp/8080"
config "$(FIRST 50)" "$(SECOND 40)" "$(THIRD 30)"
fosctl_ok reload
[ "$(kernel_order)" = "tcx:third tcx:second tcx:first" ] || fail "first moved to 50: $(kernel_order)"
config "$(FIRST 10)" "$(SECOND 40)" "$(THIRD 30)"
fosctl_ok reload
[ "$(kernel_order)" = "tcx:first tcx:third tcx:second" ] || fail "first moved to 10: $(kernel_order)"
[ "$(ls "$PIN/tcx" | wc -l)" = 3 ] || fail "pins left by the moves: $(ls "$PIN/tcx")"
blocked 23 && blocked 2323 && blocked 8080 || fail "a moved program stopped dropping"
pass_step "tcx links run in priority order: added, moved up and down"

# --- kill -9 and restart ------------------------------------------------------------
before=$(hooks r-cli ingress)
order=$(kernel_order)
links=$(ls -i "$PIN/tcx")
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
[ "$(hooks r-cli ingress)" = "$before" ] || fail "kill -9 changed the hooks: $(hooks r-cli ingress)"
blocked 23 || fail "without fwd, tcp/23 passes"
fwd_start "$CFG" || fail "fwd did not restart"
# the new fwd's programs run in the same links (a pin made again has a new inode)
[ "$(ls -i "$PIN/tcx")" = "$links" ] ||
  fail "the restart made links again: before: $links; now: $(ls -i "$PIN/tcx")"
[ "$(kernel_order)" = "$order" ] || fail "the restart changed the order: $(kernel_order)"
[ "$(hooks r-cli ingress | wc -l)" = 3 ] || fail "the restart added a hook: $(hooks r-cli ingress)"
blocked 23 && blocked 8080 || fail "after the restart a program stopped dropping"
before=$(hooks r-cli ingress)
pass_step "the links outlive fwd; the next one adopts them, no second link"

# --- a bad value: refused, nothing changed -------------------------------------------
DAEMON='tcAttach = "tc";' config "$(FIRST 10)" "$(SECOND 40)"
out=$(fosctl reload 2>&1) && fail "a reload with tcAttach = \"tc\" succeeded"
echo "$out" | grep -q "tc.conf:1: .*unknown TC attach mode \"tc\" (valid: auto, tcx, clsact)" ||
  fail "unclear error: $out"
[ "$(hooks r-cli ingress)" = "$before" ] || fail "the refused reload changed the hooks"
pass_step "a bad tcAttach is refused with file:line, nothing changed"

# --- a link that cannot be pinned: refused, nothing changed --------------------------
# something else (here a directory) has the name of the new link's pin
obstacle="$PIN/tcx/$(inR cat /sys/class/net/r-cli/ifindex)-ingress-35"
mkdir "$obstacle" || fail "cannot make $obstacle"
config "$(FIRST 10)" "$(SECOND 40)" "$(THIRD 30)" "$(prog extra 35 80:drop)"
out=$(fosctl reload 2>&1) && fail "a reload whose link cannot be pinned succeeded"
echo "$out" | grep -q "tc.conf:[0-9]*: programs \"extra\": r-cli: cannot pin the tcx ingress link as $obstacle: File exists" ||
  fail "unclear error: $out"
[ "$(hooks r-cli ingress)" = "$before" ] ||
  fail "the refused reload changed the hooks: $(hooks r-cli ingress)"
fosctl show program extra >/dev/null 2>&1 && fail "the refused reload added extra"
tcp_pass 10.10.2.2 80 || fail "tcp/80 is dropped: extra runs after all"
blocked 23 && blocked 2323 && blocked 8080 || fail "after the refused reload a program stopped dropping"
rmdir "$obstacle"
pass_step "a link that cannot be pinned is refused with the reason, nothing changed"

# --- clsact for new hooks; the links stay ------------------------------------------
DAEMON='tcAttach = "clsact";' config "$(FIRST 10)" "$(SECOND 40)" "$(THIRD 30)" "$(prog fourth 60 r-srv)" \
  "$(prog fifth 70 8081:drop)"
fosctl_ok reload
hooks r-srv ingress | grep -q "^clsact 60 fos_tc_fw " || fail "fourth is not a tc filter: $(hooks r-srv ingress)"
[ "$(attachment fourth)" = clsact ] || fail "fourth is attached as $(attachment fourth)"
[ "$(kernel_order)" = "tcx:first tcx:third tcx:second clsact:fifth" ] ||
  fail "with clsact: $(kernel_order)"
grep -q 'TC hooks: new ones attached as clsact (daemon.tcAttach "clsact")' "$FWD_LOG" ||
  fail "fwd did not say it attaches to clsact now"
config "$(FIRST 10)" "$(SECOND 40)" "$(THIRD 30)" "$(prog fourth 60 r-srv)" "$(prog fifth 70 8081:drop)"
fosctl_ok reload
hooks r-srv ingress | grep -q "^clsact 60 fos_tc_fw " || fail "fourth left its filter: $(hooks r-srv ingress)"
hooks r-srv ingress | grep -q "^tcx" && fail "fourth has a link too: $(hooks r-srv ingress)"
[ "$(kernel_order)" = "tcx:first tcx:third tcx:second clsact:fifth" ] || fail "back to auto: $(kernel_order)"
tcp_pass 10.10.2.2 80 || fail "tcp/80 does not pass"
pass_step "tcAttach clsact: new hooks are tc filters, links stay; a hook keeps its way"

# --- an interface that goes away ------------------------------------------------------
inR ip link add r-x type veth peer name r-x-p || fail "cannot add r-x"
inR ip link set r-x up
XIF=$(inR cat /sys/class/net/r-x/ifindex)
config "$(FIRST 10)" "$(SECOND 40)" "$(THIRD 30)" "$(prog fourth 60 r-srv)" "$(prog fifth 70 8081:drop)" \
  "$(prog sixth 20 r-x)"
fosctl_ok reload
[ -e "$PIN/tcx/$XIF-ingress-20" ] || fail "no link on r-x: $(ls "$PIN/tcx")"
inR ip link del r-x
config "$(FIRST 10)" "$(SECOND 40)" "$(THIRD 30)" "$(prog fourth 60 r-srv)" "$(prog fifth 70 8081:drop)"
fosctl_ok reload
[ -e "$PIN/tcx/$XIF-ingress-20" ] && fail "the link of the deleted r-x stayed pinned"
pass_step "the link of an interface that went away is unpinned"

# --- fwd --flush -----------------------------------------------------------------------
inR tc filter add dev r-cli ingress prio 7 bpf da obj "$FOS_BPF_DIR/tc.bpf.o" sec tc ||
  fail "cannot add a foreign tc filter"
fwd_stop
inR "$FWD" --flush --pin-dir "$PIN" >>"$FWD_LOG" 2>&1 || fail "fwd --flush failed"
[ "$(hooks r-cli ingress | grep -c '^tcx')" = 0 ] || fail "--flush left links: $(hooks r-cli ingress)"
hooks r-cli ingress | grep -q "^clsact 70 " && fail "--flush left fifth's filter"
hooks r-srv ingress | grep -q "^clsact 60 " && fail "--flush left fourth's filter"
hooks r-cli ingress | grep -q "^clsact 7 " || fail "--flush removed the foreign filter"
[ -e "$PIN/tcx" ] && fail "--flush left $PIN/tcx"
tcp_pass 10.10.2.2 23 || fail "after --flush tcp/23 is still dropped"
pass_step "fwd --flush removed the links and fos's filters, left the foreign one"
