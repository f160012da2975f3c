#!/usr/bin/env bash
# Builds Gale and runs every test. Ends with one line "N passed, N failed" (", N skipped" when
# any test was skipped); timeouts and unexpected passes count as failed. Exits non-zero when any
# test failed. A build that fails counts as one failed test, so the last line is always there.
set -euo pipefail
cd "$(dirname "$0")/.."

build_failed() {
  echo "$1"
  echo "0 passed, 1 failed"
  exit 1
}

./scripts/setup-deps.sh || build_failed "installing the dependencies failed"
if [[ ! -f build/build.ninja ]]; then
  meson setup build || build_failed "meson setup failed"
fi
ninja -C build || build_failed "the build failed"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
meson test -C build --print-errorlogs --num-processes 2 2>&1 | tee "$log" || status=$?

# meson's summary lines look like "Ok:                 12  ".
count() {
  local n
  n=$(sed -n "s/^$1:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1)
  echo "${n:-0}"
}
ok=$(count 'Ok')
expected_fail=$(count 'Expected Fail')
fail=$(count 'Fail')
unexpected_pass=$(count 'Unexpected Pass')
skipped=$(count 'Skipped')
timeout=$(count 'Timeout')

passed=$((ok + expected_fail))
failed=$((fail + timeout + unexpected_pass))
if ! grep -q '^Ok:' "$log"; then
  # No summary: meson test itself failed before running anything.
  failed=$((failed + 1))
fi
if [[ $status -ne 0 && $failed -eq 0 ]]; then
  failed=1
fi

line="$passed passed, $failed failed"
if [[ $skipped -gt 0 ]]; then
  line+=", $skipped skipped"
fi
echo "$line"
[[ $failed -eq 0 ]]
