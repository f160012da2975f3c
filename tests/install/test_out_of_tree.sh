#!/usr/bin/env bash
# Installs Gale into a staging directory, builds examples/out_of_tree/plugin.cpp against the
# installed gale.pc (as a user outside the source tree would), and runs it with the installed
# `gale local`. Passes when the run acks tuple trees.
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
export PKG_CONFIG_PATH=$(dirname "$pc_file")
flags=$(pkg-config --define-prefix --cflags --libs gale) || fail "pkg-config cannot read $pc_file"
echo "pkg-config flags: $flags"
case "$flags" in
  *"$stage"*) ;;
  *) fail "pkg-config flags do not point into the staged install: $flags" ;;
esac

plugin=$stage/plugin.so
# shellcheck disable=SC2086 # the flags are meant to split into words
g++ -std=c++20 -O1 -shared -fPIC "$source_root/examples/out_of_tree/plugin.cpp" $flags \
  -o "$plugin" || fail "the out-of-tree plugin does not compile against the installed headers"

output=$stage/output.txt
status=0
LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  timeout 120 "$gale" local "$plugin" --duration 2 >"$output" 2>&1 </dev/null || status=$?
cat "$output"
[[ $status -eq 0 ]] || fail "the installed gale local exited with status $status"

# The summary's spout line reads "... emitted N  acked N  failed N".
acked=$(sed -n '/^summary:/,$p' "$output" | grep -o 'acked [0-9][0-9]*' | head -n 1 |
  grep -o '[0-9][0-9]*' || true)
[[ -n "$acked" ]] || fail "no 'acked N' in the summary of gale local"
[[ "$acked" -gt 0 ]] || fail "the topology acked no tuple tree in 2 seconds"
echo "PASS: the out-of-tree plugin ran and acked $acked tuple trees"
