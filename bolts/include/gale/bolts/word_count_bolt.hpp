#pragma once

// Counts words: the last bolt of Storm's word count. Part of libgale_components (pkg-config module
// gale-components).

#include <cstdint>
#include <string>
#include <unordered_map>

#include <gale/bolt.hpp>

namespace gale::bolts {

struct WordCountOptions {
  // true: emit ("word", "count") with the word's new count for every input; false: declare and
  // emit nothing (a sink, e.g. when only counts() or a subclass reads the counts).
  bool emit_counts = true;
};

// Counts the words in its inputs' first field. Subscribe it with a fields grouping on the word so
// that every occurrence of a word reaches the same task: each task's counts are then exact. Every
// emit is anchored to its input, which is acked after it. Ignores tick tuples. A first field that
// is not a string fails the input (gale::TypeError from the tuple).
// Thread: all callbacks of one task run on that task's executor thread.
class WordCountBolt : public Bolt {
 public:
  explicit WordCountBolt(WordCountOptions options = {});
  ~WordCountBolt() override;

  void declare_outputs(OutputDeclarer& declarer) override;
  void execute(const Tuple& input, BoltCollector& out) override;

  // This task's count of every word it has seen. Valid until the bolt is destroyed; read it on
  // the task's thread (from a subclass's callbacks, or after the topology stopped).
  const std::unordered_map<std::string, std::int64_t>& counts() const noexcept { return counts_; }

 private:
  const WordCountOptions options_;
  std::unordered_map<std::string, std::int64_t> counts_;
};

}  // namespace gale::bolts
