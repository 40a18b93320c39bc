# SPDX-License-Identifier: GPL-2.0-only
# Sourced by every script a user runs (conf/examples/demo-lab.sh,
# tests/run-all.sh, .ci/run, bench/*.sh): a failure is never silent.
#
#   fos_loud NAME         on any failing command: NAME, the line, the command,
#                         its exit status and what to do (FOS_HINT, or the
#                         generic hint)
#   fos_step LABEL CMD..  runs CMD with its output kept in a log; on failure
#                         prints LABEL, the last 60 lines of the output, the
#                         log's path and FOS_HINT
#   fos_need_root         exits with a clear line unless run as root
#
# FOS_HINT is what the next failure tells the user to do; a script sets it
# before each step that has a better answer than the generic one.

FOS_HINT=${FOS_HINT:-}
FOS_STEP_LOG=${FOS_STEP_LOG:-}
_fos_name=${0##*/}

_fos_hint() {
  if [ -n "$FOS_HINT" ]; then
    echo "$_fos_name: what to do: $FOS_HINT" >&2
  else
    echo "$_fos_name: what to do: read the output above; the README's 'When something is missing' lists the usual causes" >&2
  fi
}

_fos_err() {
  local rc=$1 line=$2 cmd=$3
  trap - ERR
  echo >&2
  echo "$_fos_name: FAILED at line $line (exit $rc): $cmd" >&2
  _fos_hint
  exit "$rc"
}

fos_loud() {
  _fos_name=$1
  set -eEuo pipefail
  trap '_fos_err $? $LINENO "$BASH_COMMAND"' ERR
}

fos_step() {
  local label=$1 rc=0 log
  shift
  if [ -z "$FOS_STEP_LOG" ]; then
    FOS_STEP_LOG=$(mktemp -d /tmp/fos-steps.XXXXXX)
  fi
  log=$FOS_STEP_LOG/$(printf '%s' "$label" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-60).log
  "$@" >"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" != 0 ]; then
    trap - ERR
    echo >&2
    echo "$_fos_name: FAILED: $label (exit $rc): $*" >&2
    echo "---- last lines of its output (all of it: $log) ----" >&2
    tail -n 60 "$log" >&2
    echo "----" >&2
    _fos_hint
    exit "$rc"
  fi
}

fos_need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "$_fos_name: must run as root (it installs packages, creates network namespaces and loads BPF programs)" >&2
    echo "$_fos_name: what to do: run it again as root, e.g. sudo bash $0" >&2
    exit 1
  fi
}

# the kernel features every fos script needs, checked up front with one
# line each that says what is missing
fos_need_kernel() {
  local bad=0 err
  if ! err=$(ip netns add fos-probe-$$ 2>&1); then
    echo "$_fos_name: cannot create a network namespace: ip netns add: $err" >&2
    bad=1
  else
    if ! err=$(ip -n fos-probe-$$ link add fos-probe0 type veth peer name fos-probe1 2>&1); then
      echo "$_fos_name: cannot create a veth pair in a network namespace: $err" >&2
      bad=1
    fi
    ip netns del fos-probe-$$ 2>/dev/null || true
  fi
  if [ ! -e /sys/kernel/btf/vmlinux ]; then
    echo "$_fos_name: this kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF)" >&2
    bad=1
  fi
  if ! grep -qw bpf /proc/filesystems; then
    echo "$_fos_name: this kernel has no BPF filesystem (CONFIG_BPF_SYSCALL)" >&2
    bad=1
  fi
  if [ "$bad" != 0 ]; then
    echo "$_fos_name: what to do: run on Debian 12 (kernel 6.1 or later) as root, on a machine or VM, not in an unprivileged container" >&2
    exit 1
  fi
}
