#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fosctl against the real fwd: exit codes and messages of one-shot commands,
# -j output, batch mode, and the interactive shell driven through tmux (tab
# completion, '?' help, history, Ctrl-C, Ctrl-D).
#
# Environment: FOSCTL (the fosctl binary), FWD (the fwd binary).

set -u

TMPD=
FWD_PID=
TS="fos-cli-test-$$"

cleanup() {
	tmux -L "$TS" kill-server 2>/dev/null
	if [ -n "$FWD_PID" ]; then
		kill "$FWD_PID" 2>/dev/null
		wait "$FWD_PID" 2>/dev/null
	fi
	if [ -n "$TMPD" ]; then
		mountpoint -q "$TMPD/bpf" && umount "$TMPD/bpf"
		rm -rf "$TMPD"
	fi
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	if [ -n "$TMPD" ] && [ -s "$TMPD/fwd.log" ]; then
		echo "--- fwd log:"
		tail -n 30 "$TMPD/fwd.log"
	fi
	exit 1
}

# run NAME ARGS...: run fosctl, keeping stdout, stderr and the exit code.
run() {
	local name=$1
	shift
	"$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err"
	echo $? >"$TMPD/$name.rc"
}

# expect_rc NAME CODE
expect_rc() {
	local rc
	rc=$(cat "$TMPD/$1.rc")
	[ "$rc" = "$2" ] || fail "$1: exit code $rc, expected $2; stderr: $(cat "$TMPD/$1.err")"
}

# expect_line NAME out|err REGEX: some line of the output matches.
expect_line() {
	grep -qE -- "$3" "$TMPD/$1.$2" ||
		fail "$1: no line matching '$3' in std$2:"$'\n'"$(cat "$TMPD/$1.$2")"
}

[ -x "${FOSCTL:-}" ] || fail "FOSCTL does not name the fosctl binary"
FOSCTL=$(realpath "$FOSCTL")
command -v python3 >/dev/null || skip "python3 is needed to check the JSON output"
TMPD=$(mktemp -d /tmp/fos-cli-test.XXXXXX) || fail "mktemp"
TMPD=$(realpath "$TMPD")
SOCK="$TMPD/fwd.sock"

# --- without a daemon -------------------------------------------------------

run noconn "$FOSCTL" -s "$TMPD/nosuch.sock" show status
expect_rc noconn 3

# peers that are not a fwd of this protocol: exit 1 with a clear line, not 3
# fake_peer SOCK REPLY...: answer each request with the next reply
fake_peer() {
	python3 - "$@" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
for reply in sys.argv[2:]:
	buf = b""
	while b"\0" not in buf:
		chunk = c.recv(4096)
		if not chunk:
			sys.exit(0)
		buf += chunk
	c.sendall(reply.encode() + b"\0")
c.close()
PY
	for _ in $(seq 1 50); do [ -S "$1" ] && break; sleep 0.1; done
}
info='{"parameters": {"version": "0", "protocol": 1, "abi": 1}}'
fake_peer "$TMPD/bad1.sock" '{"error": null}'
run badinfo "$FOSCTL" -s "$TMPD/bad1.sock" show status
expect_rc badinfo 1
expect_line badinfo err 'does not answer like fwd'
fake_peer "$TMPD/bad2.sock" '{"parameters": {"version": "9", "protocol": 99, "abi": 9}}'
run badproto "$FOSCTL" -s "$TMPD/bad2.sock" show status
expect_rc badproto 1
expect_line badproto err 'speaks another protocol version'
fake_peer "$TMPD/bad3.sock" "$info" '{"error": null}'
run badreply "$FOSCTL" -s "$TMPD/bad3.sock" show status
expect_rc badreply 1
expect_line badreply err 'malformed reply'
wait
[ "$(cat "$TMPD/noconn.err")" = \
  "fosctl: cannot connect to $TMPD/nosuch.sock: No such file or directory (is fwd running?)" ] ||
	fail "connect error message: $(cat "$TMPD/noconn.err")"

