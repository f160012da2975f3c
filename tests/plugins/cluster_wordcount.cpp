// A finite word count for the cluster tests, from the built-in components: each spout task emits
// its share of `test.copies` rounds of the built-in sentences once (replaying failures); count
// tasks write their totals to <test.output.dir>/count-<task>.txt on every tick, so the test can
// read exact counts from outside. Each count task also appends the topology.id it was given to
// <test.output.dir>/topology-id-<task>.txt when it starts, once per worker incarnation.

#include <cstdio>
#include <fstream>
#include <string>

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/bolts/word_count_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/sentence_spout.hpp>

namespace {

// The built-in sentence spout, limited to test.copies rounds of its sentences.
// Thread: all callbacks of one task run on that task's executor thread.
class CopiesSpout final : public gale::spouts::SentenceSpout {
 protected:
  std::int64_t limit(const gale::Context& context) const override {
    return context.config().get_int("test.copies", 100) *
           static_cast<std::int64_t>(gale::spouts::k_default_sentences.size());
  }
};

// The built-in word count as a sink that writes its counts to a file on every tick and at cleanup.
// Thread: all callbacks of one task run on that task's executor thread.
class FileCountBolt final : public gale::bolts::WordCountBolt {
 public:
  FileCountBolt() : WordCountBolt(gale::bolts::WordCountOptions{.emit_counts = false}) {}

  gale::Config component_config() const override {
    gale::Config c;
    c.set(gale::keys::topology_tick_tuple_freq_secs, 1);
    return c;
  }
  void prepare(const gale::Context& context, gale::BoltCollector& out) override {
    WordCountBolt::prepare(context, out);
    const std::string dir = context.config().get_string("test.output.dir", "/tmp");
    path_ = dir + "/count-" + std::to_string(context.task_id()) + ".txt";
    std::ofstream(dir + "/topology-id-" + std::to_string(context.task_id()) + ".txt", std::ios::app)
        << context.config().get_string(gale::keys::topology_id, "(none)") << '\n';
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    if (input.is_tick()) write();
    WordCountBolt::execute(input, out);
  }
  void cleanup() override { write(); }

 private:
  void write() {
    std::string tmp = path_ + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      for (const auto& [w, n] : counts()) f << w << ' ' << n << '\n';
    }
    std::rename(tmp.c_str(), path_.c_str());
  }
  std::string path_;
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("sentences", gale::make<CopiesSpout>(), 2);
  b.set_bolt("split", gale::make<gale::bolts::SplitSentenceBolt>(), 2)
      .shuffle_grouping("sentences");
  b.set_bolt("count", gale::make<FileCountBolt>(), 2).fields_grouping("split", {"word"});
  conf.set(gale::keys::topology_workers, 4);
  conf.set(gale::keys::topology_max_spout_pending, 200);
}

}  // namespace

GALE_TOPOLOGY(build)
