#!/usr/bin/env bash
# systemd/fwd.service parses, with its ExecStart pointing at the fwd just built.
set -u
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing"; exit 77; }
[ -x "${FWD:-}" ] || { echo "FWD does not name the fwd binary"; exit 1; }
unit=$(mktemp -d)/fwd.service
trap 'rm -rf "$(dirname "$unit")"' EXIT
sed "s|/usr/sbin/fwd|$FWD|g" "$(dirname "$0")/../systemd/fwd.service" >"$unit"
out=$(systemd-analyze verify "$unit" 2>&1)
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
grep -q '^Type=notify$' "$unit" || { echo "fwd.service is not Type=notify"; exit 1; }
grep -q '^ExecReload=.*kill -HUP' "$unit" || { echo "ExecReload does not send SIGHUP"; exit 1; }
echo "fwd.service verifies"
