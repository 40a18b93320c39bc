#!/usr/bin/env bash
# tests/check-provenance.py against this build: it passes with
# tests/install-deps.sh as it is, and fails naming the package and its files
# when one build dependency is taken out of the install script.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(python3 "$src/tests/check-provenance.py" "$build" 2>&1) || {
  echo "FAIL: the check fails on the build as installed:"; echo "$out"; exit 1; }
grep -q '^check-provenance: ok: [0-9]* headers, [1-9][0-9]* linker inputs' <<<"$out" || {
  echo "FAIL: unexpected output: $out"; exit 1; }
echo "ok: $out"

for pkg in libnl-route-3-dev libconfig-dev; do
  grep -qw "$pkg" "$src/tests/install-deps.sh" || { echo "FAIL: $pkg is not in install-deps.sh"; exit 1; }
  sed "s/\\b$pkg\\b//" "$src/tests/install-deps.sh" >"$tmp/install-deps.sh"
  if bash "$tmp/install-deps.sh" --list | grep -qx "$pkg"; then echo "FAIL: $pkg not removed"; exit 1; fi
  rc=0
  out=$(python3 "$src/tests/check-provenance.py" --deps-script "$tmp/install-deps.sh" "$build" 2>&1) || rc=$?
  [ "$rc" = 1 ] || { echo "FAIL: without $pkg the check exits $rc, want 1:"; echo "$out"; exit 1; }
  grep -q "comes from package $pkg, which $tmp/install-deps.sh does not install" <<<"$out" || {
    echo "FAIL: without $pkg the check does not name it:"; echo "$out"; exit 1; }
  grep -q "FAILED: .*Add the package to $tmp/install-deps.sh" <<<"$out" || {
    echo "FAIL: no summary line:"; echo "$out"; exit 1; }
  echo "ok: without $pkg: $(grep -c "package $pkg," <<<"$out") files named, e.g. $(grep -m1 "package $pkg," <<<"$out")"
done
