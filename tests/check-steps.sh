#!/usr/bin/env bash
# tests/steps.sh, which every script a user runs sources: a failing step
# names itself, shows its output and says what to do; any other failing
# command names its line; run-all.sh and demo-lab.sh refuse to run as
# another user than root before they change anything.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$tmp/step.sh" <<SCRIPT
. "$src/tests/steps.sh"
fos_loud step.sh
FOS_STEP_LOG=$tmp/logs
mkdir -p "\$FOS_STEP_LOG"
FOS_HINT="install the frobnicator"
fos_step "frobnicate the lab" sh -c 'echo first line; echo it broke >&2; exit 3'
echo "not reached"
SCRIPT
rc=0
out=$(bash "$tmp/step.sh" 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "a failing step exits $rc, want 3: $out"
grep -q '^step.sh: FAILED: frobnicate the lab (exit 3): sh -c' <<<"$out" || fail "no step line: $out"
grep -q '^it broke$' <<<"$out" || fail "the step's output is not shown: $out"
grep -qF -- "---- last lines of its output (all of it: $tmp/logs/frobnicate_the_lab.log) ----" \
  <<<"$out" || fail "no log path: $out"
grep -q '^first line$' "$tmp/logs/frobnicate_the_lab.log" || fail "the log lacks the output"
grep -q '^step.sh: what to do: install the frobnicator$' <<<"$out" || fail "no hint: $out"
grep -q 'not reached' <<<"$out" && fail "the script went on after the failed step"
echo "ok: a failing step: its name, exit code, output, log and hint"

cat >"$tmp/line.sh" <<SCRIPT
. "$src/tests/steps.sh"
fos_loud line.sh
true
test -e /nonexistent-fos-file
echo "not reached"
SCRIPT
rc=0
out=$(bash "$tmp/line.sh" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a failing command exits $rc, want 1: $out"
grep -q '^line.sh: FAILED at line 4 (exit 1): test -e /nonexistent-fos-file$' <<<"$out" ||
  fail "no line and command: $out"
grep -q "^line.sh: what to do: read the output above; the README's 'When something is missing'" \
  <<<"$out" || fail "no generic hint: $out"
grep -q 'not reached' <<<"$out" && fail "the script went on after the failed command"
echo "ok: a failing command: the line, the command, the generic hint"

# as another user: a copy of the scripts that user can read
command -v setpriv >/dev/null || { echo "SKIP: setpriv missing"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run a script as another user"; exit 77; }
mkdir -p "$tmp/tree/tests" "$tmp/tree/conf/examples"
cp "$src/tests/steps.sh" "$src/tests/run-all.sh" "$src/tests/install-deps.sh" "$tmp/tree/tests/"
cp "$src/conf/examples/demo-lab.sh" "$tmp/tree/conf/examples/"
chmod -R a+rX "$tmp"
for script in tests/run-all.sh conf/examples/demo-lab.sh; do
  name=${script##*/}
  rc=0
  out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups \
    bash "$tmp/tree/$script" "$tmp/tree/build-by-nobody" 2>&1) || rc=$?
  [ "$rc" = 1 ] || fail "$name as uid 65534 exits $rc, want 1: $out"
  grep -q "^$name: must run as root" <<<"$out" || fail "$name as uid 65534: $out"
  grep -q "^$name: what to do: run it again as root" <<<"$out" || fail "$name: no hint: $out"
  [ ! -e "$tmp/tree/build-by-nobody" ] && [ ! -e "$tmp/tree/build" ] ||
    fail "$name as uid 65534 made a build directory"
  echo "ok: $name as uid 65534: \"$(grep -m1 'must run as root' <<<"$out")\", nothing made"
done
