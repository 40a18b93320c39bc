#!/usr/bin/env python3
"""What runs on a TC hook, as the kernel says: run in the interface's namespace.

  tc_hooks.py DEV ingress|egress

prints one line per program, in the order the kernel runs them:
  tcx NAME ID            a tcx link's program (BPF_PROG_QUERY of the tcx hook)
  clsact PREF NAME ID    a bpf filter of the clsact qdisc (tc filter show)
Nothing when the hook is empty; exit 2 when the interface does not exist.
"""
import ctypes
import os
import re
import struct
import subprocess
import sys

NR_BPF = 321  # x86_64
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_PROG_QUERY = 16
TCX = {"ingress": 46, "egress": 47}

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    r = libc.syscall(NR_BPF, cmd, buf, len(attr))
    return r, buf.raw


def prog_name(pid):
    r, _ = bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("=III", pid, 0, 0))
    if r < 0:
        return "?"
    info = ctypes.create_string_buffer(256)
    attr = struct.pack("=IIQ", r, 256, ctypes.addressof(info))
    bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    os.close(r)
    return info.raw[64:80].split(b"\0")[0].decode() or "?"


def tcx_progs(ifindex, direction):
    ids = (ctypes.c_uint32 * 64)()
    attr = struct.pack("=IIIIQII QQQQ", ifindex, TCX[direction], 0, 0,
                       ctypes.addressof(ids), 64, 0, 0, 0, 0, 0)
    r, out = bpf(BPF_PROG_QUERY, attr)
    if r < 0:
        return []  # a kernel without tcx
    count = struct.unpack_from("=I", out, 24)[0]
    return [ids[i] for i in range(min(count, 64))]


def main():
    dev, direction = sys.argv[1], sys.argv[2]
    try:
        with open(f"/sys/class/net/{dev}/ifindex") as f:
            ifindex = int(f.read())
    except OSError:
        print(f"tc_hooks: no interface {dev}", file=sys.stderr)
        return 2
    for pid in tcx_progs(ifindex, direction):
        print(f"tcx {prog_name(pid)} {pid}")
    out = subprocess.run(["tc", "filter", "show", "dev", dev, direction],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        pref = re.search(r"pref (\d+) bpf ", line)
        name = re.search(r" name (\S+)", line)
        pid = re.search(r" id (\d+)", line)
        if pref and name and pid:
            print(f"clsact {pref.group(1)} {name.group(1)} {pid.group(1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
