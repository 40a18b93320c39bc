#!/usr/bin/env python3
"""Test servers for the e2e lab: dual-stack TCP listeners that answer "hello"
and UDP sinks that append every datagram to LOGDIR/udp-PORT.
Usage: servers.py LOGDIR tcp:PORT udp:PORT ..."""
import os
import selectors
import socket
import sys

logdir = sys.argv[1]
sel = selectors.DefaultSelector()
for spec in sys.argv[2:]:
    proto, port = spec.split(":")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", int(port)))
    if proto == "tcp":
        s.listen(64)
    sel.register(s, selectors.EVENT_READ, (proto, int(port)))
open(os.path.join(logdir, "servers.ready"), "w").close()
while True:
    for key, _ in sel.select():
        proto, port = key.data
        if proto == "tcp":
            c, _ = key.fileobj.accept()
            try:
                c.sendall(b"hello\n")
            finally:
                c.close()
        else:
            data, peer = key.fileobj.recvfrom(65535)
            with open(os.path.join(logdir, "udp-%d" % port), "ab") as f:
                f.write(data + b"\n")
