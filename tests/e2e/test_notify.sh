#!/usr/bin/env bash
# The systemd Type=notify contract: READY=1 once the config is applied,
# RELOADING=1 then READY=1 around a reload, STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"
ip netns add "$NS_R" || fail "cannot create a namespace"
mkdir -p "$PIN" "$T/c" && mount -t bpf bpf "$PIN" || fail "cannot mount bpffs"
printf 'ipSets = ( { name = "s"; entries = [ "192.0.2.0/24" ]; } );\n' >"$T/c/fwd.conf"

python3 - "$T/notify" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.replace("\n", "|") + "\n")
        if "STOPPING=1" in msg:
            break
PY
LISTENER=$!
for _ in $(seq 1 50); do [ -S "$T/notify" ] && break; sleep 0.1; done
[ -S "$T/notify" ] || fail "notify listener did not start"

NOTIFY_SOCKET="$T/notify" fwd_start "$T/c/fwd.conf" || fail "fwd did not start"
grep -q "READY=1" "$T/notify.log" || fail "no READY=1: $(cat "$T/notify.log")"
grep -q "STATUS=applied generation 1" "$T/notify.log" || fail "no STATUS: $(cat "$T/notify.log")"
pass_step "READY=1 with a STATUS once the config is applied"

kill -HUP "$FWD_PID"
for _ in $(seq 1 50); do grep -q "RELOADING=1" "$T/notify.log" && break; sleep 0.1; done
grep -q "RELOADING=1" "$T/notify.log" || fail "no RELOADING=1 on SIGHUP"
[ "$(grep -c "READY=1" "$T/notify.log")" -ge 2 ] || fail "no READY=1 after the reload"
pass_step "RELOADING=1, then READY=1, around a reload"

fwd_stop
wait "$LISTENER" 2>/dev/null
grep -q "STOPPING=1" "$T/notify.log" || fail "no STOPPING=1 on SIGTERM"
pass_step "STOPPING=1 on SIGTERM"
echo PASS
