#!/usr/bin/env bash
# The control socket under stress: a client that asks for a large streamed
# reply and does not read it must not stall fwd for others; garbage and
# oversized requests get an error and a closed connection, nothing else.
. "$(dirname "$0")/lib.sh"
ip netns add "$NS_R" || fail "cannot create a namespace"
mkdir -p "$PIN" "$T/c" && mount -t bpf bpf "$PIN" || fail "cannot mount bpffs"
python3 -c '
import ipaddress
with open("'"$T"'/c/big.txt", "w") as f:
    for i in range(60000):
        f.write("%s/32\n" % ipaddress.IPv4Address(0x0a000000 + i))
'
printf 'ipSets = ( { name = "big"; file = "big.txt"; } );\n' >"$T/c/fwd.conf"
fwd_start "$T/c/fwd.conf" || fail "fwd did not start"

python3 - "$SOCK" "$FOSCTL" <<'PY' || fail "slow client test failed"
import json, socket, subprocess, sys, time
sock, fosctl = sys.argv[1], sys.argv[2]

def req(method, params=None):
    return json.dumps({"method": method, "parameters": params or {}}).encode() + b"\0"

slow = socket.socket(socket.AF_UNIX)
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.connect(sock)
slow.sendall(req("fos.Show.Set", {"name": "big"}))
time.sleep(0.5)  # fwd has filled the socket buffer and queued the rest

t0 = time.monotonic()
out = subprocess.run([fosctl, "-s", sock, "-j", "show", "status"], capture_output=True, timeout=10)
dt = time.monotonic() - t0
assert out.returncode == 0, out
assert dt < 2.0, "fwd stalled behind a slow reader: %.2fs" % dt
print("ok: show status answered in %.3fs while a client sat on a 60k-entry reply" % dt)

# the slow client still gets every entry, in order, as one stream
buf, parts, entries = b"", 0, 0
while True:
    chunk = slow.recv(1 << 16)
    assert chunk, "connection closed mid-stream"
    buf += chunk
    done = False
    while b"\0" in buf:
        msg, buf = buf.split(b"\0", 1)
        m = json.loads(msg)
        parts += 1
        entries += len(m["parameters"]["entries"])
        if not m.get("continues"):
            done = True
    if done:
        break
assert entries == 60000, entries
assert parts > 1, parts
print("ok: the slow client received %d entries in %d parts" % (entries, parts))

# garbage: an error reply, then the connection is closed
g = socket.socket(socket.AF_UNIX); g.connect(sock)
g.sendall(b"this is not json\0")
m = json.loads(g.recv(65536).split(b"\0")[0])
assert m["error"] == "fos.InvalidParameter", m
assert g.recv(65536) == b"", "connection left open after garbage"
# a request that is not an object, and an unknown method
g = socket.socket(socket.AF_UNIX); g.connect(sock)
g.sendall(b"[1,2]\0")
m = json.loads(g.recv(65536).split(b"\0")[0])
assert m["error"] == "fos.InvalidParameter", m
g = socket.socket(socket.AF_UNIX); g.connect(sock)
g.sendall(req("fos.Nope"))
m = json.loads(g.recv(65536).split(b"\0")[0])
assert m["error"] == "fos.MethodNotFound", m
g.sendall(req("fos.Show.Program", {"name": 5}))
m = json.loads(g.recv(65536).split(b"\0")[0])
assert m["error"] == "fos.InvalidParameter", m
print("ok: bad requests get named errors")

# oversized: more than the cap without a NUL
o = socket.socket(socket.AF_UNIX); o.connect(sock)
try:
    o.sendall(b"{" + b" " * (17 * 1024 * 1024))
except OSError:
    pass
o.settimeout(5)
data = b""
try:
    while True:
        c = o.recv(65536)
        if not c:
            break
        data += c
except OSError:
    pass
assert b"message too large" in data, data[:200]
print("ok: an oversized request is refused")
PY
fosctl show status >/dev/null || fail "fwd did not survive the abuse"
kill -0 "$FWD_PID" || fail "fwd died"
# a feature never configured: its show says so, its clear is refused with why
[ "$(fosctl show nat)" = "no natConfigs" ] || fail "show nat without NAT: $(fosctl show nat)"
out=$(fosctl clear nat 2>&1) && fail "clear nat without NAT succeeded: $out"
echo "$out" | grep -q "NAT is not configured" || fail "clear nat without NAT said: $out"
echo PASS
