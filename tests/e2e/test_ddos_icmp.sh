#!/usr/bin/env bash
# icmpFloodProtection on the router's r-cli (xdp): an echo-request flood far
# above "total" reaches the server at the configured rate (+ the burst), no
# more and not much less; then, with perSource and blockDuration, a flooding
# source is put into the blacklist set as an automatic entry with an expiry,
# is cut off while it stays there, and gets through again once the entry has
# expired and is gone.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
command -v nft >/dev/null || skip "nft missing"
TOOLS="$(dirname "$0")/ddos_tools.py"
TOTAL=1000
BURST=50
FLOOD_PPS=4000
FLOOD_S=5

e2e_lab
inC ip addr add 10.10.1.3/24 dev eth0 || fail "second client address"
# the server counts the echo requests that reach it, by source
inS nft -f - <<'EOF' || fail "nft counters in the server namespace"
table inet cnt {
	chain in {
		type filter hook input priority 0; policy accept;
		icmp type echo-request ip saddr 10.10.1.2 counter
		icmp type echo-request ip saddr 10.10.1.3 counter
	}
}
EOF
echo_requests() { # source address -> echo requests the server has seen from it
  inS nft list chain inet cnt in |
    awk -v a="$1" '$0 ~ "saddr " a " " { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

write_conf() { # ICMP_GROUP_BODY
  cat >"$T/fwd.conf" <<EOF
ipSets = (
	{
		name = "ddos-block";
		entries = [ "10.10.1.250/32" ];
	}
);
programs = (
	{
		name = "ddos-protection";
		type = "xdp";
		interface = "r-cli";
		settings = {
			blacklist = { enabled = true; ipSetRef = "ddos-block"; };
			icmpFloodProtection = { enabled = true; $1 };
			actions = { default = "pass"; };
		};
	}
);
EOF
}

write_conf "total = $TOTAL; totalBurst = $BURST;"
fwd_start "$T/fwd.conf" || fail "fwd did not start"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "ping with the protection armed but idle failed"
fosctl -j show ddos >"$T/ddos.json" || fail "show ddos"
jq_py 'j["programs"][0]["protections"]["icmpFloodProtection"]["armed"], j["programs"][0]["protections"]["icmpFloodProtection"]["total"]' \
  <"$T/ddos.json" | tr '\n' ' ' | grep -q "True $TOTAL" ||
  fail "show ddos does not show icmpFloodProtection total $TOTAL: $(cat "$T/ddos.json")"

# --- the aggregate limit ------------------------------------------------------
sleep 1 # the bucket is full again after the ping
before=$(echo_requests 10.10.1.2)
out=$(inC python3 "$TOOLS" flood icmp 10.10.2.2 --src 10.10.1.2 --pps "$FLOOD_PPS" --seconds "$FLOOD_S") ||
  fail "the flood failed: $out"
sleep 0.5
after=$(echo_requests 10.10.1.2)
fosctl -j show ddos >"$T/ddos.json" || fail "show ddos"
sent=$(echo "$out" | awk '{print $2}')
secs=$(echo "$out" | awk '{print $4}')
got=$((after - before))
expect=$(awk -v t=$TOTAL -v s="$secs" -v b=$BURST 'BEGIN { printf "%d", t * s + b }')
echo "flood: $out; the server saw $got echo requests, expected $expect"
[ "$sent" -ge $((FLOOD_PPS * FLOOD_S * 8 / 10)) ] || fail "the flood sent only $sent packets in ${secs}s"
[ $((got * 100)) -ge $((expect * 90)) ] && [ $((got * 100)) -le $((expect * 110)) ] ||
  fail "$got echo requests reached the server, expected $expect +-10% (total $TOTAL/s, burst $BURST, ${secs}s)"
drops=$(jq_py 'j["programs"][0]["drops"]["icmpFlood"]' <"$T/ddos.json")
[ "$drops" -ge $(((sent - got) * 9 / 10)) ] ||
  fail "drops.icmpFlood $drops, but $((sent - got)) of $sent did not arrive: $(cat "$T/ddos.json")"
jq_py 'j["programs"][0]["protections"]["icmpFloodProtection"]["engaged"]' <"$T/ddos.json" | grep -qx True ||
  fail "icmpFloodProtection not engaged right after the flood: $(cat "$T/ddos.json")"
pass_step "a flood of $sent echo requests in ${secs}s: $got reached the server (expected $expect), $drops dropped"

# --- per source, with a block ----------------------------------------------------
write_conf "perSource = 50; perSourceBurst = 10; blockDuration = 3;"
out=$(fosctl reload 2>&1) || fail "reload with perSource and blockDuration refused: $out"
inC ping -c1 -W2 -I 10.10.1.3 10.10.2.2 >/dev/null || fail "ping from 10.10.1.3 before its flood failed"
out=$(inC python3 "$TOOLS" flood icmp 10.10.2.2 --src 10.10.1.3 --pps 500 --seconds 1) ||
  fail "the flood failed: $out"
t_flood_end=$SECONDS
entry=
for _ in $(seq 1 20); do
  fosctl -j show set ddos-block >"$T/set.json" || fail "show set ddos-block"
  entry=$(jq_py '[e for e in j["entries"] if e["cidr"] == "10.10.1.3/32"]' <"$T/set.json")
  [ "$entry" != "[]" ] && break
  sleep 0.1
done
[ "$entry" != "[]" ] || fail "the flooding source is not in ddos-block: $(cat "$T/set.json")"
jq_py '[(e["auto"], e["dynamic"], 0 < e["expires"] <= 3) for e in j["entries"] if e["cidr"] == "10.10.1.3/32"]' \
  <"$T/set.json" | grep -q "(True, True, True)" ||
  fail "the automatic entry lacks auto/dynamic/expires <= 3: $(cat "$T/set.json")"
inC ping -c1 -W1 -I 10.10.1.3 10.10.2.2 >/dev/null && fail "the blocked source's ping passed"
inC ping -c1 -W2 10.10.2.2 >/dev/null || fail "another source's ping failed while 10.10.1.3 was blocked"
fosctl -j show ddos >"$T/ddos.json" || fail "show ddos"
jq_py 'j["programs"][0]["blocked"] >= 1 and j["programs"][0]["drops"]["icmpFlood"] > 0' <"$T/ddos.json" |
  grep -qx True || fail "show ddos does not count the block: $(cat "$T/ddos.json")"
pass_step "10.10.1.3 flooded, blocked: in ddos-block with auto and an expiry; its ping fails, others' pass"

gone=
for _ in $(seq 1 80); do
  fosctl -j show set ddos-block >"$T/set.json" || fail "show set ddos-block"
  if [ "$(jq_py '[e for e in j["entries"] if e["cidr"] == "10.10.1.3/32"]' <"$T/set.json")" = "[]" ]; then
    gone=$((SECONDS - t_flood_end))
    break
  fi
  sleep 0.1
done
[ -n "$gone" ] || fail "the automatic entry is still there 8 s after the flood: $(cat "$T/set.json")"
inC ping -c1 -W2 -I 10.10.1.3 10.10.2.2 >/dev/null || fail "10.10.1.3 still cut off after its block expired"
jq_py '[e["cidr"] for e in j["entries"]]' <"$T/set.json" | grep -q "10.10.1.250/32" ||
  fail "the configured entry went with the automatic one: $(cat "$T/set.json")"
pass_step "the block expired (entry gone ${gone}s after the flood) and 10.10.1.3 gets through again"

# --- many sources blocked at once: fwd logs FOS_DDOS_LOG_PER_S (20) of them a
# second one by one and sums up the rest; every one is listed in the set
write_conf "perSource = 50; perSourceBurst = 10; blockDuration = 30;"
out=$(fosctl reload 2>&1) || fail "reload with blockDuration 30 refused: $out"
logged0=$(grep -c "ddos: blocked" "$FWD_LOG")
summed0=$(grep -c "more sources blocked within a second" "$FWD_LOG")
out=$(inC python3 "$TOOLS" flood icmp 10.10.2.2 --src 10.99.0.0/26 --pps 6000 --seconds 2) ||
  fail "the spoofed flood failed: $out"
# the summary is written at the end of its second: wait for the counts to meet
for _ in $(seq 1 50); do
  fosctl -j show set ddos-block >"$T/set.json" || fail "show set ddos-block"
  listed=$(jq_py 'len([e for e in j["entries"] if e["cidr"].startswith("10.99.0.") and e.get("auto")])' <"$T/set.json")
  logged=$(($(grep -c "ddos: blocked" "$FWD_LOG") - logged0))
  summed=$(grep "more sources blocked within a second" "$FWD_LOG" | tail -n +$((summed0 + 1)) |
    awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "more") s += $i } END { print s + 0 }')
  [ $((logged + summed)) -eq "$listed" ] && [ "$summed" -gt 0 ] && break
  sleep 0.1
done
echo "spoofed flood: $out; $listed sources listed, $logged logged one by one, $summed summed up"
[ "$listed" -ge 60 ] || fail "only $listed of the 64 flooding sources were blocked: $(cat "$T/set.json")"
[ "$logged" -le $((20 * 4)) ] || fail "$logged block lines in about 3 s: more than 20 a second"
[ "$summed" -gt 0 ] || fail "no summary of the blocks left out of the log: $(grep ddos: "$FWD_LOG" | tail -5)"
[ $((logged + summed)) -eq "$listed" ] ||
  fail "$logged logged + $summed summed up != $listed blocked"
pass_step "$listed sources blocked at once: $logged logged one by one, $summed summed up"
