#!/usr/bin/env bash
# Every C source and header is formatted with the root .clang-format.
set -u
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "SKIP: clang-format missing"; exit 77; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find bpf cli daemon lib tests bench -name '*.[ch]'); do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run clang-format -i $f)"
    bad=1
  fi
done
exit $bad
