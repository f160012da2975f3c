// Storm's ExclamationTopology: words -> exclaim1 -> exclaim2, each bolt appending "!!!".
// The bolts use explicit anchoring and acking (Storm's rich bolt); the spout emits with message ids
// so every word's tree is tracked and its completion shows as "acked" in gale local.
//
//   gale local build/examples/exclamation.so --duration 5

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include <gale/gale.hpp>

namespace {

constexpr std::array<const char*, 5> k_words = {"nathan", "mike", "jackson", "golda", "bertels"};

// Emits random words (Storm's TestWordSpout). Thread: its task's executor.
class WordSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"word"}); }

  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    const gale::Value* max_pending = context.config().find(gale::keys::topology_max_spout_pending);
    max_pending_ = max_pending != nullptr && max_pending->is_int() ? max_pending->as_int() : 0;
    random_.seed(static_cast<std::uint32_t>(context.task_id()));
  }

  void next_tuple() override {
    for (int i = 0; i < 8 && below_max_pending(); ++i) {
      out_->emit({k_words[random_() % k_words.size()]}, next_id_++);
    }
  }
  // This spout does not replay: a lost word is just a lost word, as in Storm's TestWordSpout.

 private:
  // The runtime checks topology.max.spout.pending before each next_tuple() call; checking it per
  // emit too keeps a call that emits several tuples from overshooting it.
  bool below_max_pending() const {
    return max_pending_ <= 0 || out_->pending_count() < static_cast<std::size_t>(max_pending_);
  }

  gale::SpoutCollector* out_ = nullptr;
  std::int64_t max_pending_ = 0;  // 0: unbounded
  std::minstd_rand random_;
  std::int64_t next_id_ = 0;
};

class ExclamationBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"word"}); }

  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    out.emit(input, {input.get_string(0) + "!!!"});  // anchored: joins the input's tree
    out.ack(input);
  }
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("word", gale::make<WordSpout>(), 1);
  builder.set_bolt("exclaim1", gale::make<ExclamationBolt>(), 2).shuffle_grouping("word");
  builder.set_bolt("exclaim2", gale::make<ExclamationBolt>(), 2).shuffle_grouping("exclaim1");
  config.set(gale::keys::topology_max_spout_pending, 1024);
}

}  // namespace

GALE_TOPOLOGY(build)
