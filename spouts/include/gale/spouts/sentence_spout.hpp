#pragma once

// A reliable spout that emits sentences in turn: the source of Storm's word count, endless or
// finite. Part of libgale_components (pkg-config module gale-components).

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <gale/spout.hpp>

namespace gale::spouts {

// The five sentences of Storm's word count (RandomSentenceSpout).
inline constexpr std::array<std::string_view, 5> k_default_sentences = {
    "the cow jumped over the moon",   "an apple a day keeps the doctor away",
    "four score and seven years ago", "snow white and the seven dwarfs",
    "i am at two with nature",
};

struct SentenceSpoutOptions {
  // Emitted in turn; sentence number i is sentences[i % sentences.size()].
  // REQUIRES: not empty (the constructor throws gale::ConfigError otherwise).
  std::vector<std::string> sentences{k_default_sentences.begin(), k_default_sentences.end()};
  // Sentences to emit in all, across the component's tasks; 0: endless.
  std::int64_t limit = 0;
};

// Emits one-field tuples ("sentence"). Sentence number i goes out with message id i from the task
// whose index is i % tasks, so several tasks start at different sentences and never emit the same
// number. A failed (or timed out) id is emitted again, before any new sentence; nothing is kept per
// pending tuple, since the id says which sentence it was. next_tuple() never blocks: it emits a
// few tuples at most, replays first, while the task stays below topology.max.spout.pending, and
// nothing once a finite spout has emitted all and has no replay due.
// Thread: all callbacks of one task run on that task's executor thread.
class SentenceSpout : public Spout {
 public:
  // Throws gale::ConfigError when options.sentences is empty or options.limit is negative.
  explicit SentenceSpout(SentenceSpoutOptions options = {});
  ~SentenceSpout() override;

  void declare_outputs(OutputDeclarer& declarer) override;
  void open(const Context& context, SpoutCollector& out) override;
  void next_tuple() override;
  void fail(const MessageId& id) override;

 protected:
  // How many sentences to emit in all (0: endless); called once, from open(). Returns
  // options.limit; override it to size a run from the config (e.g. a `-c` override).
  virtual std::int64_t limit(const Context& context) const;

 private:
  bool below_max_pending() const;
  void emit(std::int64_t number);

  // Constant after open().
  SentenceSpoutOptions options_;
  SpoutCollector* out_ = nullptr;
  std::int64_t limit_ = 0;        // 0: endless
  std::int64_t max_pending_ = 0;  // 0: unbounded
  std::int64_t stride_ = 1;       // the component's task count
  // Task state.
  std::int64_t next_ = 0;            // the next new sentence number this task emits
  std::deque<std::int64_t> replay_;  // failed numbers to emit again, oldest first
};

}  // namespace gale::spouts
