# shellcheck shell=bash
# Shared by the e2e tests: a three-namespace lab (client - router - server)
# named after the test, a private bpffs for pins, fwd in the router, cleanup
# by trap. Traffic only ever goes to addresses inside these namespaces.
#
# Environment (set by meson): FWD, FOSCTL, FOS_CONF_DIR, FOS_BPF_DIR.

set -u

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; e2e_dump; exit 1; }
pass_step() { echo "ok: $*"; }

[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip >/dev/null || skip "iproute2 missing"

E2E_NAME=${E2E_NAME:-$(basename "$0" .sh)}
# short unique id: namespaces must not collide when tests run in parallel
E2E_ID="$(echo "$E2E_NAME" | tr -c 'a-z0-9\n' '-' | cut -c1-12)-$$"
NS_C="fos-$E2E_ID-c"
NS_R="fos-$E2E_ID-r"
NS_S="fos-$E2E_ID-s"
T=$(mktemp -d "/tmp/fos-e2e-$E2E_NAME.XXXXXX")
PIN="$T/bpf"
SOCK="$T/fwd.sock"
FWD_LOG="$T/fwd.log"
FWD_PID=

e2e_cleanup() {
  set +e
  if [ -n "${FWD_PID:-}" ] && kill -0 "$FWD_PID" 2>/dev/null; then
    kill -TERM "$FWD_PID"; wait "$FWD_PID" 2>/dev/null
  fi
  for ns in "$NS_C" "$NS_R" "$NS_S"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  mountpoint -q "$PIN" && umount "$PIN"
  local bad=0
  # in the sanitizer build fwd reports leaks and undefined behaviour here
  if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$FWD_LOG" 2>/dev/null; then
    echo "FAIL: fwd reported sanitizer errors:" >&2
    grep -A20 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$FWD_LOG" | head -60 >&2
    bad=1
  fi
  rm -rf "$T"
  [ $bad = 0 ] || exit 1
}
trap e2e_cleanup EXIT

e2e_dump() {
  [ -f "$FWD_LOG" ] && { echo "--- fwd log"; tail -n 50 "$FWD_LOG"; } >&2
}

inC() { ip netns exec "$NS_C" "$@"; }
inR() { ip netns exec "$NS_R" "$@"; }
inS() { ip netns exec "$NS_S" "$@"; }

fosctl() { "$FOSCTL" -s "$SOCK" "$@"; }

# The lab of conf/examples/lab.conf: client 10.10.1.2 - r-cli 10.10.1.1 |
# router | r-srv 10.10.2.1 - server 10.10.2.2, and the same in fd00:10:1::/64,
# fd00:10:2::/64.
# Namespaces left by a test that was killed (a meson timeout skips traps):
# fos-<name>-<pid>-x whose pid is gone.
e2e_sweep() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^fos-.*-[0-9]*-[crs]$'); do
    pid=${ns%-?}; pid=${pid##*-}
    kill -0 "$pid" 2>/dev/null && continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}

e2e_lab() {
  e2e_sweep
  ip netns add "$NS_C" && ip netns add "$NS_R" && ip netns add "$NS_S" ||
    fail "cannot create namespaces"
  ip link add r-cli netns "$NS_R" type veth peer name eth0 netns "$NS_C" || fail "veth"
  ip link add r-srv netns "$NS_R" type veth peer name eth0 netns "$NS_S" || fail "veth"
  for ns in "$NS_C" "$NS_R" "$NS_S"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  inR sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$NS_R" addr add 10.10.1.1/24 dev r-cli
  ip -n "$NS_R" addr add fd00:10:1::1/64 dev r-cli nodad
  ip -n "$NS_R" addr add 10.10.2.1/24 dev r-srv
  ip -n "$NS_R" addr add fd00:10:2::1/64 dev r-srv nodad
  ip -n "$NS_C" addr add 10.10.1.2/24 dev eth0
  ip -n "$NS_C" addr add fd00:10:1::2/64 dev eth0 nodad
  ip -n "$NS_S" addr add 10.10.2.2/24 dev eth0
  ip -n "$NS_S" addr add fd00:10:2::2/64 dev eth0 nodad
  for ns in "$NS_C" "$NS_R" "$NS_S"; do
    for l in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
      # no duplicate address detection on the link-local addresses either
      # (the devices were made before the namespace's default said so)
      [ "$l" = lo ] || ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$l.accept_dad=0"
      ip -n "$ns" link set "$l" up
    done
  done
  ip -n "$NS_C" route add default via 10.10.1.1
  ip -n "$NS_C" -6 route add default via fd00:10:1::1
  ip -n "$NS_S" route add default via 10.10.2.1
  ip -n "$NS_S" -6 route add default via fd00:10:2::1
  mkdir -p "$PIN"
  mount -t bpf bpf "$PIN" || fail "cannot mount a bpffs at $PIN"
  inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "lab: no IPv4 path client -> server"
  # IPv6 too, and the neighbours of both paths known before a test's first
  # flow (the link-local addresses may still be in their DAD)
  local ok=0
  for _ in $(seq 1 10); do
    inC ping -6 -c1 -W1 fd00:10:2::2 >/dev/null 2>&1 && { ok=1; break; }
  done
  [ $ok = 1 ] || fail "lab: no IPv6 path client -> server"
}

# Start fwd in the router namespace with CONFIG; wait for its socket.
fwd_start() {
  local cfg=$1; shift
  # ip netns exec execs fwd, so $! is fwd itself (signals reach it)
  ip netns exec "$NS_R" "$FWD" -c "$cfg" -s "$SOCK" --pin-dir "$PIN" "$@" >>"$FWD_LOG" 2>&1 &
  FWD_PID=$!
  # generous: the sanitizer build verifying programs on a loaded machine is slow
  for _ in $(seq 1 300); do
    if [ -S "$SOCK" ] && fosctl show status >/dev/null 2>&1; then return 0; fi
    kill -0 "$FWD_PID" 2>/dev/null || { wait "$FWD_PID"; return 1; }
    sleep 0.1
  done
  return 1
}

fwd_stop() {
  if [ -n "${FWD_PID:-}" ]; then
    kill -TERM "$FWD_PID" 2>/dev/null; wait "$FWD_PID" 2>/dev/null
  fi
  FWD_PID=
}

# Servers in the server namespace: TCP ports answer "hello", UDP ports log.
servers_start() { # tcp:PORT udp:PORT ...
  rm -f "$T/servers.ready"
  inS python3 "$(dirname "${BASH_SOURCE[0]}")/servers.py" "$T" "$@" >>"$T/servers.log" 2>&1 &
  for _ in $(seq 1 150); do [ -f "$T/servers.ready" ] && return 0; sleep 0.1; done
  fail "test servers did not start"
}
# tcp_try: one short attempt, for flows that must be dropped (a drop costs the
# whole timeout); tcp_pass: retried up to 10 s, for flows that must pass, so
# a loaded CI machine does not turn a slow answer into a failure.
tcp_try() { # addr port -> 0 if connected and got "hello"
  local out
  out=$(inC timeout 3 nc -w 2 "$1" "$2" </dev/null 2>/dev/null) || return 1
  [ "$out" = hello ]
}
tcp_pass() { # addr port
  local end=$((SECONDS + 10))
  while [ $SECONDS -lt $end ]; do
    tcp_try "$1" "$2" && return 0
  done
  return 1
}
# UDP: send a unique line, see whether the server received it
udp_try() { # addr port [tries of 0.1 s]
  local tag="probe-$RANDOM$RANDOM"
  echo "$tag" | inC nc -u -w 1 -q 0 "$1" "$2" >/dev/null 2>&1
  for _ in $(seq 1 "${3:-10}"); do
    grep -qs "$tag" "$T/udp-$2" && return 0
    sleep 0.1
  done
  return 1
}
udp_pass() { # addr port: sent up to three times, waited for up to 10 s
  udp_try "$1" "$2" 20 || udp_try "$1" "$2" 30 || udp_try "$1" "$2" 50
}

# what runs on a TC hook of the router, as the kernel says, in order:
# "tcx NAME ID" per tcx link, "clsact PREF NAME ID" per bpf filter
hooks() { # DEV ingress|egress
  inR python3 "$(dirname "${BASH_SOURCE[0]}")/tc_hooks.py" "$@"
}

jq_py() { # python expression over the JSON on stdin, bound to j
  python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# A SYN flood from the client namespace (bench-gen, sources in the prefix
# $1), answered with SYN cookies from r-cli. SYN-ACKs sent with XDP_TX from
# r-cli arrive on the client's eth0. It needs NAPI, and more than GRO gives
# it: frames a veth's XDP program sends back with XDP_TX wake the peer's NAPI
# only when the peer has an XDP program too (with GRO alone they wait in its
# ring for the next packet sent the usual way). That program drops the
# answers to the spoofed prefix, millions a second, which the client's stack
# would otherwise take in one by one (on the router's CPU, which sent them),
# and passes the client's own. The flood keeps the ring from the client's
# eth0 to r-cli full. A NIC's driver stops its queue when its ring is full
# and the qdisc holds what the stack sends meanwhile; a veth does the same
# only when it has a qdisc (with noqueue, its default, it drops): give it
# one, so the client's packets wait their turn behind the flood like a
# host's would. Answers to the spoofed prefix (none should exist) go back
# towards the client.
e2e_flood_client() { # SPOOFED_PREFIX
  inC ip link set dev eth0 xdp obj "$FOS_BPF_DIR/xdp_bench.bpf.o" sec xdp \
    program fos_xdp_sink_spoofed || fail "cannot attach fos_xdp_sink_spoofed to the client's eth0"
  inC tc qdisc replace dev eth0 root pfifo limit 1000 || fail "cannot give the client's eth0 a qdisc"
  ip -n "$NS_R" route add "$1" via 10.10.1.2 dev r-cli || fail "route to $1"
}

# The flood started in the background (its pid in GEN_PID) stopped; a test
# that floods traps 'stop_flood; e2e_cleanup' on EXIT.
GEN_PID=
stop_flood() {
  if [ -n "$GEN_PID" ]; then
    kill -INT "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null
  fi
  GEN_PID=
}
