#!/usr/bin/env bash
# Several XDP programs on one interface run in priority order, each passing
# on to the next: both programs' drops take effect, a packet the first drops
# never reaches the second, and adding, re-prioritising and removing a
# program, a kill -9 and restart of fwd, and a failed reload lose no packet
# of a continuous ping; fwd --flush leaves no XDP on the interface.
. "$(dirname "$0")/lib.sh"
command -v bpftool >/dev/null || skip "bpftool missing"
e2e_lab
servers_start tcp:23 tcp:80 tcp:2323 tcp:8080
CFG="$T/chain.conf"

# prog NAME PRIORITY RULES...: one xdp program on $IFACE (r-cli unless
# set); each rule is "PORT:ACTION" on TCP, and everything else passes
prog() {
  local name=$1 prio=$2; shift 2
  printf '\t{ name = "%s"; type = "xdp"; interface = "%s"; priority = %s;\n' "$name" \
    "${IFACE:-r-cli}" "$prio"
  printf '\t  settings = { actions = { default = "pass"; rules = (\n'
  local sep=""
  for r in "$@"; do
    printf '%s\t\t{ match = { protocol = "tcp"; dstPort = %s; }; action = "%s"; }' \
      "$sep" "${r%%:*}" "${r##*:}"
    sep=$',\n'
  done
  printf '\n\t); }; }; }'
}
# config PROGRAM...: each argument the output of prog
config() {
  local sep=""
  { echo "programs = ("
    for p in "$@"; do printf '%s%s' "$sep" "$p"; sep=$',\n'; done
    printf '\n);\n'; } >"$CFG"
}
# first drops tcp/23; second drops tcp/2323 and counts what it sees of 23 and 80
FIRST() { prog first "$1" 23:drop 80:pass; }
SECOND() { prog second "$1" 2323:drop 23:pass 80:pass; }
THIRD() { prog third "$1" 8080:drop; }

