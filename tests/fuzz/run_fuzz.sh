#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++ in FUZZ_BUILD_DIR (configured on first use, reused
# after) and runs each TARGET with its seed corpus for a bounded time. Fails on any crash, leak,
# timeout, out-of-memory or sanitizer report; the input that caused it is saved as
# FUZZ_BUILD_DIR/artifacts/<target>-crash-<sha1> (or leak-, timeout-, oom-), and the line to
# reproduce it is printed.
#
#   run_fuzz.sh FUZZ_BUILD_DIR SOURCE_ROOT TARGET... [-- LIBFUZZER_FLAGS...]
#
# Targets: batch, protocol, assignment_file, config (tests/fuzz/fuzz_<target>.cpp).
# GALE_FUZZ_SECONDS: seconds per target (default 13; 0: no time limit, e.g. with -runs=N).
# New inputs that reach new code accumulate in FUZZ_BUILD_DIR/corpus/<target>/, so later runs
# start from them; the committed seeds in SOURCE_ROOT/tests/fuzz/corpus/<target>/ are read only.
# See docs/fuzzing.md.
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 FUZZ_BUILD_DIR SOURCE_ROOT TARGET... [-- LIBFUZZER_FLAGS...]" >&2
  exit 2
fi
mkdir -p "$1"
build_dir=$(cd "$1" && pwd)
source_root=$(cd "$2" && pwd)
shift 2
targets=()
while [[ $# -gt 0 && $1 != "--" ]]; do
  targets+=("$1")
  shift
done
[[ $# -gt 0 ]] && shift  # the "--"
extra_flags=("$@")
seconds=${GALE_FUZZ_SECONDS:-13}

find_clang() {
  local candidate
  for candidate in clang++ clang++-14 clang++-15 clang++-16; do
    if command -v "$candidate" >/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Configures and builds the clang++ dir; one test at a time (the lock), the others then find it
# built. ninja reconfigures by itself when a meson.build changed.
build() {
  exec 9>"$build_dir.lock"
  flock 9
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    local clang
    if ! clang=$(find_clang); then
      echo "run_fuzz: clang++ not found; scripts/setup-deps.sh installs clang-14 and libclang-rt-14-dev" >&2
      exit 1
    fi
    local cxx=$clang
    if command -v ccache >/dev/null; then
      cxx="ccache $clang"
    fi
    local wipe=()
    if [[ -d "$build_dir/meson-private" ]]; then
      wipe=(--wipe)  # an earlier setup failed half-way
    fi
    echo "run_fuzz: configuring $build_dir with $clang"
    CXX=$cxx meson setup "${wipe[@]}" "$build_dir" "$source_root" -Dfuzzing=true >"$build_dir.setup.log" 2>&1 || {
      cat "$build_dir.setup.log" >&2
      exit 1
    }
  fi
  nice ninja -C "$build_dir" -j2 | tail -n 1
  flock -u 9
}

run_target() {
  local target=$1
  local fuzzer="$build_dir/tests/fuzz/fuzz_$target"
  local seeds="$source_root/tests/fuzz/corpus/$target"
  local work="$build_dir/corpus/$target"
  local log="$build_dir/logs/$target.log"
  mkdir -p "$work" "$build_dir/artifacts" "$build_dir/logs"
  [[ -x "$fuzzer" ]] || { echo "run_fuzz: no target $fuzzer" >&2; return 1; }
  [[ -d "$seeds" ]] || { echo "run_fuzz: no seed corpus $seeds" >&2; return 1; }

  # -malloc_limit_mb: no decoder has a reason to allocate 64 MB for an input of at most 4 KB; a
  # declared size trusted before the bytes exist shows up here. -timeout: one input, in seconds.
  local flags=(-max_len=4096 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64
               -print_final_stats=1 "-artifact_prefix=$build_dir/artifacts/$target-")
  if [[ $seconds -gt 0 ]]; then
    flags+=("-max_total_time=$seconds")
  fi
  echo "run_fuzz: $target: $fuzzer ${flags[*]} ${extra_flags[*]} $work $seeds"
  local status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$fuzzer" "${flags[@]}" "${extra_flags[@]}" "$work" "$seeds" >"$log" 2>&1 || status=$?
  # The last status line, e.g. "#912345 DONE cov: 1234 ft: 5678 corp: 210/18Kb ...", and the
  # final stats (executions, executions per second, peak RSS).
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  if [[ $status -ne 0 ]] || grep -qE 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$log"; then
    echo "run_fuzz: $target FAILED (exit $status); log: $log" >&2
    tail -n 60 "$log" >&2
    local artifact
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [[ -n "$artifact" ]]; then
      echo "run_fuzz: reproduce with: $fuzzer $artifact" >&2
    fi
    return 1
  fi
}

build
failed=0
for target in "${targets[@]}"; do
  run_target "$target" || failed=1
done
exit $failed
