// Rolling top words, Storm's RollingTopWords with windowed bolts: the words of the last 10 s,
// counted every 2 s per word, then ranked every 2 s over all words.
//
//   sentences -> split (shuffle) -> rolling (fields on "word"; a 10 s window every 2 s)
//             -> rankings (global; a 2 s tumbling window) -> stream "rankings": (rank, word, count)
//
// The rolling counts keep a running count per word from each window's new and expired tuples, as
// Storm's RollingCountBolt does with its sliding counter; the rankings keep, per window, the last
// count each word was given and emit the top 3. The window holds its sentences' trees until they
// leave it, so topology.max.spout.pending bounds the sentences of a window.
//
//   gale local build/examples/rolling_top_words.so --duration 10
//   gale local build/examples/rolling_top_words.so -c sentences.limit=50   # a finite run

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/sentence_spout.hpp>

namespace {

constexpr int k_top = 3;

// (word, count, window end) for every word of each window, counted as the window slides.
class RollingCountBolt : public gale::WindowedBolt {
 public:
  RollingCountBolt() { with_window(gale::Duration(10'000), gale::Duration(2'000)); }
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"word", "count", "end"}); }
  void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
    for (const gale::Tuple& t : window.get_new()) ++counts_[t.get_string("word")];
    for (const gale::Tuple& t : window.get_expired()) {
      auto it = counts_.find(t.get_string("word"));
      if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    }
    for (const auto& [word, count] : counts_) out.emit({word, count, window.end()});
  }

 private:
  std::map<std::string, std::int64_t> counts_;
};

// Every 2 s: the top k_top words by their latest rolling count, as (rank, word, count).
class TotalRankingsBolt : public gale::WindowedBolt {
 public:
  TotalRankingsBolt() { with_tumbling_window(gale::Duration(2'000)); }
  void declare_outputs(gale::OutputDeclarer& d) override {
    d.declare_stream("rankings", {"rank", "word", "count"});
  }
  void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
    for (const gale::Tuple& t : window.get_new()) {
      Latest& l = latest_[t.get_string("word")];
      if (t.get_int("end") >= l.end) l = {t.get_int("end"), t.get_int("count")};
    }
    // A word no longer counted in the newest rolling window drops out.
    std::int64_t newest = 0;
    for (const auto& [word, l] : latest_) newest = std::max(newest, l.end);
    std::vector<std::pair<std::int64_t, std::string>> ranked;
    for (const auto& [word, l] : latest_) {
      if (l.end == newest) ranked.emplace_back(l.count, word);
    }
    std::sort(ranked.begin(), ranked.end(),
              [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first
                                                                           : a.second < b.second; });
    for (int rank = 0; rank < k_top && rank < static_cast<int>(ranked.size()); ++rank) {
      const auto& [count, word] = ranked[static_cast<std::size_t>(rank)];
      out.emit_to("rankings", {std::int64_t{rank + 1}, word, count});
    }
  }

 private:
  struct Latest {
    std::int64_t end = 0;
    std::int64_t count = 0;
  };
  std::map<std::string, Latest> latest_;
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  gale::spouts::SentenceSpoutOptions sentences;
  sentences.limit = config.get_int("sentences.limit", 0);
  builder.set_spout("sentences", gale::make<gale::spouts::SentenceSpout>(sentences), 1);
  builder.set_bolt("split", gale::make<gale::bolts::SplitSentenceBolt>(), 2)
      .shuffle_grouping("sentences");
  builder.set_bolt("rolling", gale::make<RollingCountBolt>(), 2).fields_grouping("split", {"word"});
  builder.set_bolt("rankings", gale::make<TotalRankingsBolt>(), 1).global_grouping("rolling");
  // The sentences of a 10 s window stay pending until they leave it.
  if (!config.contains(gale::keys::topology_max_spout_pending)) {
    config.set(gale::keys::topology_max_spout_pending, 20'000);
  }
}

}  // namespace

GALE_TOPOLOGY(build)
