#!/usr/bin/env bash
# rateLimiting on the router's r-cli (xdp), per source: packetsPerSecond with
# its burst cuts a source sending UDP over its rate down to the rate while a
# second source under it loses nothing; connectionsPerSecond lets a SYN flood
# from one source through at the configured rate while the other source's
# connections go through at once; `show ddos top` names the offender first.
# Then configs an operator can get wrong (a zero or negative rate, burst 0,
# an unknown protection, enabled missing) are refused by `fosctl reload` with
# FILE:LINE and the setting, and the running program carries on unchanged.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
command -v nft >/dev/null || skip "nft missing"
TOOLS="$(dirname "$0")/ddos_tools.py"
ECHO="$(dirname "$0")/ct_tools.py"
PPS=500
BURST=100
CPS=20
CBURST=10

e2e_lab
inC ip addr add 10.10.1.3/24 dev eth0 || fail "second client address"
inS nft -f - <<'EOF' || fail "nft counters in the server namespace"
table inet cnt {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 5353 ip saddr 10.10.1.2 counter
		udp dport 5353 ip saddr 10.10.1.3 counter
		tcp dport 7000 tcp flags & (syn | ack) == syn ip saddr 10.10.1.2 counter
		tcp dport 7000 tcp flags & (syn | ack) == syn ip saddr 10.10.1.3 counter
	}
}
EOF
seen() { # "udp|tcp" source -> packets the server counted
  inS nft list chain inet cnt in |
    awk -v p="$1" -v a="$2" '$0 ~ p " dport" && $0 ~ "saddr " a " " { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
mkdir -p "$T/s"
inS python3 "$ECHO" echo "$T/s" tcp:7000 udp:5353 >>"$T/echo-s.log" 2>&1 &
for _ in $(seq 1 100); do [ -f "$T/s/echo.ready" ] && break; sleep 0.1; done

CFG="$T/fwd.conf"
cat >"$CFG" <<EOF
programs = (
	{
		name = "ddos-protection";
		type = "xdp";
		interface = "r-cli";
		settings = {
			rateLimiting = {
				enabled = true;
				packetsPerSecond = $PPS;
				burst = $BURST;
				connectionsPerSecond = $CPS;
				connectionsBurst = $CBURST;
			};
			actions = { default = "pass"; };
		};
	}
);
EOF
cp "$CFG" "$T/good.conf"
fwd_start "$CFG" || fail "fwd did not start"
fosctl -j show ddos >"$T/ddos.json" || fail "show ddos"
jq_py '(lambda r: (r["armed"], r["packetsPerSecond"], r["burst"], r["connectionsPerSecond"], r["connectionsBurst"]))(j["programs"][0]["protections"]["rateLimiting"])' \
  <"$T/ddos.json" | grep -q "(True, $PPS, $BURST, $CPS, $CBURST)" ||
  fail "show ddos does not show rateLimiting as configured: $(cat "$T/ddos.json")"

# --- packetsPerSecond: one source over its rate, one under --------------------
a0=$(seen udp 10.10.1.3); b0=$(seen udp 10.10.1.2)
inC python3 "$TOOLS" flood udp 10.10.2.2 --src 10.10.1.3 --dport 5353 --pps 2000 --seconds 3 \
  >"$T/flood-a.out" 2>&1 &
fa=$!
inC python3 "$TOOLS" flood udp 10.10.2.2 --src 10.10.1.2 --dport 5353 --pps 200 --seconds 3 \
  >"$T/flood-b.out" 2>&1 || fail "the flood from 10.10.1.2 failed: $(cat "$T/flood-b.out")"
wait $fa || fail "the flood from 10.10.1.3 failed: $(cat "$T/flood-a.out")"
sleep 0.5
a=$(($(seen udp 10.10.1.3) - a0)); b=$(($(seen udp 10.10.1.2) - b0))
read -r _ sent_a _ secs_a <"$T/flood-a.out"
read -r _ sent_b _ _ <"$T/flood-b.out"
expect_a=$(awk -v r=$PPS -v s="$secs_a" -v b=$BURST 'BEGIN { printf "%d", r * s + b }')
echo "10.10.1.3 sent $sent_a in ${secs_a}s, $a arrived (expected $expect_a); 10.10.1.2 sent $sent_b, $b arrived"
[ $((a * 100)) -ge $((expect_a * 85)) ] && [ $((a * 100)) -le $((expect_a * 115)) ] ||
  fail "$a of 10.10.1.3's $sent_a datagrams arrived, expected $expect_a +-15%"
[ $((b * 100)) -ge $((sent_b * 98)) ] || fail "only $b of 10.10.1.2's $sent_b datagrams arrived (under its rate)"
pass_step "packetsPerSecond $PPS burst $BURST: 10.10.1.3 limited ($a of $sent_a), 10.10.1.2 untouched ($b of $sent_b)"

# --- connectionsPerSecond ---------------------------------------------------------
sleep 1
a0=$(seen tcp 10.10.1.3); b0=$(seen tcp 10.10.1.2)
inC python3 "$TOOLS" flood syn 10.10.2.2 --src 10.10.1.3 --dport 7000 --pps 200 --seconds 3 \
  >"$T/flood-c.out" 2>&1 &
fc=$!
sleep 0.5
out=$(inC python3 "$TOOLS" connects 10.10.2.2 7000 5 --src 10.10.1.2 --timeout 5) ||
  fail "connects from 10.10.1.2: $out"
wait $fc || fail "the SYN flood from 10.10.1.3 failed: $(cat "$T/flood-c.out")"
sleep 0.5
a=$(($(seen tcp 10.10.1.3) - a0)); b=$(($(seen tcp 10.10.1.2) - b0))
read -r _ sent_c _ secs_c <"$T/flood-c.out"
expect_c=$(awk -v r=$CPS -v s="$secs_c" -v b=$CBURST 'BEGIN { printf "%d", r * s + b }')
echo "10.10.1.3 sent $sent_c SYNs in ${secs_c}s, $a arrived (expected $expect_c); 10.10.1.2: $out"
[ $((a * 100)) -ge $((expect_c * 80)) ] && [ $((a * 100)) -le $((expect_c * 120)) ] ||
  fail "$a of 10.10.1.3's $sent_c SYNs arrived, expected $expect_c +-20%"
echo "$out" | jq_py 'j["ok"] == 5 and j["ms"]["max"] < 900' | grep -qx True ||
  fail "10.10.1.2's connections were held up by another source's SYN flood: $out"
[ "$b" = 5 ] || fail "10.10.1.2's 5 connections made $b SYNs at the server (a SYN was dropped and resent)"
pass_step "connectionsPerSecond $CPS: 10.10.1.3's SYNs limited ($a of $sent_c), 10.10.1.2's connections at once"

# --- show ddos top ----------------------------------------------------------------
fosctl -j show ddos top >"$T/top.json" || fail "show ddos top: $(cat "$T/top.json")"
jq_py '(j["sources"][0]["source"], j["sources"][0]["program"], j["sources"][0]["drops"]["rate"] > 0, j["sources"][0]["drops"]["connRate"] > 0)' \
  <"$T/top.json" | grep -q "('10.10.1.3/32', 'ddos-protection', True, True)" ||
  fail "show ddos top does not list 10.10.1.3 first with rate and connRate drops: $(cat "$T/top.json")"
jq_py '[s["source"] for s in j["sources"]]' <"$T/top.json" | grep -q "10.10.1.2/32" &&
  fail "show ddos top lists 10.10.1.2, which nothing dropped: $(cat "$T/top.json")"
fosctl show ddos top >"$T/top.txt" || fail "show ddos top (text)"
head -n 2 "$T/top.txt" | grep -q "10.10.1.3" || fail "show ddos top (text): $(cat "$T/top.txt")"
pass_step "show ddos top lists 10.10.1.3/32 first"

# --- configs an operator can get wrong: refused, nothing changes -------------------
gen0=$(fosctl -j show status | jq_py 'j["generation"]')
pgen0=$(fosctl -j show program ddos-protection | jq_py 'j["generation"]')
progs0=$(fosctl -j show programs | jq_py '[(p["name"], p["type"], p["interface"], p["progId"], p["attached"]) for p in j["programs"]]')
bad() { # sed-expression pattern-of-the-line expected-message
  cp "$T/good.conf" "$CFG"
  sed -i "$1" "$CFG"
  local line out rc
  line=$(grep -n "$2" "$CFG" | head -n 1 | cut -d: -f1)
  [ -n "$line" ] || fail "bad config $1: no line matches $2"
  out=$(fosctl reload 2>&1); rc=$?
  [ $rc != 0 ] || fail "reload of a config with $1 was accepted"
  echo "$out" | grep -q "fwd.conf:$line:.*$3" ||
    fail "reload with $1: expected fwd.conf:$line: ... $3, got: $out"
  [ "$(fosctl -j show status | jq_py 'j["generation"]')" = "$gen0" ] ||
    fail "the generation changed on a refused reload ($1)"
  echo "  refused: $(echo "$out" | grep -o "fwd.conf:$line:.*" | head -n 1)"
}
bad "s/packetsPerSecond = $PPS;/packetsPerSecond = 0;/" "packetsPerSecond = 0" \
  "rateLimiting.packetsPerSecond.*must be 1-1000000000"
bad "s/packetsPerSecond = $PPS;/packetsPerSecond = -5;/" "packetsPerSecond = -5" \
  "rateLimiting.packetsPerSecond.*must be 1-1000000000"
bad "s/burst = $BURST;/burst = 0;/" "[^s]burst = 0" "rateLimiting.burst.*must be 1-1000000000"
bad "s/connectionsPerSecond = $CPS;/connectionsPerSecond = -1;/" "connectionsPerSecond = -1" \
  "rateLimiting.connectionsPerSecond.*must be 1-1000000000"
bad "s/actions = {/tcpFloodProtection = { enabled = true; perSource = 10; };\n\t\t\tactions = {/" \
  "tcpFloodProtection" "tcpFloodProtection.*unknown"
bad "s/enabled = true;//" "rateLimiting = {" "rateLimiting.*enabled is required"
cp "$T/good.conf" "$CFG"
[ "$(fosctl -j show program ddos-protection | jq_py 'j["generation"]')" = "$pgen0" ] ||
  fail "the program's generation changed on refused reloads"
[ "$(fosctl -j show programs | jq_py '[(p["name"], p["type"], p["interface"], p["progId"], p["attached"]) for p in j["programs"]]')" = "$progs0" ] ||
  fail "show programs changed on refused reloads"
# the running limits still hold, and their counters carry on
d0=$(fosctl -j show ddos | jq_py 'j["programs"][0]["drops"]["rate"]')
inC python3 "$TOOLS" flood udp 10.10.2.2 --src 10.10.1.3 --dport 5353 --pps 2000 --seconds 1 \
  >/dev/null || fail "flood after the refused reloads"
d1=$(fosctl -j show ddos | jq_py 'j["programs"][0]["drops"]["rate"]')
[ "$d1" -gt $((d0 + 1000)) ] || fail "drops.rate went from $d0 to $d1 with 2000 pps against $PPS after refused reloads"
pass_step "bad rates, burst 0, an unknown protection and a missing enabled refused; limits and counters carry on ($d0 -> $d1)"
