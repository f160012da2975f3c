// A valid plugin that names its topology itself (the loader must keep that name) and uses a
// BasicBolt, whose adapter is created inside the plugin.
#include <gale/gale.hpp>

namespace {

class WordSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"word"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override { out_->emit({"word"}); }

 private:
  gale::SpoutCollector* out_ = nullptr;
};

class UpperBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare_stream("upper", {"word"});
  }
  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    std::string word = input.get_string(0);
    for (char& c : word) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    out.emit_to("upper", {word});
  }
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("words", gale::make<WordSpout>());
  builder.set_bolt("upper", gale::make<UpperBolt>(), 3).set_num_tasks(6).shuffle_grouping("words");
  config.set(gale::keys::topology_name, "chosen-name");
}

}  // namespace

GALE_TOPOLOGY(build)
