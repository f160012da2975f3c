// A plugin whose build function reads the config it is given, as a connector topology reads its
// servers' addresses: test.parallelism sets the bolt's parallelism, and it sets topology.workers
// itself, which a given topology.workers must still override.
#include <gale/gale.hpp>

namespace {

class NumberSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"n"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override { out_->emit({std::int64_t{1}}); }

 private:
  gale::SpoutCollector* out_ = nullptr;
};

class DropBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple&, gale::BasicCollector&) override {}
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  const auto parallelism = static_cast<int>(config.get_int("test.parallelism", 1));
  builder.set_spout("numbers", gale::make<NumberSpout>());
  builder.set_bolt("drop", gale::make<DropBolt>(), parallelism).shuffle_grouping("numbers");
  config.set(gale::keys::topology_workers, 3);
}

}  // namespace

GALE_TOPOLOGY(build)
