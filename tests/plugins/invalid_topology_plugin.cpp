// A plugin whose topology does not validate: the bolt subscribes to a component that does not
// exist ("splitt" instead of "split"). The loader reports the TopologyError prefixed with the path.
#include <gale/gale.hpp>

namespace {

class LineSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"line"}); }
  void open(const gale::Context&, gale::SpoutCollector&) override {}
  void next_tuple() override {}
};

class CountBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"count"}); }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override { out.ack(input); }
};

void build(gale::TopologyBuilder& builder, gale::Config&) {
  builder.set_spout("split", gale::make<LineSpout>());
  builder.set_bolt("count", gale::make<CountBolt>()).shuffle_grouping("splitt");
}

}  // namespace

GALE_TOPOLOGY(build)
