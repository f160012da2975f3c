#!/usr/bin/env bash
# Starts a small Gale cluster on this machine (nimbus and two supervisors with two slots each, all
# on loopback), submits word count on 4 workers, shows `gale list` and `gale status`, then kills
# the topology and stops the daemons. Run after building: ./examples/cluster.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
gale="$build/cli/gale"
plugin="$build/examples/word_count.so"
[[ -x $gale && -f $plugin ]] || { echo "build first: ninja -C $build" >&2; exit 1; }

state=$(mktemp -d /tmp/gale-cluster-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done  # SIGTERM: daemons stop their workers
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

nimbus=127.0.0.1:16627
"$gale" nimbus --port 16627 --state-dir "$state/nimbus" >"$state/nimbus.out" 2>&1 & pids+=($!)
"$gale" supervisor --nimbus $nimbus --ports 16700,16701 --id node-a \
  --state-dir "$state/node-a" >"$state/node-a.out" 2>&1 & pids+=($!)
"$gale" supervisor --nimbus $nimbus --ports 16710,16711 --id node-b \
  --state-dir "$state/node-b" >"$state/node-b.out" 2>&1 & pids+=($!)
sleep 2  # supervisors register within a heartbeat

"$gale" submit "$plugin" --name wordcount --nimbus $nimbus -c topology.workers=4
sleep 5
"$gale" list --nimbus $nimbus
"$gale" status wordcount --nimbus $nimbus
"$gale" kill wordcount --wait 1 --nimbus $nimbus
