#!/bin/bash
# NAT's IPC methods fuzzed on a running fwd: fos.Show.Nat and fos.Clear.Nat
# with parameters of every JSON type, random filter values (names,
# addresses, CIDRs, protocols, out-of-range numbers, long strings) and
# unknown keys, 1500 requests from a fixed seed. Every request gets one
# reply: a result, or an error with a message; fwd stays up; a refused
# clear removes nothing; and at the end the port map still forwards (a
# clear never ends a port map) and the NAT state is consistent.
. "$(dirname "$0")/lib.sh"
TOOLS="$(dirname "$0")/nat_tools.py"

e2e_lab
servers_start tcp:80
inC python3 "$TOOLS" serve "$T" tcp:7000 udp:7001 >>"$T/nat-serve.log" 2>&1 &
for _ in $(seq 1 50); do [ -f "$T/nat.ready" ] && break; sleep 0.1; done
[ -f "$T/nat.ready" ] || fail "the outside peer did not start"
cat >"$T/fwd.conf" <<EOF
natConfigs = ( {
  name = "fuzz-nat";
  interfaces = { source = "r-srv"; destination = "r-cli"; };
  type = "masquerade";
  ipVersion = "both";
  portMappings = ( { protocol = "tcp"; internalIP = "10.10.2.2"; internalPort = 80; externalPort = 8080; } );
} );
EOF
fwd_start "$T/fwd.conf" || fail "fwd did not start"
for p in 41000 41001 41002; do
  inS python3 "$TOOLS" udp 10.10.1.2 7001 "$p" >/dev/null || fail "udp out"
done

python3 - "$SOCK" <<'PY' || fail "the NAT methods misbehaved under fuzzing"
import json, random, socket, sys

sock_path = sys.argv[1]
rnd = random.Random(12)

def call(method, params):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(json.dumps({"method": method, "parameters": params}).encode() + b"\0")
    data = b""
    while not data.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    msgs = [json.loads(m) for m in data.split(b"\0") if m]
    return msgs

values = [None, True, False, 0, -1, 1, 2**31, 2**63 - 1, -2**63, 1.5, "", "x" * 5000,
          "fuzz-nat", "nope", "udp", "tcp", "icmp", "sctp", "17", "10.10.2.2", "10.10.2.0/24",
          "10.10.2.2/33", "::/0", "fd00:10:2::2/128", "0.0.0.0/0", "300.1.1.1/8", "a/b",
          "\u00e9\u0000z", [], [1, 2], {}, {"a": 1}]
keys = ["config", "address", "protocol", "mappings", "limit", "name", "bogus", ""]

def params():
    p = {}
    for _ in range(rnd.randrange(0, 4)):
        p[rnd.choice(keys)] = rnd.choice(values)
    return p

def mappings():
    r = call("fos.Show.Nat", {"mappings": True})
    assert len(r) == 1 and "parameters" in r[0], r
    return r[0]["parameters"]

before = mappings()
statics0 = sorted(json.dumps(m, sort_keys=True) for m in before["mappings"] if m["static"])
assert statics0, "no port map among the mappings"
errors = results = 0
for i in range(1500):
    method = rnd.choice(["fos.Show.Nat", "fos.Clear.Nat"])
    p = params()
    if rnd.random() < 0.1:
        p = rnd.choice(values)  # parameters that are not an object
    n0 = len(mappings()["mappings"]) if method == "fos.Clear.Nat" else None
    r = call(method, p)
    assert len(r) >= 1, "no reply to %s %r" % (method, p)
    last = r[-1]
    if "error" in last:
        errors += 1
        msg = last.get("parameters", {}).get("message") or last.get("message") or ""
        assert isinstance(msg, str) and msg.strip(), "an error without a message: %r" % last
        if method == "fos.Clear.Nat":
            n1 = len(mappings()["mappings"])
            assert n1 == n0, "a refused clear (%r) changed the mappings: %d -> %d" % (p, n0, n1)
    else:
        results += 1
        assert "parameters" in last, "a reply with neither result nor error: %r" % last
now = mappings()
statics1 = sorted(json.dumps(m, sort_keys=True) for m in now["mappings"] if m["static"])
assert statics1 == statics0, "a clear ended a port map"
assert errors > 100 and results > 100, "errors %d results %d: the fuzzer missed a side" % (errors, results)
print("fuzzed: %d errors, %d results" % (errors, results))
PY
pass_step "1500 fuzzed NAT requests: one clear reply each, nothing refused changed anything"

kill -0 "$FWD_PID" || fail "fwd died"
tcp_pass 10.10.1.1 8080 || fail "the port map stopped forwarding"
out=$(inS python3 "$TOOLS" udp 10.10.1.2 7001 41005) || fail "udp after the fuzzing"
[ "$out" = "10.10.1.1 41005" ] || fail "masquerade after the fuzzing: $out"
pass_step "fwd up, the port map and masquerade work after the fuzzing"
echo "PASS"
