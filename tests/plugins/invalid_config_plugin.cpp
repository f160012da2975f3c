// A plugin with a valid topology but an invalid config (topology.workers must be at least 1): the
// loader reports the ConfigError prefixed with the path.
#include <gale/gale.hpp>

namespace {

class IdleSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"x"}); }
  void open(const gale::Context&, gale::SpoutCollector&) override {}
  void next_tuple() override {}
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("idle", gale::make<IdleSpout>());
  config.set(gale::keys::topology_workers, 0);
}

}  // namespace

GALE_TOPOLOGY(build)
