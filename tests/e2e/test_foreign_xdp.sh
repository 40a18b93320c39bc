#!/usr/bin/env bash
# fwd never replaces an XDP program it did not attach: it refuses with a
# clear error, changes nothing, and the foreign program stays.
. "$(dirname "$0")/lib.sh"
e2e_lab
command -v bpftool >/dev/null || skip "bpftool missing"
bpftool prog load "$FOS_BPF_DIR/xdp_bench.bpf.o" "$PIN/foreign" type xdp >/dev/null 2>&1 ||
  fail "cannot load a foreign XDP program"
inR bpftool net attach xdp pinned "$PIN/foreign" dev r-cli || fail "cannot attach the foreign program"
id0=$(inR ip -j link show r-cli | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')

fwd_start "$FOS_CONF_DIR/examples/lab.conf" && fail "fwd started over a foreign XDP program"
grep -q "already has an XDP program (id $id0" "$FWD_LOG" || fail "message: $(cat "$FWD_LOG")"
grep -q "that fos did not attach; refusing to replace it" "$FWD_LOG" || fail "message wording"
id1=$(inR ip -j link show r-cli | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')
[ "$id1" = "$id0" ] || fail "foreign program replaced ($id0 -> $id1)"
[ ! -e "$PIN/progs/lab-filter/link" ] || fail "a link was pinned"
pass_step "refused to replace foreign program $id0"

# with no program configured on that interface fwd runs fine beside it
mkdir -p "$T/c"; printf 'ipSets = ();\n' >"$T/c/empty.conf"
fwd_start "$T/c/empty.conf" || fail "fwd with an empty config did not start"
fwd_stop
inR bpftool net detach xdp dev r-cli
echo PASS
