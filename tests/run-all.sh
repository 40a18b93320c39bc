#!/usr/bin/env bash
# Build fos and run every test suite: unit, bpf, e2e, cli, fuzz, style, install.
# Usage: tests/run-all.sh [BUILD_DIR] [extra meson setup options...]
cd "$(dirname "$0")/.." || exit 1
. tests/steps.sh
fos_loud run-all.sh
build=${1:-build}
shift || true
fos_need_root
FOS_HINT="apt-get needs this machine's Debian 12 package sources (/etc/apt/sources.list*) to be reachable; fix them and run again"
bash tests/install-deps.sh
FOS_HINT="the kernel must have network namespaces, veth, BPF and BTF: see the README's 'Requirements'"
fos_need_kernel
FOS_HINT="a build dependency is missing or broken: run 'bash tests/install-deps.sh' and read what it prints"
if [ ! -f "$build/build.ninja" ]; then
  fos_step "configure the build (meson setup $build $*)" meson setup "$build" "$@"
fi
FOS_HINT="the compiler's error is above; 'ninja -C $build' shows it again"
fos_step "build fos (ninja -C $build)" ninja -C "$build"
echo "run-all.sh: built $build; running the test suites"
FOS_HINT="the failing tests and their output are above; every test's full log is in $build/meson-logs/testlog.txt"
meson test -C "$build" --print-errorlogs --num-processes 2
