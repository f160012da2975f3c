// Word count, Storm's first example: sentences -> split (shuffle) -> count (fields on "word").
// Reliable end to end: the spout emits every sentence with a message id, keeps it until it is
// acked, and re-emits it when its tree fails or times out.
//
//   gale local build/examples/word_count.so --duration 10

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include <gale/gale.hpp>

namespace {

constexpr std::array<std::string_view, 5> k_sentences = {
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
};

// Cycles through the sentences forever. Thread: its task's executor.
class SentenceSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"sentence"}); }

  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    const gale::Value* max_pending = context.config().find(gale::keys::topology_max_spout_pending);
    max_pending_ = max_pending != nullptr && max_pending->is_int() ? max_pending->as_int() : 0;
    // Tasks start at different sentences so that several spout tasks do not emit in lockstep.
    next_ = static_cast<std::uint64_t>(context.task_index());
  }

  void next_tuple() override {
    // Replays first, so that a failed sentence is not starved by new ones.
    if (!replay_.empty()) {
      const std::int64_t id = replay_.front();
      replay_.pop_front();
      if (auto it = pending_.find(id); it != pending_.end()) emit(id, it->second);
      return;
    }
    // A few sentences per call: cheap to return, and the runtime checks max pending in between.
    for (int i = 0; i < 8 && below_max_pending(); ++i) {
      const std::int64_t id = next_id_++;
      const auto sentence = static_cast<std::uint32_t>(next_++ % k_sentences.size());
      pending_.emplace(id, sentence);
      emit(id, sentence);
    }
  }

  void ack(const gale::MessageId& id) override { pending_.erase(id.as_int()); }
  void fail(const gale::MessageId& id) override { replay_.push_back(id.as_int()); }

 private:
  // The runtime checks topology.max.spout.pending before each next_tuple() call; checking it per
  // emit too keeps a call that emits several tuples from overshooting it.
  bool below_max_pending() const {
    return max_pending_ <= 0 || out_->pending_count() < static_cast<std::size_t>(max_pending_);
  }

  void emit(std::int64_t id, std::uint32_t sentence) {
    out_->emit({std::string(k_sentences[sentence])}, id);
  }

  gale::SpoutCollector* out_ = nullptr;
  std::int64_t max_pending_ = 0;  // 0: unbounded
  std::uint64_t next_ = 0;
  std::int64_t next_id_ = 0;
  std::unordered_map<std::int64_t, std::uint32_t> pending_;  // message id -> sentence
  std::deque<std::int64_t> replay_;                          // failed ids to emit again
};

// Splits a sentence into words. A BasicBolt: each emit is anchored to the input, which is acked
// when execute() returns.
class SplitBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"word"}); }

  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    const std::string_view sentence = input.get_string(0);
    std::size_t start = 0;
    while (start < sentence.size()) {
      std::size_t end = sentence.find(' ', start);
      if (end == std::string_view::npos) end = sentence.size();
      if (end > start) out.emit({sentence.substr(start, end - start)});
      start = end + 1;
    }
  }
};

// Counts words. The fields grouping on "word" sends every occurrence of a word to the same task,
// so each task's map holds the exact count of its words.
class CountBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"word", "count"});
  }

  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    const std::string& word = input.get_string("word");
    const std::int64_t count = ++counts_[word];
    out.emit({word, count});
  }

 private:
  std::unordered_map<std::string, std::int64_t> counts_;
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("sentences", gale::make<SentenceSpout>(), 1);
  builder.set_bolt("split", gale::make<SplitBolt>(), 2).shuffle_grouping("sentences");
  builder.set_bolt("count", gale::make<CountBolt>(), 2).fields_grouping("split", {"word"});
  // Bounds the sentences in flight: the spout's pending map stays small and latency low.
  config.set(gale::keys::topology_max_spout_pending, 512);
}

}  // namespace

GALE_TOPOLOGY(build)
