#pragma once

// Components shared by the local-mode integration tests.

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gale/gale.hpp>
#include <gale/testing.hpp>

namespace gale::test {

// Splits a sentence into words, anchored to the sentence.
class SplitBolt : public Bolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"word"}); }
  void execute(const Tuple& input, BoltCollector& out) override {
    std::istringstream words(input.get_string("sentence"));
    std::string w;
    while (words >> w) out.emit(input, {w});
    out.ack(input);
  }
};

// Counts words; emits (word, count) anchored to the input.
class CountBolt : public BasicBolt {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"word", "count"}); }
  void execute(const Tuple& input, BasicCollector& out) override {
    const std::string& w = input.get_string("word");
    out.emit({w, ++counts_[w]});
  }

 private:
  std::map<std::string, std::int64_t> counts_;
};

inline std::vector<Values> sentences(int copies) {
  static const char* text[] = {"the cow jumped over the moon", "an apple a day keeps the doctor away",
                               "four score and seven years ago", "snow white and the seven dwarfs",
                               "i am at two with nature"};
  std::vector<Values> out;
  for (int c = 0; c < copies; ++c) {
    for (const char* s : text) out.push_back({s});
  }
  return out;
}

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
