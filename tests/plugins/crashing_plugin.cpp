// A plugin whose bolt crashes its worker process (a null dereference) on the first tuple: the
// supervisor must restart the worker, and `gale status` must show the crash.

#include <csignal>

#include <gale/gale.hpp>

namespace {

class TickSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override { out_->emit({n_++}, gale::MessageId(n_)); }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t n_ = 0;
};

class CrashBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple&, gale::BoltCollector&) override { std::raise(SIGSEGV); }
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("n", gale::make<TickSpout>());
  b.set_bolt("crash", gale::make<CrashBolt>()).shuffle_grouping("n");
  conf.set(gale::keys::topology_workers, 1);
}

}  // namespace

GALE_TOPOLOGY(build)