# FOS_SOCKET replaces the default, -s replaces FOS_SOCKET.
run env env FOS_SOCKET="$TMPD/env.sock" "$FOSCTL" show status
expect_rc env 3
expect_line env err "cannot connect to $TMPD/env.sock:"
run envopt env FOS_SOCKET="$TMPD/env.sock" "$FOSCTL" -s "$TMPD/opt.sock" show status
expect_rc envopt 3
expect_line envopt err "cannot connect to $TMPD/opt.sock:"

# Usage errors are found before connecting: 2, not 3.
run unknown "$FOSCTL" -s "$TMPD/nosuch.sock" frobnicate
expect_rc unknown 2
expect_line unknown err '^fosctl: unknown command "frobnicate"$'
expect_line unknown err '^  show program NAME +One program'
run unknown2 "$FOSCTL" -s "$TMPD/nosuch.sock" show frob
expect_rc unknown2 2
expect_line unknown2 err '^fosctl: unknown command "show frob"$'
run missing "$FOSCTL" -s "$TMPD/nosuch.sock" show program
expect_rc missing 2
expect_line missing err '^fosctl: missing argument NAME for "show program"$'
expect_line missing err '^  show program NAME '
run extra "$FOSCTL" -s "$TMPD/nosuch.sock" show status now
expect_rc extra 2
expect_line extra err '^fosctl: unexpected argument "now" for "show status"$'
run ambiguous "$FOSCTL" -s "$TMPD/nosuch.sock" s
expect_rc ambiguous 2
expect_line ambiguous err '^fosctl: ambiguous command "s", could be: show, set$'
run badcidr "$FOSCTL" -s "$TMPD/nosuch.sock" set add blocked 10.0.0.1/8
expect_rc badcidr 2
expect_line badcidr err '^fosctl: .*10\.0\.0\.1/8'
expect_line badcidr err '^  set add NAME CIDR '
# conntrack filters are checked here: a bad one is 2 and nothing is sent.
run ctcidr "$FOSCTL" -s "$TMPD/nosuch.sock" show conntrack src 10.0.0.1/8
expect_rc ctcidr 2
expect_line ctcidr err '^fosctl: src: 10\.0\.0\.1/8: '
expect_line ctcidr err '^  show conntrack \[FILTER\.\.\.\] '
expect_line ctcidr err '^  state STATE +the entry'
run ctstate "$FOSCTL" -s "$TMPD/nosuch.sock" clear conntrack state estab
expect_rc ctstate 2
expect_line ctstate err '^fosctl: state: "estab" is not a connection state'
run ctmissing "$FOSCTL" -s "$TMPD/nosuch.sock" show conntrack proto tcp port
expect_rc ctmissing 2
expect_line ctmissing err '^fosctl: missing PORT after "port"$'
run ctunknown "$FOSCTL" -s "$TMPD/nosuch.sock" show conntrack iface eth0
expect_rc ctunknown 2
expect_line ctunknown err '^fosctl: unknown filter "iface"$'
# well-formed, they get as far as connecting
run ctok "$FOSCTL" -s "$TMPD/nosuch.sock" show conntrack state established proto tcp
expect_rc ctok 3
# show ddos top and set add check their options here too.
run toplimit "$FOSCTL" -s "$TMPD/nosuch.sock" show ddos top limit 0
expect_rc toplimit 2
expect_line toplimit err '^fosctl: limit: "0" is not a number 1-10000$'
expect_line toplimit err '^  show ddos top \[limit N\] \[program NAME\] '
expect_line toplimit err '^options:$'
run topword "$FOSCTL" -s "$TMPD/nosuch.sock" show ddos top frob 1
expect_rc topword 2
expect_line topword err '^fosctl: unknown option "frob"$'
run settimeout "$FOSCTL" -s "$TMPD/nosuch.sock" set add blocked 10.0.0.0/8 timeout -5
expect_rc settimeout 2
expect_line settimeout err '^fosctl: timeout: "-5" is not a number of seconds 1-2147483647'
expect_line settimeout err '^  set add NAME CIDR \[timeout SECONDS\] '
run topok "$FOSCTL" -s "$TMPD/nosuch.sock" show ddos top limit 10000 program x
expect_rc topok 3
run setok "$FOSCTL" -s "$TMPD/nosuch.sock" set add blocked 10.0.0.0/8 timeout 1h30m
expect_rc setok 3
run quit "$FOSCTL" -s "$TMPD/nosuch.sock" quit
expect_rc quit 2
run badopt "$FOSCTL" --bogus
expect_rc badopt 2
run help "$FOSCTL" -h
expect_rc help 0
expect_line help out '^Usage: fosctl \[-j\|--json\] \[-s\|--socket PATH\]'
expect_line help out '^  config check FILE '
run version "$FOSCTL" -V
expect_rc version 0
expect_line version out '^fosctl [0-9]'

