// The benchmark's word count as a topology plugin, for the cluster runs of gale_bench: the same
// components as the local runs (bench/topologies.hpp), on two workers. Rate, idleness, acking and
// where the tasks publish their figures come from the submit's `-c` overrides.

#include <gale/gale.hpp>

#include "bench/topologies.hpp"

namespace {

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  gale::bench::build(gale::bench::Shape::wordcount, builder);
  config.set(gale::keys::topology_workers, 2);
}

}  // namespace

GALE_TOPOLOGY(build)
