#pragma once

// Components shared by the local-mode integration tests.

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/bolts/word_count_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/sentence_spout.hpp>
#include <gale/testing.hpp>

namespace gale::test {

// Word count's bolts are the built-in ones: split anchors each word to its sentence; count emits
// (word, count) anchored to the word.
using SplitBolt = bolts::SplitSentenceBolt;
using CountBolt = bolts::WordCountBolt;

// `copies` rounds of the built-in sentences.
inline std::vector<Values> sentences(int copies) {
  std::vector<Values> out;
  for (int c = 0; c < copies; ++c) {
    for (std::string_view s : spouts::k_default_sentences) out.push_back({s});
  }
  return out;
}

// Counted independently of the bolts under test: words are what std::istream reads.
inline std::map<std::string, std::int64_t> expected_counts(const std::vector<Values>& input) {
  std::map<std::string, std::int64_t> counts;
  for (const Values& v : input) {
    std::istringstream words(v[0].as_string());
    std::string w;
    while (words >> w) ++counts[w];
  }
  return counts;
}

// The highest count each word reached in the count bolt's output.
inline std::map<std::string, std::int64_t> final_counts(const std::vector<Values>& emitted) {
  std::map<std::string, std::int64_t> counts;
  for (const Values& v : emitted) {
    auto& c = counts[v[0].as_string()];
    c = std::max(c, v[1].as_int());
  }
  return counts;
}

}  // namespace gale::test
