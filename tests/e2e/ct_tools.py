#!/usr/bin/env python3
"""Traffic for the connection-tracking e2e tests. Every address is one the
test's own namespaces hold.

  ct_tools.py echo DIR tcp:PORT udp:PORT ...
      dual-stack echo servers; DIR/echo.ready once listening
  ct_tools.py stream ADDR PORT SECONDS OUT
      one TCP connection to an echo server, a line every 0.1 s; writes
      "<sent> <echoed>" to OUT after every line, so a test can watch a
      connection that must stay alive
  ct_tools.py udp-ask ADDR PORT SPORT
      one datagram from source port SPORT; exit 0 if an answer came back in 2 s
  ct_tools.py udp-listen PORT SECONDS OUT
      count the datagrams arriving on PORT for SECONDS; write the count to OUT
  ct_tools.py udp-send ADDR PORT SPORT [COUNT]
      COUNT datagrams (default 1) from source port SPORT, no answer awaited
  ct_tools.py udp-flows ADDR PORT N
      N datagrams, each from its own source port (N new flows)
  ct_tools.py refused ADDR PORT
      one datagram to a closed port; exit 0 if the ICMP port unreachable came
      back (ECONNREFUSED), 1 if nothing did in 2 s
"""
import os
import selectors
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo(d, specs):
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
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", proto))
    open(os.path.join(d, "echo.ready"), "w").close()
    while True:
        for key, _ in sel.select():
            what, proto = key.data
            s = key.fileobj
            if what == "listen" and proto == "udp":
                data, peer = s.recvfrom(65535)
                s.sendto(data, peer)
            elif what == "listen":
                c, _ = s.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, ("conn", "tcp"))
            else:
                try:
                    data = s.recv(65535)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    s.close()
                else:
                    s.sendall(data)


def stream(addr, port, seconds, out):
    s = socket.create_connection((addr, int(port)), timeout=3)
    s.settimeout(0.5)
    sent = echoed = 0
    end = time.time() + float(seconds)
    buf = b""
    while time.time() < end:
        s.sendall(b"x\n")
        sent += 1
        try:
            buf += s.recv(4096)
        except socket.timeout:
            pass
        except OSError:
            break
        echoed = buf.count(b"\n")
        with open(out + ".tmp", "w") as f:
            f.write("%d %d\n" % (sent, echoed))
        os.replace(out + ".tmp", out)
        time.sleep(0.1)
    s.close()


def udp_sock(addr, sport):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if ":" in addr else "0.0.0.0", int(sport)))
    return s


def udp_ask(addr, port, sport):
    s = udp_sock(addr, sport)
    s.settimeout(2)
    s.sendto(b"ask\n", (addr, int(port)))
    try:
        s.recvfrom(65535)
        return 0
    except OSError:
        return 1


def udp_listen(port, seconds, out):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", int(port)))
    open(out + ".ready", "w").close()
    n = 0
    end = time.time() + float(seconds)
    while True:
        left = end - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            s.recvfrom(65535)
            n += 1
        except socket.timeout:
            break
    with open(out, "w") as f:
        f.write("%d\n" % n)


def udp_send(addr, port, sport, count=1):
    s = udp_sock(addr, sport)
    for _ in range(int(count)):
        s.sendto(b"push\n", (addr, int(port)))
        time.sleep(0.05)
    return 0


def udp_flows(addr, port, n):
    socks = []
    for _ in range(int(n)):
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.sendto(b"flow\n", (addr, int(port)))
        socks.append(s)
    return 0


def refused(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    s.settimeout(2)
    s.send(b"anyone?\n")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        return 0
    except OSError:
        return 1
    return 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo":
        echo(args[0], args[1:])
    elif cmd == "stream":
        stream(*args)
    elif cmd == "udp-ask":
        sys.exit(udp_ask(*args))
    elif cmd == "udp-listen":
        udp_listen(*args)
    elif cmd == "udp-send":
        sys.exit(udp_send(*args))
    elif cmd == "udp-flows":
        sys.exit(udp_flows(*args))
    elif cmd == "refused":
        sys.exit(refused(*args))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
