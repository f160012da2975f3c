// A plugin whose bolt never returns from execute() once it sees tuple 5 (a loop that waits for
// nothing, as a bolt spinning on a lost lock would): the stuck-executor watch must report it,
// and under the restart policy the worker must exit for its supervisor to restart it.

#include <unistd.h>

#include <gale/gale.hpp>

namespace {

// Emits 0, 1, 2, ... with message ids, one per call, at most 1000 a second.
class NumberSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    out_->emit({n_}, gale::MessageId(n_));
    ++n_;
    ::usleep(1000);
  }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t n_ = 0;
};

class HangBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple& t, gale::BasicCollector&) override {
    if (t.get_int("n") != 5) return;
    for (;;) ::pause();  // no signal handler of the worker's returns here
  }
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("numbers", gale::make<NumberSpout>());
  b.set_bolt("hang", gale::make<HangBolt>()).shuffle_grouping("numbers");
  conf.set(gale::keys::topology_workers, 1);
}

}  // namespace

GALE_TOPOLOGY(build)
