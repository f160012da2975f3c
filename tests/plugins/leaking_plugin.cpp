// A plugin whose bolt leaks: every tuple allocates and touches 8 MB that it never frees, up to
// test.leak.max.mb (4096 by default, so that a run without a memory limit still ends). Under
// topology.worker.memory.limit.mb its worker must end "out of memory" and be restarted.

#include <cstring>
#include <memory>
#include <vector>

#include <gale/gale.hpp>

namespace {

constexpr std::size_t k_chunk = std::size_t{8} << 20;

// Thread: all callbacks of one task run on that task's executor thread.
class TickSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"n"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override { out_->emit({n_++}); }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t n_ = 0;
};

// Thread: all callbacks of one task run on that task's executor thread.
class LeakBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void prepare(const gale::Context& context, gale::BoltCollector&) override {
    max_chunks_ = static_cast<std::size_t>(context.config().get_int("test.leak.max.mb", 4096)) /
                  (k_chunk >> 20);
  }
  void execute(const gale::Tuple&, gale::BoltCollector&) override {
    if (leaked_.size() >= max_chunks_) return;
    auto chunk = std::make_unique<char[]>(k_chunk);
    std::memset(chunk.get(), 1, k_chunk);  // resident, not only reserved
    leaked_.push_back(std::move(chunk));
  }

 private:
  std::size_t max_chunks_ = 0;
  std::vector<std::unique_ptr<char[]>> leaked_;
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("ticks", gale::make<TickSpout>());
  b.set_bolt("leak", gale::make<LeakBolt>()).shuffle_grouping("ticks");
  conf.set(gale::keys::topology_workers, 1);
  conf.set(gale::keys::topology_acker_executors, 0);
}

}  // namespace

GALE_TOPOLOGY(build)
