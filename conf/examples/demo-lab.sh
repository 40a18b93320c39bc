#!/usr/bin/env bash
# The fos demo lab: installs the Debian packages, builds fos, builds three
# network namespaces (client - router - server), starts fwd in the router with
# conf/examples/lab.conf and shows it filtering real traffic, then adds the
# stateful firewall of conf/examples/stateful-fw.conf with a reload, then the
# DDoS protection of conf/examples/lab-ddos.conf in front of the filter, then
# NAT (conf/examples/nat.conf) in place of the stateful firewall.
#
#   bash conf/examples/demo-lab.sh          set up, show, leave the lab running
#   bash conf/examples/demo-lab.sh stop     stop fwd, flush, remove the lab
#
# Only namespaces this script creates are touched; the host's own interfaces
# and routes are never changed.
cd "$(dirname "$0")/../.." || exit 1
top=$PWD
. "$top/tests/steps.sh"
fos_loud demo-lab.sh
B=$top/build
NS_C=fos-demo-client NS_R=fos-demo-router NS_S=fos-demo-server
RUN=/run/fos-demo
PIN=$RUN/bpf
SOCK=$RUN/fwd.sock

stop() (
  set +e
  trap - ERR
  if [ -f "$RUN/fwd.pid" ]; then kill "$(cat "$RUN/fwd.pid")" 2>/dev/null; sleep 0.5; fi
  [ -x "$B/daemon/fwd" ] && mountpoint -q "$PIN" && ip netns exec "$NS_R" "$B/daemon/fwd" --flush --pin-dir "$PIN"
  for ns in $NS_C $NS_R $NS_S; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  mountpoint -q "$PIN" && umount "$PIN"
  rm -rf "$RUN"
)

if [ "${1:-}" = stop ]; then stop; echo "demo lab removed"; exit 0; fi
fos_need_root

echo "== 1. packages and build"
FOS_HINT="apt-get needs this machine's Debian 12 package sources (/etc/apt/sources.list*) to be reachable; fix them and run again"
bash tests/install-deps.sh
FOS_HINT="a build dependency is missing or broken: run 'bash tests/install-deps.sh' again and read what it prints, then 'meson setup $B'"
[ -f "$B/build.ninja" ] || fos_step "configure the build (meson setup $B)" meson setup "$B"
FOS_HINT="the compiler's error is above; 'ninja -C $B' shows it again. Run 'bash tests/install-deps.sh' first if a header or library is missing"
fos_step "build fos (ninja -C $B)" ninja -C "$B"
FOS_HINT="the kernel must have network namespaces, veth, BPF and BTF: see the README's 'Requirements'"
fos_need_kernel
stop >/dev/null 2>&1 || true

FOS_HINT="building the lab's namespaces failed; 'bash conf/examples/demo-lab.sh stop' removes what was made, then run it again"
echo "== 2. the lab: $NS_C (10.10.1.2) -- r-cli [$NS_R] r-srv -- $NS_S (10.10.2.2)"
for ns in $NS_C $NS_R $NS_S; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add r-cli netns $NS_R type veth peer name eth0 netns $NS_C
ip link add r-srv netns $NS_R type veth peer name eth0 netns $NS_S
ip netns exec $NS_R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n $NS_R addr add 10.10.1.1/24 dev r-cli; ip -n $NS_R addr add fd00:10:1::1/64 dev r-cli nodad
ip -n $NS_R addr add 10.10.2.1/24 dev r-srv; ip -n $NS_R addr add fd00:10:2::1/64 dev r-srv nodad
ip -n $NS_C addr add 10.10.1.2/24 dev eth0; ip -n $NS_C addr add fd00:10:1::2/64 dev eth0 nodad
ip -n $NS_S addr add 10.10.2.2/24 dev eth0; ip -n $NS_S addr add fd00:10:2::2/64 dev eth0 nodad
ip -n $NS_R link set r-cli up; ip -n $NS_R link set r-srv up
ip -n $NS_C link set eth0 up; ip -n $NS_S link set eth0 up
ip -n $NS_C route add default via 10.10.1.1; ip -n $NS_C -6 route add default via fd00:10:1::1
ip -n $NS_S route add default via 10.10.2.1; ip -n $NS_S -6 route add default via fd00:10:2::1
mkdir -p "$PIN"; mount -t bpf bpf "$PIN"

echo "== 3. fwd in $NS_R with conf/examples/lab.conf (as $RUN/fwd.conf)"
# a copy, so that step 6 can add a file to its fwd.d/ beside it
sed "s|\"sets/blocked.txt\"|\"$top/conf/examples/sets/blocked.txt\"|" \
  "$top/conf/examples/lab.conf" >"$RUN/fwd.conf"
ip netns exec $NS_R "$B/daemon/fwd" -c "$RUN/fwd.conf" -s "$SOCK" --pin-dir "$PIN" \
  >"$RUN/fwd.log" 2>&1 &
echo $! >"$RUN/fwd.pid"
up=0
for _ in $(seq 1 50); do
  if "$B/cli/fosctl" -s "$SOCK" show status >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$(cat "$RUN/fwd.pid")" 2>/dev/null || break
  sleep 0.1
done
if [ "$up" != 1 ]; then
  echo "demo-lab.sh: FAILED: fwd did not start; its log ($RUN/fwd.log):" >&2
  cat "$RUN/fwd.log" >&2
  echo "demo-lab.sh: what to do: the log says why; 'bash conf/examples/demo-lab.sh stop' removes the lab" >&2
  exit 1
fi
FOS_HINT="fwd's log is $RUN/fwd.log; 'bash conf/examples/demo-lab.sh stop' removes the lab"
ip netns exec $NS_S python3 "$top/tests/e2e/servers.py" "$RUN" tcp:23 tcp:80 tcp:8050 >/dev/null 2>&1 &
sleep 0.5

