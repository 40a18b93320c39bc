#!/usr/bin/env python3
"""Traffic for the DDoS e2e tests and bench/bench_ddos.sh. Every address sent
to is one the test's own namespaces hold; spoofed sources come from a prefix
the test routes inside its lab.

  ddos_tools.py connects ADDR PORT N [--src ADDR] [--timeout S] [--max-seconds S]
                        [--out FILE]
      N TCP connections one after another: connect, send a line, read the
      echo, close; with --max-seconds none is started after S seconds.
      Prints (and writes to FILE) one JSON object: ok, failed, ms (median,
      p99 and max of the successful ones), seconds, and "cut": the
      connections not tried for --max-seconds.
  ddos_tools.py flood MODE DST [--src ADDR|CIDR] [--dport P] --pps N --seconds S
      MODE icmp (echo requests), syn (TCP SYNs) or udp, from a raw socket at N
      packets per second for S seconds (a packet the socket refuses is
      not counted). --src may be a prefix: then every
      packet has a random source address inside it; SYNs have random source
      ports and sequence numbers. Prints "sent N seconds S".
"""
import argparse
import ipaddress
import json
import random
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                      64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def icmp_echo(src, dst, n):
    data = bytes(range(16))
    h = struct.pack("!BBHHH", 8, 0, 0, 0x4242, n & 0xFFFF) + data
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    return ipv4(src, dst, socket.IPPROTO_ICMP, h, n)


def tcp_syn(src, dst, sport, dport, seq):
    opt = struct.pack("!BBH", 2, 4, 1460)
    h = struct.pack("!HHIIHHHH", sport, dport, seq, 0, (6 << 12) | 0x02, 64240, 0, 0) + opt
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(h))
    h = h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]
    return ipv4(src, dst, socket.IPPROTO_TCP, h, seq)


def udp(src, dst, sport, dport, n):
    data = b"flood %d\n" % n
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return ipv4(src, dst, socket.IPPROTO_UDP, h, n)


def flood(a):
    net = ipaddress.ip_network(a.src, strict=False)
    base, size = int(net.network_address), net.num_addresses
    dst = socket.inet_aton(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rnd = random.Random()
    sent = errors = 0
    t0 = time.monotonic()
    end = t0 + a.seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = min(int((now - t0) * a.pps) + 1, int(a.seconds * a.pps))
        while sent < due:
            src = (base + rnd.randrange(size)) if size > 1 else base
            src = struct.pack("!I", src)
            if a.mode == "icmp":
                p = icmp_echo(src, dst, sent)
            elif a.mode == "syn":
                p = tcp_syn(src, dst, rnd.randrange(1024, 65536), a.dport, rnd.getrandbits(32))
            else:
                p = udp(src, dst, 40000 + sent % 1000, a.dport, sent)
            try:
                s.sendto(p, (a.dst, 0))
            except OSError:
                errors += 1
            sent += 1
        time.sleep(0.0005)
    print("sent %d seconds %.3f" % (sent - errors, time.monotonic() - t0))


def connects(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ok, failed, times = 0, 0, []
    errors = {}
    t0 = time.monotonic()
    cut = 0
    for i in range(a.n):
        line = b"ping %d\n" % i
        t = time.monotonic()
        if a.max_seconds and t - t0 >= a.max_seconds:
            cut = a.n - i
            break
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as c:
                c.settimeout(a.timeout)
                if a.src:
                    c.bind((a.src, 0))
                c.connect((a.addr, a.port))
                c.sendall(line)
                got = b""
                while not got.endswith(b"\n"):
                    d = c.recv(256)
                    if not d:
                        break
                    got += d
            if got != line:
                raise ValueError("answer %r" % got)
            ok += 1
            times.append((time.monotonic() - t) * 1000)
        except (OSError, ValueError) as e:
            failed += 1
            k = type(e).__name__
            errors[k] = errors.get(k, 0) + 1
    times.sort()

    def pct(p):
        return round(times[min(len(times) - 1, int(len(times) * p))], 2) if times else None

    out = {"ok": ok, "failed": failed, "errors": errors,
           "ms": {"median": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
           "seconds": round(time.monotonic() - t0, 3), "cut": cut}
    print(json.dumps(out))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("connects")
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("n", type=int)
    c.add_argument("--src")
    c.add_argument("--timeout", type=float, default=3.0)
    c.add_argument("--max-seconds", type=float, default=0)
    c.add_argument("--out")
    f = sub.add_parser("flood")
    f.add_argument("mode", choices=["icmp", "syn", "udp"])
    f.add_argument("dst")
    f.add_argument("--src", required=True)
    f.add_argument("--dport", type=int, default=9)
    f.add_argument("--pps", type=float, required=True)
    f.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args()
    if a.cmd == "connects":
        connects(a)
    else:
        flood(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
