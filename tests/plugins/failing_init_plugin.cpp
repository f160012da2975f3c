// A topology whose bolt "broken" throws in prepare() (or, with -c test.fail=open, whose spout
// "numbers" throws in open()): the worker must refuse to run it. With -c test.fail=none it runs,
// its bolt sleeping test.slow_ms (default 0) per tuple.
#include <gale/gale.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

bool fails(const gale::Context& context, const std::string& what) {
  const gale::Value* v = context.config().find("test.fail");
  const std::string chosen = v != nullptr && v->is_string() ? v->as_string() : "prepare";
  return chosen == what;
}

class NumberSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    if (fails(context, "open")) throw std::runtime_error("cannot reach the source queue");
    out_ = &out;
  }
  void next_tuple() override { out_->emit({n_}, gale::MessageId(n_++)); }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t n_ = 0;
};

class BrokenBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void prepare(const gale::Context& context) override {
    if (fails(context, "prepare")) throw std::runtime_error("cannot open the model file");
    slow_ms_ = context.config().get_int("test.slow_ms", 0);
  }
  void execute(const gale::Tuple&, gale::BasicCollector&) override {
    if (slow_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
  }

 private:
  std::int64_t slow_ms_ = 0;
};

void build(gale::TopologyBuilder& b, gale::Config&) {
  b.set_spout("numbers", gale::make<NumberSpout>());
  b.set_bolt("broken", gale::make<BrokenBolt>(), 2).shuffle_grouping("numbers");
}

}  // namespace

GALE_TOPOLOGY(build)
