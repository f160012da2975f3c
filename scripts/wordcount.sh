#!/usr/bin/env bash
# Builds Gale and runs the word count example in local mode with live progress.
# DURATION (seconds, default 10) bounds the run; Ctrl-C stops it earlier.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
if [[ ! -f build/build.ninja ]]; then
  meson setup build
fi
ninja -C build
exec build/cli/gale local build/examples/word_count.so --duration "${DURATION:-10}"
