#!/usr/bin/env bash
# Installs Gale into a staging directory, builds examples/out_of_tree/plugin.cpp against the
# installed gale.pc and examples/word_count.cpp against the installed gale-components.pc (as a user
# outside the source tree would), and runs both with the installed `gale local`. Passes when each
# run acks tuple trees.
# Usage: test_out_of_tree.sh BUILD_ROOT SOURCE_ROOT
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
  exit 1
fi
build_root=$1
source_root=$2

fail() {
  echo "FAIL: $*"
  exit 1
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

meson install -C "$build_root" --destdir "$stage" --no-rebuild --quiet ||
  fail "meson install into $stage failed"

pc_file=$(find "$stage" -name gale.pc -print -quit)
[[ -n "$pc_file" ]] || fail "no gale.pc under the staged install $stage"
gale=$(find "$stage" -path '*/bin/gale' -type f -print -quit)
[[ -n "$gale" ]] || fail "no bin/gale under the staged install $stage"
libgale=$(find "$stage" -name 'libgale.so*' -print -quit)
[[ -n "$libgale" ]] || fail "no libgale.so under the staged install $stage"
lib_dir=$(dirname "$libgale")

# --define-prefix makes pkg-config point at the staged tree instead of the configured prefix.
PKG_CONFIG_PATH=$(dirname "$pc_file")
export PKG_CONFIG_PATH

# Builds SOURCE against the pkg-config MODULE into PLUGIN and runs it for 2 s with the installed
# `gale local`; fails unless the summary shows acked tuple trees.
build_and_run() {
  local module=$1 source=$2 plugin=$3
  local flags
  flags=$(pkg-config --define-prefix --cflags --libs "$module") ||
    fail "pkg-config cannot read the installed $module.pc"
  echo "pkg-config flags for $module: $flags"
  case "$flags" in
    *"$stage"*) ;;
    *) fail "pkg-config flags for $module do not point into the staged install: $flags" ;;
  esac
  # shellcheck disable=SC2086 # the flags are meant to split into words
  g++ -std=c++20 -O1 -shared -fPIC "$source" $flags -o "$plugin" ||
    fail "$source does not compile against the installed headers of $module"

  local output=$plugin.txt status=0
  LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    timeout 120 "$gale" local "$plugin" --duration 2 >"$output" 2>&1 </dev/null || status=$?
  cat "$output"
  [[ $status -eq 0 ]] || fail "the installed gale local exited with status $status on $plugin"

  # The summary's spout line reads "... emitted N  acked N  failed N".
  local acked
  acked=$(sed -n '/^summary:/,$p' "$output" | grep -o 'acked [0-9][0-9]*' | head -n 1 |
    grep -o '[0-9][0-9]*' || true)
  [[ -n "$acked" ]] || fail "no 'acked N' in the summary of gale local for $plugin"
  [[ "$acked" -gt 0 ]] || fail "$plugin acked no tuple tree in 2 seconds"
  echo "PASS: $(basename "$plugin") built out of tree against $module ran and acked $acked tuple trees"
}

[[ -n "$(find "$stage" -name gale-components.pc -print -quit)" ]] ||
  fail "no gale-components.pc under the staged install $stage"
[[ -n "$(find "$stage" -name 'libgale_components.a' -print -quit)" ]] ||
  fail "no libgale_components.a under the staged install $stage"

build_and_run gale "$source_root/examples/out_of_tree/plugin.cpp" "$stage/plugin.so"
build_and_run gale-components "$source_root/examples/word_count.cpp" "$stage/word_count.so"
# The components travel inside the plugin: a cluster keeps its own copy of a submitted plugin,
# where nothing but libgale resolves.
if readelf -d "$stage/word_count.so" | grep -q 'NEEDED.*gale_components'; then
  fail "word_count.so needs libgale_components at run time; it must carry the components itself"
fi
