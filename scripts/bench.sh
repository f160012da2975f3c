#!/usr/bin/env bash
# Builds Gale in release mode (build-release/) and runs the benchmark suite, bench/gale_bench
# (docs/performance.md): every scenario 3 times, 6-7 minutes on a 2-core machine once built.
# Prints the table with the targets (PASS/FAIL) and writes bench-results/: table.txt, results.csv
# (every figure: median, min, max, each run), targets.csv, latency.svg (and its .dat and .gp).
# Arguments go to gale_bench, e.g. --quick (a smoke test), --runs 5, --no-cluster; see --help.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "bench: installing gnuplot-nox for the latency plot"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  { "${sudo[@]}" apt-get install -y -q gnuplot-nox </dev/null ||
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q gnuplot-nox </dev/null; }
  } || echo "bench: gnuplot is not available; the suite writes latency.gp but no latency.svg"
fi

if [[ ! -f build-release/build.ninja ]]; then
  meson setup build-release --buildtype=release
fi
# Two jobs at most: the machine has two cores.
ninja -C build-release -j2 bench-suite

label="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! git diff --quiet HEAD 2>/dev/null; then
  label+=" + uncommitted changes"
fi
mkdir -p bench-results
# Bounded: the suite takes minutes; every process it starts is killed with it.
exec timeout --kill-after=10 1200 \
  build-release/bench/gale_bench --out bench-results --label "$label" "$@"