# the chain as fosctl shows it: "name@position>next ..." in position order
shown_chain() {
  fosctl -j show programs | jq_py '" ".join("%s@%s>%s" % (p["name"], p["chain"]["position"], p["chain"]["next"]) for p in sorted(j["programs"], key=lambda p: p["chain"]["position"]))'
}
# the chain as the kernel runs it: from the XDP program on r-cli down the
# pinned fos_next maps, by program id, named after fosctl's progId
kernel_chain() {
  local ids="" id name
  id=$(ip -n "$NS_R" -d link show r-cli | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1)
  fosctl -j show programs >"$T/progs.json"
  while [ -n "$id" ]; do
    name=$(jq_py "next((p['name'] for p in j['programs'] if p['progId'] == $id), '?$id')" <"$T/progs.json")
    ids="$ids $name"
    [ "${name#\?}" = "$name" ] || break
    [ "$(echo "$ids" | wc -w)" -le 8 ] || break
    id=$(bpftool -j map dump pinned "$PIN/progs/$name/fos_next" 2>/dev/null |
      python3 -c 'import json,sys
d=json.load(sys.stdin)
for e in d:
    v=e.get("value")
    if isinstance(v,list): v=int.from_bytes(bytes(int(x,16) for x in v),"little")
    print(v)')
  done
  echo "${ids# }"
}
expect_chain() { # "name ..." in order
  local want=$1 shown="" k i=1 names
  read -r -a names <<<"$1"
  for n in "${names[@]}"; do
    local nx=None; [ $i -lt ${#names[@]} ] && nx=${names[$i]}
    shown="$shown $n@$i>$nx"; i=$((i + 1))
  done
  k=$(shown_chain)
  [ "$k" = "${shown# }" ] || fail "fosctl shows the chain \"$k\", expected \"${shown# }\""
  k=$(kernel_chain)
  [ "$k" = "$want" ] || fail "the kernel runs the chain \"$k\", expected \"$want\""
}
rule_pk() { # program rule-index
  fosctl -j show rules "$1" | jq_py "j['programs'][0]['rules'][$2]['packets']"
}

config "$(FIRST 1)" "$(SECOND 10)"
fwd_start "$CFG" || fail "fwd did not start"
expect_chain "first second"
att=$(fosctl -j show programs | jq_py '" ".join("%s:%s" % (p["name"], p["attached"]) for p in j["programs"])')
[ "$att" = "first:True second:True" ] || fail "attached: $att"
pass_step "two XDP programs on r-cli, chained first -> second"

# both take effect, and in order: 23 dropped by first, 2323 by second
tcp_pass 10.10.2.2 80 || fail "tcp/80 must pass both programs"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped by first"
tcp_try 10.10.2.2 2323 && fail "tcp/2323 must be dropped by second"
f23=$(rule_pk first 0) f80=$(rule_pk first 1)
s2323=$(rule_pk second 0) s23=$(rule_pk second 1) s80=$(rule_pk second 2)
[ "$f23" -ge 1 ] || fail "first counted no tcp/23 ($f23)"
[ "$s23" = 0 ] || fail "second saw $s23 tcp/23 packets that first dropped"
[ "$s2323" -ge 1 ] || fail "second counted no tcp/2323 ($s2323)"
{ [ "$f80" -ge 1 ] && [ "$s80" -ge "$f80" ]; } || fail "tcp/80: first $f80, second $s80: not through both"
pass_step "drops of both programs in force; tcp/23 first $f23 second $s23, tcp/80 first $f80 second $s80"

# a continuous ping through the chain while it changes
inC ping -i 0.01 10.10.2.2 >"$T/ping.log" 2>&1 &
PING_PID=$!
sleep 1

config "$(FIRST 1)" "$(SECOND 10)" "$(THIRD 5)"
fosctl reload >/dev/null || fail "reload adding third: $(fosctl reload 2>&1)"
expect_chain "first third second"
tcp_try 10.10.2.2 8080 && fail "tcp/8080 must be dropped by third"
pass_step "third added in the middle"

config "$(FIRST 10)" "$(SECOND 1)" "$(THIRD 5)"
fosctl reload >/dev/null || fail "reload swapping priorities: $(fosctl reload 2>&1)"
expect_chain "second third first"
tcp_try 10.10.2.2 23 && fail "tcp/23 must still be dropped by first"
tcp_try 10.10.2.2 2323 && fail "tcp/2323 must still be dropped by second"
pass_step "priorities of first and second swapped"

config "$(FIRST 10)" "$(SECOND 1)"
fosctl reload >/dev/null || fail "reload removing third: $(fosctl reload 2>&1)"
expect_chain "second first"
[ -e "$PIN/progs/third" ] && fail "the pins of the removed program are left"
tcp_pass 10.10.2.2 8080 || fail "tcp/8080 must pass once third is gone"
pass_step "third, in the middle, removed"

# in one reload: first moves to r-srv, second is renamed; then both back
config "$(IFACE=r-srv FIRST 10)" "$(prog lead 1 2323:drop 23:pass 80:pass)"
fosctl reload >/dev/null || fail "reload moving first and renaming second: $(fosctl reload 2>&1)"
expect_chain_on() { # program interface position next
  local got
  got=$(fosctl -j show program "$1" | jq_py '"%s %s %s" % (j["interface"], j["chain"]["position"], j["chain"]["next"])')
  [ "$got" = "$2 $3 $4" ] || fail "program $1: \"$got\", expected \"$2 $3 $4\""
}
expect_chain_on lead r-cli 1 None
expect_chain_on first r-srv 1 None
[ "$(kernel_chain)" = lead ] || fail "r-cli runs \"$(kernel_chain)\", expected lead alone"
ip -n "$NS_R" link show r-srv | grep -q "prog/xdp" || fail "first is not on r-srv"
[ -e "$PIN/progs/second" ] && fail "the renamed program's pins are left"
[ -e "$PIN/progs/lead/link" ] || fail "r-cli's link is not pinned with its first program"
tcp_try 10.10.2.2 2323 && fail "tcp/2323 must be dropped by lead"
config "$(FIRST 10)" "$(SECOND 1)"
fosctl reload >/dev/null || fail "reload moving back: $(fosctl reload 2>&1)"
expect_chain "second first"
ip -n "$NS_R" link show r-srv | grep -q "prog/xdp" && fail "XDP left on r-srv"
pass_step "a program moved to another interface and back, the first one renamed and back"

link0=$(fosctl -j show program second | jq_py 'j["linkId"]')
kill -9 "$FWD_PID"; wait "$FWD_PID" 2>/dev/null; FWD_PID=
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "XDP left r-cli when fwd was killed"
fwd_start "$CFG" || fail "fwd did not restart"
expect_chain "second first"
link1=$(fosctl -j show program second | jq_py 'j["linkId"]')
[ "$link1" = "$link0" ] || fail "the link was replaced on restart ($link0 -> $link1)"
tcp_try 10.10.2.2 23 && fail "tcp/23 must be dropped after the restart"
tcp_try 10.10.2.2 2323 && fail "tcp/2323 must be dropped after the restart"
pass_step "kill -9 and restart: link $link1 kept, chain rebuilt with the new builds"

# a failed reload changes nothing: an interface that does not exist ...
cp "$CFG" "$T/good.conf"
config "$(FIRST 10)" "$(SECOND 1)" "$(prog third 5 8080:drop | sed 's/r-cli/r-gone/')"
out=$(fosctl reload 2>&1) && fail "reload naming a missing interface accepted"
echo "$out" | grep -q 'no such interface "r-gone"' || fail "message: $out"
expect_chain "second first"
# ... and one that fails after the chain was rewired (the new first program's
# link pin is blocked): every pointer goes back
mkdir -p "$PIN/progs/zero/link"
config "$(prog zero 0 9999:drop)" "$(FIRST 1)" "$(SECOND 10)"
out=$(fosctl reload 2>&1) && fail "reload with a blocked link pin accepted"
echo "$out" | grep -q 'programs "zero": cannot pin the link' || fail "message: $out"
expect_chain "second first"
rmdir "$PIN/progs/zero/link" 2>/dev/null; rm -rf "$PIN/progs/zero"
cp "$T/good.conf" "$CFG"
tcp_try 10.10.2.2 23 && fail "tcp/23 must still be dropped"
tcp_try 10.10.2.2 2323 && fail "tcp/2323 must still be dropped"
pass_step "failed reloads leave the chain as it was"

sleep 1
kill -TERM "$PING_PID"; wait "$PING_PID" 2>/dev/null
python3 - "$T/ping.log" <<'PY' || fail "ping lost packets: $(tail -3 "$T/ping.log")"
import re, sys
seqs = {int(m) for m in re.findall(r"icmp_seq=(\d+) ttl", open(sys.argv[1]).read())}
top = max(seqs) if seqs else 0
missing = sorted(set(range(1, top + 1)) - seqs)
print("ping: %d replies, last seq %d, missing %s" % (len(seqs), top, missing[:20]))
sys.exit(1 if missing or top < 100 else 0)
PY
pass_step "no ping lost across add, swap, remove, restart and failed reloads"

fwd_stop
inR "$FWD" --flush --pin-dir "$PIN" >"$T/flush.log" 2>&1 || fail "flush failed: $(cat "$T/flush.log")"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" && fail "XDP still on r-cli after --flush: $(ip -n "$NS_R" -d link show r-cli; cat "$T/flush.log"; find "$PIN")"
tcp_pass 10.10.2.2 23 || fail "tcp/23 must pass after --flush"
pass_step "fwd --flush leaves no XDP program on r-cli"
echo PASS
