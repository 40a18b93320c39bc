#!/usr/bin/env python3
"""Peers for the NAT tests: they say what address the other end has.

  nat_tools.py serve DIR tcp:PORT udp:PORT ...
      dual-stack listeners; each TCP connection and each UDP datagram gets
      back "PEER_ADDR PEER_PORT"; TCP connections stay open and answer every
      line the same way (a long-lived flow); DIR/nat.ready once listening
  nat_tools.py tcp HOST PORT [SPORT]       one connection, prints the answer
  nat_tools.py udp HOST PORT [SPORT [SIZE]] one datagram (of SIZE bytes, which
      may be fragmented), prints the answer's first line; a datagram of more
      than 100 bytes is answered with one as long, or exit status 1
  nat_tools.py hold HOST PORT FIFO_DIR     a TCP connection kept open: a line
      written to FIFO_DIR/in is sent, the answer appended to FIFO_DIR/out
Exit status 1 when no answer came within 3 s.
"""
import os
import selectors
import socket
import sys


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve(logdir, specs):
    sel = selectors.DefaultSelector()
    for spec in specs:
        proto, port = spec.split(":")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", int(port)))
        if proto == "tcp":
            s.listen(64)
        sel.register(s, selectors.EVENT_READ, ("listen", proto))
    open(os.path.join(logdir, "nat.ready"), "w").close()

    def peer(a):
        host = a[0]
        if host.startswith("::ffff:"):
            host = host[7:]
        return ("%s %d\n" % (host, a[1])).encode()

    while True:
        for key, _ in sel.select():
            what, proto = key.data
            s = key.fileobj
            if what == "listen" and proto == "tcp":
                c, a = s.accept()
                c.sendall(peer(a))
                sel.register(c, selectors.EVENT_READ, ("conn", peer(a)))
            elif what == "listen":
                data, a = s.recvfrom(65535)
                ans = peer(a)
                if len(data) > 100:
                    ans += b"." * (len(data) - len(ans))
                s.sendto(ans, a)
            else:
                try:
                    data = s.recv(65535)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    s.close()
                else:
                    s.sendall(proto)


def one(proto, host, port, sport, size=0):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(host), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(3)
    if sport:
        s.bind(("::" if ":" in host else "0.0.0.0", sport))
    try:
        if proto == "tcp":
            s.connect((host, port))
            data = s.recv(200)
        else:
            s.sendto(b"x" * (size or 1), (host, port))
            data, _ = s.recvfrom(65535)
    except OSError as e:
        print("no answer: %s" % e, file=sys.stderr)
        return 1
    if size > 100 and len(data) != size:
        print("an answer of %d bytes to %d" % (len(data), size), file=sys.stderr)
        return 1
    print(data.decode().split("\n")[0].strip())
    return 0


def hold(host, port, d):
    s = socket.create_connection((host, port), timeout=5)
    s.settimeout(5)
    first = s.recv(200)
    with open(os.path.join(d, "out"), "ab") as f:
        f.write(first)
    fifo = os.path.join(d, "in")
    os.mkfifo(fifo)
    open(os.path.join(d, "ready"), "w").close()
    while True:
        with open(fifo) as f:
            for line in f:
                s.sendall(line.encode())
                try:
                    data = s.recv(200)
                except OSError as e:
                    data = ("error %s\n" % e).encode()
                if not data:
                    data = b"closed\n"
                with open(os.path.join(d, "out"), "ab") as o:
                    o.write(data)


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], sys.argv[3:])
    elif cmd in ("tcp", "udp"):
        sport = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        size = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        sys.exit(one(cmd, sys.argv[2], int(sys.argv[3]), sport, size))
    elif cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
