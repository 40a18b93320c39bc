#!/usr/bin/env bash
# run.sh: every benchmark of fos, in order, printing every figure.
#
#   bash bench/run.sh [BUILD_DIR]
#
# BUILD_DIR is a configured and built tree (meson setup BUILD_DIR && ninja -C
# BUILD_DIR); it defaults to ./build beside this directory. Needs root. About
# nine minutes. The benchmarks only print figures: a slow figure is never a
# failure.
#
#   1. bench-filter     ns/packet of the XDP filter via BPF_PROG_TEST_RUN,
#                       next to a bare XDP_DROP (bench_filter.c)
#   2. bench_veth.sh    Mpps and receive-CPU ns/packet on a veth: bare
#                       XDP_DROP, fos through the real fwd, nftables with the
#                       same ruleset, nftables bare
#   3. bench_apply.sh   fwd start, reload and restart with a 1M-entry set,
#                       fwd's memory, control socket round trips
#   4. bench-ct         ns/packet of connection tracking via
#                       BPF_PROG_TEST_RUN: the stateful TC firewall on an
#                       established flow (1 entry, 1M entries, 1M flows in
#                       turn), a one-way UDP flow, an insert at 1M entries,
#                       next to the stateless firewall, the stateful XDP
#                       filter and bare programs (bench_ct.c)
#   5. bench_ct_fwd.sh  Mpps forwarded through a router namespace: kernel
#                       forwarding, fos's stateful tc-ingress firewall via fwd,
#                       nftables + conntrack with the same policy, nftables
#                       with only its ct rule, a bare tc program
#   6. bench_ct_gc.sh   fwd's conntrack collector over 1M flows: walk time,
#                       removal of 1M expired flows, longest step, CPU time,
#                       control socket round trips during the walks
#   7. bench-ddos       ns/packet of the DDoS mitigation via
#                       BPF_PROG_TEST_RUN: a conforming source, an ICMP flood
#                       dropped, a SYN answered with a cookie (XDP_TX), a
#                       proved source's SYN, a blacklisted source, next to the
#                       filter without it (bench_ddos.c)
#   8. bench_ddos.sh    a veth receiver under a spoofed TCP SYN flood: bare
#                       XDP_DROP, fos's SYN cookies in XDP via fwd,
#                       nftables synproxy, nftables limit rate; and a
#                       legitimate client's connections under the flood
#   9. bench-nat        ns/packet of NAT via BPF_PROG_TEST_RUN: a packet of
#                       a mapping (1 and 10k mappings), a new mapping (its
#                       port kept, or probed for), and bytes per mapping
#                       (bench_nat.c)
#  10. bench_nat_fwd.sh Mpps and router CPU per packet forwarded through a
#                       masquerading router, 1 flow and 10k flows: kernel
#                       forwarding, fos's NAT via fwd, nftables masquerade,
#                       two bare tc programs
#  11. bench_nat_gc.sh  fwd's NAT collector over 120k mappings (an external
#                       address's worth): walk time, CPU time, longest step,
#                       show nat, removal of as many expired mappings
#
# bench/ruleset.h describes the ruleset of 1-3, bench_ct.c and
# bench_ct_fwd.sh theirs. Environment: FOS_BENCH_ROUNDS and
# FOS_BENCH_SECONDS tune bench_veth.sh, bench_ct_fwd.sh, bench_ddos.sh and
# bench_nat_fwd.sh (FOS_BENCH_NAT_FLOWS its many-flows case);
# FOS_BENCH_NAT_MAPPINGS the mappings of bench_nat_gc.sh;
# FOS_BENCH_CONNECTS and FOS_BENCH_LEGIT_SECONDS the client of bench_ddos.sh.
#
# Exit status: 0 when the benchmarks ran (any that could not run here say
# why), 77 when none could run, 1 when one failed.
set -u

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC_DIR/build}
BENCH=$SRC_DIR/bench

ran=0
failed=0

run() { # title command...
  local title=$1 rc
  shift
  echo "=== $title"
  "$@"
  rc=$?
  case $rc in
  0) ran=$((ran + 1)) ;;
  77) ;;
  *) failed=$((failed + 1)); echo "=== $title: failed (exit $rc)" ;;
  esac
  echo
}

if [ ! -x "$BUILD/bench/bench-filter" ]; then
  echo "run.sh: SKIP: $BUILD/bench/bench-filter is missing; build first (ninja -C $BUILD)"
  exit 77
fi
if [ "$(id -u)" != 0 ]; then
  echo "run.sh: SKIP: the benchmarks need root"
  exit 77
fi

echo "fos benchmarks: $(uname -r), $(nproc) CPUs, build $BUILD, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
run "1. XDP filter cost per packet (BPF_PROG_TEST_RUN)" "$BUILD/bench/bench-filter"
run "2. packets per second on a veth" bash "$BENCH/bench_veth.sh" "$BUILD"
run "3. applying a 1M-entry set; control socket latency" bash "$BENCH/bench_apply.sh" "$BUILD"
run "4. connection tracking cost per packet (BPF_PROG_TEST_RUN)" "$BUILD/bench/bench-ct"
run "5. packets per second forwarded through a stateful firewall" \
  bash "$BENCH/bench_ct_fwd.sh" "$BUILD"
run "6. the conntrack collector over 1M flows" bash "$BENCH/bench_ct_gc.sh" "$BUILD"
run "7. DDoS mitigation cost per packet (BPF_PROG_TEST_RUN)" "$BUILD/bench/bench-ddos"
run "8. a SYN flood: SYN cookies in XDP next to nftables" bash "$BENCH/bench_ddos.sh" "$BUILD"
run "9. NAT cost per packet and per mapping (BPF_PROG_TEST_RUN)" "$BUILD/bench/bench-nat"
run "10. packets per second forwarded through a masquerading router" \
  bash "$BENCH/bench_nat_fwd.sh" "$BUILD"
run "11. the NAT collector over 120k mappings" bash "$BENCH/bench_nat_gc.sh" "$BUILD"

if [ $failed -gt 0 ]; then
  exit 1
fi
if [ $ran -eq 0 ]; then
  exit 77
fi
exit 0
