#!/usr/bin/env bash
# fwd --check and fosctl config check: valid configs pass through the
# verifier, broken ones name file:line, and nothing is attached either way.
. "$(dirname "$0")/lib.sh"
e2e_lab
CFG="$FOS_CONF_DIR/examples/lab.conf"
out=$(inR "$FWD" --check -c "$CFG" 2>&1) || fail "--check of lab.conf failed: $out"
echo "$out" | grep -q "lab.conf: ok" || fail "--check output: $out"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" && fail "--check attached something"
out=$("$FWD" --check -c "$FOS_CONF_DIR/fwd.conf" 2>&1) || fail "--check of fwd.conf failed: $out"
pass_step "--check accepts the shipped configs"

mkdir -p "$T/c"
cat >"$T/c/bad.conf" <<'CONF'
programs = ( {
  name = "f"; type = "xdp"; interface = "r-cli";
  settings = { actions = { rules = (
    { match = { protocol = "tcp"; dstPort = 70000; }; action = "drop"; },
    { match = { protocol = "bogus"; }; action = "drop"; }
  ); }; };
} );
CONF
out=$(inR "$FWD" --check -c "$T/c/bad.conf" 2>&1) && fail "--check accepted a bad config"
echo "$out" | grep -q "bad.conf:4: .*dstPort: 70000 is out of range 0-65535" || fail "message 1: $out"
echo "$out" | grep -q "bad.conf:5: .*protocol" || fail "message 2 (all errors reported): $out"
pass_step "--check reports every error with file:line"

cat >"$T/c/noif.conf" <<'CONF'
programs = ( { name = "f"; type = "xdp"; interface = "eth9"; } );
CONF
out=$(inR "$FWD" --check -c "$T/c/noif.conf" 2>&1) && fail "--check accepted a missing interface"
echo "$out" | grep -q 'noif.conf:1: .*no such interface "eth9"' || fail "missing interface: $out"
pass_step "--check finds missing interfaces"

# NAT: the lab's example verifies; what the kernel refuses is found too
out=$(inR "$FWD" --check -c "$FOS_CONF_DIR/examples/nat.conf" 2>&1) || fail "--check of nat.conf failed: $out"
[ -z "$(hooks r-cli ingress)$(hooks r-cli egress)$(hooks r-srv ingress)" ] ||
  fail "--check attached NAT: $(hooks r-cli ingress; hooks r-cli egress; hooks r-srv ingress)"
inR ip link add r-bare type veth peer name r-bare-p || fail "cannot add r-bare"
cat >"$T/c/nat.conf" <<'CONF'
natConfigs = ( { name = "b"; interfaces = { source = "r-srv"; destination = "r-bare"; };
  portMappings = ( { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 80; externalPort = 80; } ); } );
CONF
out=$(inR "$FWD" --check -c "$T/c/nat.conf" 2>&1) && fail "--check accepted a port map on an interface without an address"
echo "$out" | grep -q 'nat.conf:2: natConfigs "b": a port map on r-bare, which has no IPv4 address' ||
  fail "port map message: $out"
pass_step "--check verifies natConfigs against the kernel"

fwd_start "$CFG" || fail "fwd did not start"
out=$(fosctl config check "$T/c/bad.conf" 2>&1); rc=$?
[ $rc = 1 ] || fail "config check of a bad file: exit $rc"
echo "$out" | grep -q "bad.conf:4:" || fail "config check message: $out"
fosctl config check "$CFG" >/dev/null || fail "config check of lab.conf failed"
gen=$(fosctl -j show status | jq_py 'j["generation"]')
[ "$gen" = 1 ] || fail "config check changed the running config (generation $gen)"
pass_step "fosctl config check"
# operator mistakes at start-up: clear messages, nothing touched
fwd_stop
touch "$T/notasocket"
out=$(inR "$FWD" -c "$CFG" -s "$T/notasocket" --pin-dir "$PIN" 2>&1) && fail "fwd started on a non-socket path"
echo "$out" | grep -q "exists and is not a socket" || fail "socket path message: $out"
[ -f "$T/notasocket" ] || fail "fwd removed a file that is not a socket"
long="$PIN/$(printf 'd%.0s' $(seq 1 200))"
out=$(inR "$FWD" -c "$CFG" -s "$T/x.sock" --pin-dir "$long" 2>&1) && fail "fwd accepted an over-long pin dir"
echo "$out" | grep -q "is longer than 199 characters" || fail "pin dir message: $out"
mkdir -p "$T/plain"
out=$(inR "$FWD" -c "$CFG" -s "$T/y.sock" --pin-dir "$T/plain" 2>&1) && fail "fwd accepted a pin dir off bpffs"
echo "$out" | grep -q "is not on a BPF filesystem" || fail "bpffs message: $out"
ip -n "$NS_R" link show r-cli | grep -q "prog/xdp" || fail "the stopped fwd's datapath is gone"
pass_step "start-up mistakes are refused clearly"

# socket and pin dir taken from daemon = { }: a reload cannot move them
mkdir -p "$PIN/own"
printf 'daemon = { socket = "%s"; pinDir = "%s"; };\n' "$T/own.sock" "$PIN/own" >"$T/c/own.conf"
ip netns exec "$NS_R" "$FWD" -c "$T/c/own.conf" >>"$FWD_LOG" 2>&1 &
FWD_PID=$!
for _ in $(seq 1 300); do "$FOSCTL" -s "$T/own.sock" show status >/dev/null 2>&1 && break; sleep 0.1; done
"$FOSCTL" -s "$T/own.sock" show status >/dev/null || fail "fwd with config paths did not start"
printf 'daemon = { socket = "%s"; pinDir = "%s"; };\n' "$T/own.sock" "$PIN/elsewhere" >"$T/c/own.conf"
out=$("$FOSCTL" -s "$T/own.sock" reload 2>&1) && fail "a reload moved the pin dir"
echo "$out" | grep -q "daemon.pinDir: changing the pin directory needs a restart of fwd" ||
  fail "pinDir message: $out"
printf 'daemon = { socket = "%s"; pinDir = "%s"; };\n' "$T/other.sock" "$PIN/own" >"$T/c/own.conf"
out=$("$FOSCTL" -s "$T/own.sock" reload 2>&1) && fail "a reload moved the socket"
echo "$out" | grep -q "daemon.socket: changing the socket needs a restart of fwd" ||
  fail "socket message: $out"
[ "$("$FOSCTL" -s "$T/own.sock" -j show status | jq_py 'j["generation"]')" = 1 ] ||
  fail "a refused reload changed the generation"
pass_step "a reload cannot move the socket or the pin dir"
echo PASS