# --- the daemon ---------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip "needs root to mount a bpffs for fwd"
command -v tmux >/dev/null || skip "tmux is not installed"
[ -x "${FWD:-}" ] || skip "FWD does not name the fwd binary (fwd is not built)"

mkdir "$TMPD/bpf"
mount -t bpf bpf "$TMPD/bpf" || skip "cannot mount a bpffs on $TMPD/bpf"
echo 'daemon = {};' >"$TMPD/fwd.conf"
"$FWD" -c "$TMPD/fwd.conf" -s "$SOCK" --pin-dir "$TMPD/bpf" -v >"$TMPD/fwd.log" 2>&1 &
FWD_PID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && break
	kill -0 "$FWD_PID" 2>/dev/null || fail "fwd exited at start"
	sleep 0.1
done
[ -S "$SOCK" ] || fail "fwd did not create $SOCK"

# --- one-shot commands with the daemon ------------------------------------------

run status "$FOSCTL" -s "$SOCK" show status
expect_rc status 0
expect_line status out "^pid: +$FWD_PID\$"
expect_line status out "^socket: +$SOCK\$"
expect_line status out '^uptime: +([0-9]+[dhm])*[0-9]+s$'
expect_line status out '^last reload: +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} .*, ok$'

# Abbreviations reach the same command.
run status2 "$FOSCTL" -s "$SOCK" sh stat
expect_rc status2 0
expect_line status2 out "^pid: +$FWD_PID\$"

run statusj "$FOSCTL" -j -s "$SOCK" show status
expect_rc statusj 0
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pid"] == int(sys.argv[2]), d
assert d["socket"] == sys.argv[3], d
assert "version" in d and "lastReload" in d, d
' "$TMPD/statusj.out" "$FWD_PID" "$SOCK" || fail "-j show status: $(cat "$TMPD/statusj.out")"

run programs "$FOSCTL" -s "$SOCK" show programs
expect_rc programs 0
expect_line programs out '^NAME +TYPE +INTERFACE +PRIO +MODE +ATTACHED +STATEFUL +RULES +PACKETS +DROPPED$'
run programsj "$FOSCTL" -j -s "$SOCK" show programs
expect_rc programsj 0
python3 -c 'import json, sys; assert json.load(sys.stdin)["programs"] == []' \
	<"$TMPD/programsj.out" || fail "-j show programs: $(cat "$TMPD/programsj.out")"

