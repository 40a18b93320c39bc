#!/usr/bin/env bash
# A spoofed SYN flood through the router: an xdp program on r-cli with
# synFloodProtection always on answers every SYN of a source that has not
# proved itself with a SYN cookie, and a stateful tc-ingress firewall on the
# same interface keeps a connection table. The flood (bench-gen, TCP SYNs at
# full rate from random sources in 198.18.128.0/17, sent from the client
# namespace) reaches neither the server nor the table, while the real client
# makes 1000 connections to the server and 100 to a service on the router
# itself, nearly all of which succeed.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
command -v nft >/dev/null || skip "nft missing"
command -v tc >/dev/null || skip "tc missing"
GEN=${BENCH_GEN:-}
[ -x "$GEN" ] || skip "bench-gen is not built (${GEN:-BENCH_GEN unset})"
TOOLS="$(dirname "$0")/ddos_tools.py"
ECHO="$(dirname "$0")/ct_tools.py"
SPOOF=198.18.128.0/17
N_CONNECTS=${FOS_DDOS_CONNECTS:-1000}
trap 'stop_flood; e2e_cleanup' EXIT

e2e_lab
e2e_flood_client "$SPOOF"
# the server counts the SYNs that reach it, by source
inS nft -f - <<'EOF' || fail "nft counters in the server namespace"
table inet cnt {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp flags & (syn | ack) == syn ip saddr 198.18.128.0/17 counter
		tcp flags & (syn | ack) == syn ip saddr 10.10.1.2 counter
	}
}
EOF
spoofed_at_server() {
  inS nft list chain inet cnt in | awk '/198.18.128.0/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
mkdir -p "$T/s" "$T/r"
inS python3 "$ECHO" echo "$T/s" tcp:7000 >>"$T/echo-s.log" 2>&1 &
inR python3 "$ECHO" echo "$T/r" tcp:2222 >>"$T/echo-r.log" 2>&1 &
for _ in $(seq 1 100); do
  [ -f "$T/s/echo.ready" ] && [ -f "$T/r/echo.ready" ] && break
  sleep 0.1
done

cat >"$T/fwd.conf" <<'EOF'
programs = (
	{
		name = "ddos-protection";
		type = "xdp";
		interface = "r-cli";
		priority = 10;
		settings = {
			synFloodProtection = { enabled = true; always = true; authTimeout = 300; };
			actions = { default = "pass"; };
		};
	},
	{
		name = "edge-fw";
		type = "tc-ingress";
		interface = "r-cli";
		priority = 20;
		settings = {
			stateful = true;
			actions = { default = "pass"; };
		};
	}
);
EOF
fwd_start "$T/fwd.conf" || fail "fwd did not start"
fosctl -j show ddos >"$T/ddos.json" || fail "fosctl show ddos: $(cat "$T/ddos.json")"
jq_py '[(p["name"], p["interface"], p["protections"]["synFloodProtection"]["armed"], p["protections"]["synFloodProtection"]["always"]) for p in j["programs"]]' \
  <"$T/ddos.json" | grep -q "('ddos-protection', 'r-cli', True, True)" ||
  fail "show ddos does not list the armed protection: $(cat "$T/ddos.json")"
pass_step "fwd runs ddos-protection (xdp) and edge-fw (stateful tc-ingress) on r-cli"

# --- before the flood: the client proves itself with its first connection ----
out=$(inC python3 "$TOOLS" connects 10.10.2.2 7000 10 --timeout 5) || fail "connects: $out"
echo "$out" | jq_py 'j["ok"]' | grep -qx 10 || fail "10 connections before the flood: $out"
fosctl -j show ddos ddos-protection >"$T/ddos.json" || fail "show ddos ddos-protection"
proved0=$(jq_py 'j["programs"][0]["cookies"]["proved"]' <"$T/ddos.json")
sent0=$(jq_py 'j["programs"][0]["cookies"]["sent"]' <"$T/ddos.json")
[ "$proved0" -ge 1 ] && [ "$sent0" -ge 1 ] ||
  fail "the client's first SYN got no cookie or the client was not proved: $(cat "$T/ddos.json")"
pass_step "the client's first SYN was answered with a cookie ($sent0 sent) and it proved itself ($proved0)"

# --- the flood ---------------------------------------------------------------
RCLI_MAC=$(inR cat /sys/class/net/r-cli/address)
# ip netns exec execs bench-gen: $! is the generator
ip netns exec "$NS_C" "$GEN" -i eth0 -m syn -t 300 --src-prefix "$SPOOF" --daddr 10.10.2.2 \
  --dport 7000 --dst-mac "$RCLI_MAC" >"$T/gen.out" 2>&1 &
GEN_PID=$!
sleep 1
kill -0 "$GEN_PID" 2>/dev/null || fail "bench-gen stopped: $(cat "$T/gen.out")"

inC python3 "$TOOLS" connects 10.10.2.2 7000 "$N_CONNECTS" --timeout 5 --out "$T/legit.json" \
  >/dev/null || fail "the client's connections failed to run"
inC python3 "$TOOLS" connects 10.10.1.1 2222 100 --timeout 5 --out "$T/router.json" \
  >/dev/null || fail "the connections to the router failed to run"
fosctl -j show ddos ddos-protection >"$T/ddos.json" || fail "show ddos during the flood"
fosctl -j show conntrack src "$SPOOF" limit 100 >"$T/ct-spoof.json" || fail "show conntrack src $SPOOF"
fosctl -j show conntrack summary >"$T/ct-sum.json" || fail "show conntrack summary"
kill -0 "$GEN_PID" 2>/dev/null || fail "bench-gen stopped during the test: $(cat "$T/gen.out")"
stop_flood
frames=$(awk '/^frames / {print $2}' "$T/gen.out")
echo "flood: $(cat "$T/gen.out")"
echo "client to the server: $(cat "$T/legit.json")"
echo "client to the router: $(cat "$T/router.json")"
[ "${frames:-0}" -gt 100000 ] || fail "the flood sent only ${frames:-0} SYNs: $(cat "$T/gen.out")"

ok=$(jq_py 'j["ok"]' <"$T/legit.json")
[ $((ok * 100)) -ge $((N_CONNECTS * 99)) ] ||
  fail "only $ok of $N_CONNECTS connections to the server succeeded under the flood: $(cat "$T/legit.json")"
pass_step "$ok of $N_CONNECTS connections to the server succeeded under a flood of $frames SYNs"
ok_r=$(jq_py 'j["ok"]' <"$T/router.json")
[ "$ok_r" -ge 99 ] || fail "only $ok_r of 100 connections to the router succeeded: $(cat "$T/router.json")"
pass_step "$ok_r of 100 connections to the router's own service succeeded"

# --- what the counters say -----------------------------------------------------
jq_py 'j["programs"][0]["protections"]["synFloodProtection"]["engaged"]' <"$T/ddos.json" |
  grep -qx True || fail "synFloodProtection not engaged during the flood: $(cat "$T/ddos.json")"
sent=$(jq_py 'j["programs"][0]["cookies"]["sent"]' <"$T/ddos.json")
proved=$(jq_py 'j["programs"][0]["cookies"]["proved"]' <"$T/ddos.json")
synd=$(jq_py 'j["programs"][0]["drops"]["synFlood"]' <"$T/ddos.json")
[ "$sent" -gt 100000 ] || fail "cookies sent $sent during a flood of $frames SYNs: $(cat "$T/ddos.json")"
[ "$proved" -ge 1 ] || fail "no source proved: $(cat "$T/ddos.json")"
[ "$synd" -gt 100000 ] || fail "drops.synFlood $synd: $(cat "$T/ddos.json")"
pass_step "show ddos: engaged, cookies sent $sent, proved $proved, synFlood drops $synd"

spoof_ct=$(jq_py 'j["matched"]' <"$T/ct-spoof.json")
[ "$spoof_ct" -le 5 ] ||
  fail "$spoof_ct flows from the spoofed prefix in the connection table: $(cat "$T/ct-spoof.json")"
entries=$(jq_py 'j["entries"]' <"$T/ct-sum.json")
syn_sent=$(jq_py 'sum(p["states"].get("syn_sent", 0) for p in j["protocols"])' <"$T/ct-sum.json")
[ "$entries" -le $((N_CONNECTS + 200)) ] ||
  fail "the connection table holds $entries entries after $N_CONNECTS connections: $(cat "$T/ct-sum.json")"
[ "$syn_sent" -le 5 ] || fail "$syn_sent entries in syn_sent: $(cat "$T/ct-sum.json")"
at_server=$(spoofed_at_server)
[ "${at_server:-0}" -le 5 ] || fail "$at_server spoofed SYNs reached the server"
pass_step "the table holds $entries entries ($spoof_ct from the flood, $syn_sent in syn_sent); $at_server spoofed SYNs reached the server"
