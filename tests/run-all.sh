#!/usr/bin/env bash
# Build fos and run every test suite: unit, bpf, e2e, cli.
# Usage: tests/run-all.sh [BUILD_DIR] [extra meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bash tests/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$@"
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