run mapsj "$FOSCTL" -j -s "$SOCK" show maps
expect_rc mapsj 0
# The first map's name, for completion from the daemon ("" if fwd has none).
MAP=$(python3 -c '
import json, sys
maps = json.load(sys.stdin)["maps"]
print(maps[0]["name"] if maps else "")
' <"$TMPD/mapsj.out") || fail "-j show maps: $(cat "$TMPD/mapsj.out")"

run nosuch "$FOSCTL" -s "$SOCK" show program nosuch
expect_rc nosuch 1
expect_line nosuch err '^fosctl: .*nosuch'
[ ! -s "$TMPD/nosuch.out" ] || fail "show program nosuch printed on stdout"
run nosuchj "$FOSCTL" -j -s "$SOCK" show program nosuch
expect_rc nosuchj 1
python3 -c '
import json, sys
e = json.load(sys.stdin)
assert e["error"] == "fos.NoSuchProgram" and e["parameters"]["message"], e
' <"$TMPD/nosuchj.out" || fail "-j error: $(cat "$TMPD/nosuchj.out")"

# config check sends the file as an absolute path.
run check bash -c "cd '$TMPD' && '$FOSCTL' -j -s '$SOCK' config check fwd.conf"
expect_rc check 0
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["file"] == sys.argv[2] and d["ok"] is True, d
' "$TMPD/check.out" "$TMPD/fwd.conf" || fail "config check: $(cat "$TMPD/check.out")"

# Batch: commands from a pipe, stopping at the first failure with its code.
printf 'show status\n\n# a comment\nshow program nosuch\nshow status\n' >"$TMPD/batch.in"
run batch bash -c "'$FOSCTL' -s '$SOCK' <'$TMPD/batch.in'"
expect_rc batch 1
[ "$(grep -c '^pid:' "$TMPD/batch.out")" = 1 ] || fail "batch did not stop at the failure"
printf 'show programs\nquit\nfrobnicate\n' >"$TMPD/batch2.in"
run batch2 bash -c "'$FOSCTL' -s '$SOCK' <'$TMPD/batch2.in'"
expect_rc batch2 0

# --- the shell under tmux ---------------------------------------------------------

HIST="$TMPD/history"

keys() {
	tmux -L "$TS" send-keys -t fos "$@"
}

pane() {
	tmux -L "$TS" capture-pane -p -t fos 2>/dev/null
}

# The last non-empty line, without trailing blanks (readline may pad with them).
last_line() {
	pane | sed 's/ *$//' | grep -v '^$' | tail -n 1
}

# wait_for REGEX WHAT: until some line of the pane matches.
wait_for() {
	for _ in $(seq 50); do
		pane | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	fail "shell: $2; the pane shows:"$'\n'"$(pane)"
}

# wait_last TEXT WHAT: until the last line is TEXT (trailing blanks aside).
wait_last() {
	for _ in $(seq 50); do
		[ "$(last_line)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "shell: $2: last line is '$(last_line)', expected '$1'; the pane shows:"$'\n'"$(pane)"
}

# An empty line on a clean screen.
clear_screen() {
	keys C-u C-l
	wait_last "fos>" "clear the screen"
}

# The shell in a tmux session "fos"; its exit code goes to shell.rc. No
# inputrc, so the keys are readline's defaults whatever the machine has.
start_shell() {
	local cmd="env INPUTRC=/dev/null FOSCTL_HISTORY='$HIST' '$FOSCTL' -s '$SOCK'"

	rm -f "$TMPD/shell.rc"
	tmux -L "$TS" new-session -d -s fos -x 160 -y 50 \
		"$cmd; echo \$? >'$TMPD/shell.rc'; sleep 60"
	wait_last "fos>" "no prompt"
}

# wait_exit CODE: fosctl ended with CODE.
wait_exit() {
	for _ in $(seq 50); do
		[ -s "$TMPD/shell.rc" ] && break
		sleep 0.1
	done
	[ -s "$TMPD/shell.rc" ] || fail "shell did not exit; the pane shows:"$'\n'"$(pane)"
	[ "$(cat "$TMPD/shell.rc")" = "$1" ] || fail "shell exited with $(cat "$TMPD/shell.rc")"
}

start_shell

# Tab completes a unique prefix and adds the blank.
keys "sh" Tab
wait_last "fos> show" "tab after 'sh'"
keys "stat"
wait_last "fos> show stat" "no blank after the completed 'show'"

# Two candidates: both are listed, the line keeps the common prefix.
clear_screen
keys "show pro" Tab Tab
wait_for '^program +programs *$' "tab tab after 'show pro'"
wait_last "fos> show program" "line after 'show pro' tab tab"

# Argument values come from the daemon (fwd always has its global maps).
[ -n "$MAP" ] || fail "fwd listed no maps to complete from"
clear_screen
keys "show map " Tab
wait_for "(^fos> show map $MAP *\$)|(^(.* )?$MAP( .*)?\$)" "tab after 'show map'"

# '?' lists the next words with their help and leaves the line as typed.
clear_screen
keys "show " "?"
wait_for '^  status +Daemon version, uptime' "'?' after 'show '"
wait_for '^  program NAME +One program' "'?' after 'show '"
wait_last "fos> show" "line after '?'"
[ "$(pane | grep -c '^  set add')" = 0 ] || fail "'?' after 'show ' listed set commands"
# ... and the line runs as it was typed.
keys "status" Enter
wait_for "^pid: +$FWD_PID *\$" "show status in the shell"
wait_last "fos>" "prompt after show status"

# conntrack: the word, the filters' keywords and the fixed values complete,
# and '?' lists summary, the filters and <cr>.
clear_screen
keys "show conn" Tab
wait_last "fos> show conntrack" "tab after 'show conn'"
keys "su"
wait_last "fos> show conntrack su" "no blank after the completed 'conntrack'"
keys C-u "clear conntrack st" Tab
wait_last "fos> clear conntrack state" "tab after 'clear conntrack st'"
keys "e"
wait_last "fos> clear conntrack state e" "no blank after the completed 'state'"
keys Tab
wait_last "fos> clear conntrack state established" "tab after 'state e'"
clear_screen
keys "show conntrack proto " Tab Tab
wait_for '^icmp +icmpv6 +tcp +udp *$' "tab tab after 'proto'"
clear_screen
keys "show conntrack " "?"
wait_for '^  summary +Connection table size' "'?' after 'show conntrack '"
wait_for '^  src CIDR +the flow.s original source' "'?' after 'show conntrack '"
wait_for '^  state STATE +the entry.s state' "'?' after 'show conntrack '"
wait_for '^  limit N +at most N flows' "'?' after 'show conntrack '"
wait_for '^  <cr> +run the command' "'?' after 'show conntrack '"
wait_last "fos> show conntrack" "line after '?'"
keys "state " "?"
wait_for '^  STATE +new, syn_sent, ' "'?' after 'show conntrack state '"
wait_last "fos> show conntrack state" "line after '?' at a value"
keys C-u

# show ddos: "top" completes, its options complete, '?' lists them.
clear_screen
keys "show dd" Tab
wait_last "fos> show ddos" "tab after 'show dd'"
keys "t" Tab
wait_last "fos> show ddos top" "tab after 'show ddos t'"
keys "l" Tab
wait_last "fos> show ddos top limit" "tab after 'show ddos top l'"
keys C-u
clear_screen
keys "show ddos " "?"
wait_for '^  top \[limit N\] \[program NAME\] +The sources with the most DDoS drops' \
	"'?' after 'show ddos '"
wait_for '^  PROGRAM +a program name' "'?' after 'show ddos '"
wait_for '^  <cr> +run the command' "'?' after 'show ddos '"
wait_last "fos> show ddos" "line after '?' at show ddos"
keys "top limit 5 " "?"
wait_for '^  program NAME +only the sources of this program' "'?' after 'limit 5 '"
wait_last "fos> show ddos top limit 5" "line after '?' at show ddos top"
keys C-u
clear_screen
keys "set add blocked 10.0.0.0/8 " "?"
wait_for '^  timeout SECONDS +remove the entry again after this long' "'?' after set add CIDR"
keys "ti" Tab
wait_last "fos> set add blocked 10.0.0.0/8 timeout" "tab after 'ti'"
keys C-u

# A failing command reports and the shell goes on.
clear_screen
keys "show program nosuch" Enter
wait_for '^fosctl: .*nosuch' "error in the shell"
wait_last "fos>" "prompt after an error"

# Up recalls the history.
clear_screen
keys Up
wait_last "fos> show program nosuch" "Up once"
keys Up
wait_last "fos> show status" "Up twice"

# Ctrl-C drops the line being typed.
keys C-c
wait_last "fos>" "prompt after Ctrl-C"
wait_for '^fos> show status\^C *$' "^C echo"

# Ctrl-D on an empty line leaves with 0 and a newline.
clear_screen
keys C-d
wait_exit 0
[ "$(last_line)" = "fos>" ] || fail "Ctrl-D did not end the prompt line: '$(last_line)'"

[ -s "$HIST" ] || fail "no history file written"
[ "$(tail -n 2 "$HIST")" = $'show status\nshow program nosuch' ] ||
	fail "history file:"$'\n'"$(cat "$HIST")"

# A new shell starts with that history; quit leaves with 0.
tmux -L "$TS" kill-session -t fos
start_shell
keys Up
wait_last "fos> show program nosuch" "history not loaded"
keys C-u "quit" Enter
wait_exit 0

echo "PASS"
