#pragma once

// Splits sentences into words: the first bolt of Storm's word count. Part of libgale_components
// (pkg-config module gale-components).

#include <cstddef>
#include <string_view>

#include <gale/bolt.hpp>

namespace gale::bolts {

// Calls word(std::string_view) for each space-separated word of `sentence`, in order; runs of
// spaces separate no empty words. The words SplitSentenceBolt emits. Allocates nothing.
template <class F>
void for_each_word(std::string_view sentence, F&& word) {
  std::size_t start = 0;
  while (start < sentence.size()) {
    std::size_t end = sentence.find(' ', start);
    if (end == std::string_view::npos) end = sentence.size();
    if (end > start) word(sentence.substr(start, end - start));
    start = end + 1;
  }
}

// Emits one tuple ("word") per word of the sentence in the input's first field (see
// for_each_word), each anchored to the input, then acks the input. Ignores tick tuples. A first
// field that is not a string fails the input (gale::TypeError from the tuple).
// Thread: all callbacks of one task run on that task's executor thread.
class SplitSentenceBolt : public Bolt {
 public:
  SplitSentenceBolt();
  ~SplitSentenceBolt() override;

  void declare_outputs(OutputDeclarer& declarer) override;
  void execute(const Tuple& input, BoltCollector& out) override;
};

}  // namespace gale::bolts
