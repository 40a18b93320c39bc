#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Prove that a build used only what tests/install-deps.sh installs.

Every header the compilers read (ninja's dependency log, the BPF objects'
depfiles included), every file the linker read (each link command is run
again with -Wl,--trace) and every program the build ran must belong to a
Debian package that tests/install-deps.sh installs, to one of their
dependencies (as apt-get install --no-install-recommends pulls them in), or
to a package that every Debian system has (Essential: yes or Priority:
required). Anything else is a file a fresh machine does not have: it is
named with the package that owns it here, and the check fails.

Usage: tests/check-provenance.py [--deps-script FILE] BUILD_DIR
  --deps-script FILE  the install script whose --list is trusted
                      (default: tests/install-deps.sh)
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def die(msg):
    print("check-provenance: " + msg, file=sys.stderr)
    sys.exit(2)


def ninja(build, *args):
    r = run(["ninja", "-C", build, *args])
    if r.returncode != 0:
        die("ninja %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def external(path, build):
    """An absolute path outside the source and build trees, normalised."""
    p = os.path.normpath(os.path.join(os.path.abspath(build), path))
    top = TOP + os.sep
    if p.startswith(top) or p.startswith(os.path.abspath(build) + os.sep):
        return None
    return p


def headers(build):
    used = set()
    for line in ninja(build, "-t", "deps").splitlines():
        if line.startswith("    "):
            p = external(line.strip(), build)
            if p:
                used.add(p)
    return used


def link_edges(build):
    """The outputs of the link steps, from build.ninja."""
    outs = []
    with open(os.path.join(build, "build.ninja")) as f:
        for line in f:
            m = re.match(r"build (\S+): c_LINKER\b", line)
            if m:
                outs.append(m.group(1).replace("$:", ":"))
    return outs


TRACE_PATH = re.compile(r"(/[^\s()]+)")


def linker_inputs(build):
    used = set()
    with tempfile.TemporaryDirectory() as tmp:
        for out in link_edges(build):
            cmds = ninja(build, "-t", "commands", "-s", out).strip().splitlines()
            if not cmds:
                continue
            argv = shlex.split(cmds[-1])
            if "-o" not in argv:
                die("no -o in the link command of %s" % out)
            argv[argv.index("-o") + 1] = os.path.join(tmp, "out")
            r = run(argv + ["-Wl,--trace"], cwd=build)
            if r.returncode != 0:
                die("relinking %s with -Wl,--trace failed:\n%s" % (out, r.stderr))
            for m in TRACE_PATH.finditer(r.stdout):
                p = external(m.group(1), build)
                if p and os.path.exists(p):
                    used.add(p)
    return used


def programs(build):
    used = set()
    for line in ninja(build, "-t", "commands").splitlines():
        try:
            argv = shlex.split(line)
        except ValueError:
            continue
        if not argv:
            continue
        if "--internal" in argv and "--" in argv:  # meson's wrapper (capture, env)
            argv = argv[argv.index("--") + 1:] or argv
        exe = argv[0]
        if exe in ("cd", "env"):
            continue
        path = exe if os.path.isabs(exe) else run(["sh", "-c", "command -v " + shlex.quote(exe)]).stdout.strip()
        if path and external(path, build):
            used.add(os.path.normpath(path))
    for tool in ("meson", "ninja", "pkg-config"):
        path = run(["sh", "-c", "command -v " + tool]).stdout.strip()
        if path:
            used.add(path)
    return used


def candidates(path):
    """The names dpkg may know a file by: as used, without a merged-/usr
    prefix, and the file a symlink (an alternative) points to."""
    seen = []
    for p in (path, os.path.realpath(path)):
        for q in (p, re.sub(r"^/usr/(lib|lib64|bin|sbin)/", r"/\1/", p)):
            if q not in seen:
                seen.append(q)
    return seen


def owners(paths):
    owner = {}
    todo = {p: candidates(p) for p in paths}
    names = sorted({c for cs in todo.values() for c in cs})
    by_name = {}
    for i in range(0, len(names), 200):
        r = run(["dpkg", "-S", *names[i:i + 200]])
        for line in r.stdout.splitlines():
            pkgs, _, f = line.partition(": ")
            if f in names and ", " not in f:
                by_name[f] = [p.split(":")[0] for p in pkgs.split(", ")]
    for p, cs in todo.items():
        for c in cs:
            if c in by_name:
                owner[p] = by_name[c]
                break
    return owner


def allowed_packages(script):
    r = run(["bash", script, "--list"])
    if r.returncode != 0:
        die("%s --list failed:\n%s" % (script, r.stderr))
    listed = r.stdout.split()
    allowed = set(listed)
    r = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
             "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *listed])
    if r.returncode != 0:
        die("apt-cache depends failed:\n" + r.stderr)
    for line in r.stdout.splitlines():
        if line and not line[0].isspace():
            allowed.add(line.strip().strip("<>").split(":")[0])
    r = run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\n"])
    base = set()
    for line in r.stdout.splitlines():
        name, essential, prio = (line.split("\t") + ["", ""])[:3]
        if essential == "yes" or prio == "required":
            base.add(name)
    return listed, allowed | base


def main():
    args = sys.argv[1:]
    script = os.path.join(TOP, "tests", "install-deps.sh")
    if len(args) == 3 and args[0] == "--deps-script":
        script = args[1]
        args = args[2:]
    if len(args) != 1:
        die("usage: tests/check-provenance.py [--deps-script FILE] BUILD_DIR")
    build = args[0]
    if not os.path.exists(os.path.join(build, "build.ninja")):
        die("%s is not a configured build directory" % build)
    used = {"header": headers(build), "linker input": linker_inputs(build),
            "program": programs(build)}
    if not used["header"]:
        die("ninja records no header dependencies in %s: build it first" % build)
    listed, allowed = allowed_packages(script)
    shown = os.path.relpath(script, TOP) if script.startswith(TOP + os.sep) else script
    every = set().union(*used.values())
    owner = owners(every)
    bad = []
    for kind, paths in used.items():
        for p in sorted(paths):
            pkgs = owner.get(p)
            if not pkgs:
                bad.append("%s %s belongs to no Debian package (installed by hand?)" % (kind, p))
            elif not any(x in allowed for x in pkgs):
                bad.append("%s %s comes from package %s, which %s does not install"
                           % (kind, p, " or ".join(pkgs), shown))
    counts = ", ".join("%d %ss" % (len(v), k) for k, v in used.items())
    if bad:
        for b in bad:
            print("check-provenance: " + b, file=sys.stderr)
        print("check-provenance: FAILED: %d of %d files the build used are not from the packages "
              "%s installs. Add the package to %s (or stop using the file), so that a fresh "
              "Debian 12 machine builds." % (len(bad), len(every), shown, shown),
              file=sys.stderr)
        sys.exit(1)
    pk = sorted({o for p in every for o in owner[p]})
    print("check-provenance: ok: %s, from %d packages, all installed by tests/install-deps.sh "
          "(%d listed, with their dependencies) or part of every Debian system"
          % (counts, len(pk), len(listed)))


if __name__ == "__main__":
    main()
