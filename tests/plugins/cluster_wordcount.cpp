// A finite word count for the cluster tests: each spout task emits its share of `copies` rounds of
// fixed sentences once (replaying failures); count tasks write their totals to
// <test.output.dir>/count-<task>.txt on every tick, so the test can read exact counts from outside.

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gale/gale.hpp>

namespace {

const char* k_sentences[] = {"the cow jumped over the moon", "an apple a day keeps the doctor away",
                             "four score and seven years ago", "snow white and the seven dwarfs",
                             "i am at two with nature"};
constexpr int k_sentence_count = 5;

class FiniteSentenceSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"sentence"}); }
  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    auto copies = context.config().get_int("test.copies", 100);
    auto tasks = static_cast<std::int64_t>(context.component_tasks(context.component_id()).size());
    for (std::int64_t i = copies * k_sentence_count - 1; i >= 0; --i) {
      if (i % tasks == context.task_index()) todo_.push_back(i);
    }
  }
  void next_tuple() override {
    if (todo_.empty()) return;
    auto i = todo_.back();
    todo_.pop_back();
    out_->emit({k_sentences[i % k_sentence_count]}, gale::MessageId(i));
  }
  void fail(const gale::MessageId& id) override { todo_.push_back(id.as_int()); }

 private:
  gale::SpoutCollector* out_ = nullptr;
  std::vector<std::int64_t> todo_;
};

class SplitBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"word"}); }
  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    std::istringstream words(input.get_string(0));
    std::string w;
    while (words >> w) out.emit({w});
  }
};

class FileCountBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  gale::Config component_config() const override {
    gale::Config c;
    c.set(gale::keys::topology_tick_tuple_freq_secs, 1);
    return c;
  }
  void prepare(const gale::Context& context, gale::BoltCollector&) override {
    path_ = context.config().get_string("test.output.dir", "/tmp") + "/count-" +
            std::to_string(context.task_id()) + ".txt";
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    if (input.is_tick()) {
      write();
    } else {
      ++counts_[input.get_string(0)];
    }
    out.ack(input);
  }
  void cleanup() override { write(); }

 private:
  void write() {
    std::string tmp = path_ + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      for (const auto& [w, n] : counts_) f << w << ' ' << n << '\n';
    }
    std::rename(tmp.c_str(), path_.c_str());
  }
  std::string path_;
  std::map<std::string, std::int64_t> counts_;
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("sentences", gale::make<FiniteSentenceSpout>(), 2);
  b.set_bolt("split", gale::make<SplitBolt>(), 2).shuffle_grouping("sentences");
  b.set_bolt("count", gale::make<FileCountBolt>(), 2).fields_grouping("split", {"word"});
  conf.set(gale::keys::topology_workers, 4);
  conf.set(gale::keys::topology_max_spout_pending, 200);
}

}  // namespace

GALE_TOPOLOGY(build)
