#include <gale/bolts/word_count_bolt.hpp>

namespace gale::bolts {

WordCountBolt::WordCountBolt(WordCountOptions options) : options_(options) {}

WordCountBolt::~WordCountBolt() = default;

void WordCountBolt::declare_outputs(OutputDeclarer& declarer) {
  if (options_.emit_counts) declarer.declare({"word", "count"});
}

void WordCountBolt::execute(const Tuple& input, BoltCollector& out) {
  if (input.is_tick()) return;
  const std::string& word = input.get_string(0);
  const std::int64_t count = ++counts_[word];
  if (options_.emit_counts) out.emit(input, {word, count});
  out.ack(input);
}

}  // namespace gale::bolts
