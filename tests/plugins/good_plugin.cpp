// A valid topology plugin: a spout and a bolt, exported with GALE_TOPOLOGY. The plugin loader tests
// check the components, their streams and the config below.
#include <gale/gale.hpp>

namespace {

class NumberSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"number"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override { out_->emit({next_++}, next_); }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t next_ = 0;
};

class SquareBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"number", "square"});
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    const std::int64_t n = input.get_int(0);
    out.emit(input, {n, n * n});
    out.ack(input);
  }
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("numbers", gale::make<NumberSpout>(), 1);
  builder.set_bolt("square", gale::make<SquareBolt>(), 2).fields_grouping("numbers", {"number"});
  config.set(gale::keys::topology_workers, 2);
  // A misspelt key, as users write them: nimbus's check warns about it at submit.
  config.set("topology.tick.tuple.freq.sec", 5);
}

}  // namespace

GALE_TOPOLOGY(build)