fosctl() { "$B/cli/fosctl" -s "$SOCK" "$@"; }
try() { # label, command (run in the client)
  tryin $NS_C "$@"
}
tryin() { # namespace, label, command
  local ns=$1
  shift
  if ip netns exec "$ns" timeout 3 "${@:2}" >/dev/null 2>&1 </dev/null; then
    printf '   %-48s passes\n' "$1"
  else
    printf '   %-48s DROPPED\n' "$1"
  fi
}
echo "== 4. traffic from the client to the server"
try "ping 10.10.2.2" ping -c1 -W1 10.10.2.2
try "ping fd00:10:2::2" ping -6 -c2 -W2 fd00:10:2::2
try "tcp 10.10.2.2:80" nc -w 2 10.10.2.2 80
try "tcp 10.10.2.2:23 (rule: drop tcp 23)" nc -w 2 10.10.2.2 23
try "tcp 10.10.2.2:8050 (rule: drop tcp 8000-8100)" nc -w 2 10.10.2.2 8050
fosctl set add blocked 10.10.1.2/32 >/dev/null
try "ping after 'set add blocked 10.10.1.2/32'" ping -c1 -W1 10.10.2.2
fosctl set del blocked 10.10.1.2/32 >/dev/null
try "ping after 'set del blocked 10.10.1.2/32'" ping -c1 -W1 10.10.2.2

echo "== 5. fosctl show programs"
fosctl show programs
echo
echo "== fosctl show rules lab-filter"
fosctl show rules lab-filter
echo

echo "== 6. a stateful firewall on r-srv: $RUN/fwd.d/stateful-fw.conf, then fosctl reload"
mkdir -p "$RUN/fwd.d"
cp "$top/conf/examples/stateful-fw.conf" "$RUN/fwd.d/"
fosctl reload
ip netns exec $NS_C python3 "$top/tests/e2e/servers.py" "$RUN" tcp:8080 >/dev/null 2>&1 &
sleep 0.5
try "client: tcp 10.10.2.2:80 (answers ESTABLISHED)" nc -w 2 10.10.2.2 80
try "client: ping 10.10.2.2" ping -c1 -W1 10.10.2.2
tryin $NS_S "server: ping 10.10.1.2 (NEW from outside)" ping -c1 -W1 10.10.1.2
tryin $NS_S "server: tcp 10.10.1.2:8080 (NEW from outside)" nc -w 2 10.10.1.2 8080
echo
echo "== fosctl show conntrack"
fosctl show conntrack
echo
echo "== 7. DDoS protection on r-cli: $RUN/fwd.d/lab-ddos.conf (before lab-filter), reload"
cp "$top/conf/examples/lab-ddos.conf" "$RUN/fwd.d/"
fosctl reload
# a veth hands frames sent back with XDP_TX (the SYN-ACK cookies) to the stack
# only when an XDP program runs on it: the client's gets one that passes all
ip netns exec $NS_C ip link set dev eth0 xdp obj "$B/bpf/xdp_pass.bpf.o" sec xdp
try "client: tcp 10.10.2.2:80 (proves itself with a SYN cookie)" nc -w 2 10.10.2.2 80
ip netns exec $NS_C ping -f -c 300 10.10.2.2 >/dev/null 2>&1 || true
try "client: ping 10.10.2.2 after a ping flood (blocked 15 s)" ping -c1 -W1 10.10.2.2
echo
echo "== fosctl show ddos"
fosctl show ddos
echo
echo "== fosctl show ddos top"
fosctl show ddos top
echo
echo "== fosctl show set blocked"
fosctl show set blocked
echo
echo "== 8. NAT: the server's network behind r-cli's address, its port 80 published on it:"
echo "   $RUN/fwd.d/nat.conf in place of stateful-fw.conf, reload"
# the client's flood block of step 7 ends first: NAT's answers come from it
printf '   %s' "the client's 15 s block ends:"
for _ in $(seq 1 40); do
  fosctl show set blocked | grep -q '^10\.10\.1\.2/32 ' || break
  sleep 0.5
done
if fosctl show set blocked | grep -q '^10\.10\.1\.2/32 '; then echo " still blocked (FAILED)"; else echo " done"; fi
rm -f "$RUN/fwd.d/stateful-fw.conf"
cp "$top/conf/examples/nat.conf" "$RUN/fwd.d/"
fosctl reload
ip netns exec $NS_C python3 "$top/tests/e2e/nat_tools.py" serve "$RUN" tcp:7000 udp:7001 \
  >/dev/null 2>&1 &
for _ in $(seq 1 30); do [ -f "$RUN/nat.ready" ] && break; sleep 0.1; done
seen=$(ip netns exec $NS_S timeout 3 python3 "$top/tests/e2e/nat_tools.py" udp 10.10.1.2 7001 45000 2>&1) || true
printf '   %-48s seen by the client as %s\n' "server: udp to 10.10.1.2:7001 from port 45000" "${seen:-nothing (FAILED)}"
seen=$(ip netns exec $NS_S timeout 3 python3 "$top/tests/e2e/nat_tools.py" tcp 10.10.1.2 7000 2>&1) || true
printf '   %-48s seen by the client as %s\n' "server: tcp to 10.10.1.2:7000" "${seen:-nothing (FAILED)}"
try "client: tcp 10.10.1.1:80 (the port map to 10.10.2.2:80)" nc -w 2 10.10.1.1 80
echo
echo "== fosctl show nat"
fosctl show nat
echo
echo "== fosctl show nat mappings"
fosctl show nat mappings
echo
echo "The lab is running. Try: $B/cli/fosctl -s $SOCK"
echo "Remove it with: bash conf/examples/demo-lab.sh stop"
