// A minimal topology plugin built outside Gale's source tree against the installed gale.pc:
//
//   g++ -std=c++20 -O2 -shared -fPIC plugin.cpp $(pkg-config --cflags --libs gale) -o plugin.so
//   gale local plugin.so --duration 5

#include <cstdint>

#include <gale/gale.hpp>

namespace {

// Emits increasing numbers with message ids, so the acker tracks each one.
class NumberSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"n"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    out_->emit({next_}, next_);
    ++next_;
  }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t next_ = 0;
};

// Keeps the even numbers; acks every input (BasicBolt does it when execute returns).
class EvenBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"n"}); }
  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    if (input.get_int("n") % 2 == 0) out.emit({input.get_int("n")});
  }
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("numbers", gale::make<NumberSpout>());
  builder.set_bolt("even", gale::make<EvenBolt>(), 2).shuffle_grouping("numbers");
  config.set(gale::keys::topology_max_spout_pending, 1000);
}

}  // namespace

GALE_TOPOLOGY(build)
