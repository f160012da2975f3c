#include <gale/bolts/split_sentence_bolt.hpp>

namespace gale::bolts {

SplitSentenceBolt::SplitSentenceBolt() = default;
SplitSentenceBolt::~SplitSentenceBolt() = default;

void SplitSentenceBolt::declare_outputs(OutputDeclarer& declarer) { declarer.declare({"word"}); }

void SplitSentenceBolt::execute(const Tuple& input, BoltCollector& out) {
  if (input.is_tick()) return;
  for_each_word(input.get_string(0), [&](std::string_view word) { out.emit(input, {word}); });
  out.ack(input);
}

}  // namespace gale::bolts
