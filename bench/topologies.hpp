#pragma once

// The benchmark topologies, shared by the local-mode runs (gale_bench) and the cluster plugin
// (gale_bench_plugin.so), so that both run exactly the same spouts and bolts.
//
//   noop       spout (constant one-field tuple) -> noop (shuffle): acks and counts
//   wordcount  spout (cycles 5 fixed sentences) -> split (shuffle) -> count (fields on "word")
//
// Each component has one executor. The component ids sort as count < noop < split < spout, which
// makes the even scheduler put spout and count on one worker and split on the other when word
// count runs on two workers: every data tuple crosses ZeroMQ (the suite checks `gale status`).
//
// With acking on (topology.acker.executors > 0) the spout emits every tuple with a message id
// that carries its emit time, and computes the complete latency in ack(); bolts anchor and ack.
// With acking off the spout emits without message ids.
//
// Components read these config keys (topology config or `-c` overrides) in open()/prepare():

#include <string_view>

#include <gale/gale.hpp>

namespace gale::bench {

// Spout tuples per second per spout task; 0 or absent: as fast as the runtime takes them.
inline constexpr const char* k_rate = "bench.rate";
// true: the spout emits nothing (idle-worker measurement).
inline constexpr const char* k_idle = "bench.idle";
// false: sink bolts never ack, so trees stay pending (memory per pending tree). Default true.
inline constexpr const char* k_sink_acks = "bench.sink.acks";
// A directory: every task publishes its probe snapshot there (cluster mode). Absent: the probes
// are read in this process only (local mode).
inline constexpr const char* k_stats_dir = "bench.stats.dir";

inline constexpr std::string_view k_spout = "spout";
inline constexpr std::string_view k_noop = "noop";
inline constexpr std::string_view k_split = "split";
inline constexpr std::string_view k_count = "count";

enum class Shape { noop, wordcount };

// The sentences the word count spout cycles through, and their words in total.
inline constexpr std::string_view k_sentences[] = {
    "the cow jumped over the moon",   "an apple a day keeps the doctor away",
    "four score and seven years ago", "snow white and the seven dwarfs",
    "i am at two with nature",
};
inline constexpr int k_sentence_count = 5;
inline constexpr int k_words_per_cycle = 32;  // words in the 5 sentences

// Calls word(std::string_view) for each space-separated word of `sentence`, in order.
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

// Adds the components of `shape` to `builder`.
void build(Shape shape, gale::TopologyBuilder& builder);
gale::Topology topology(Shape shape);
// The component whose executed tuples are the topology's throughput: noop, or count (words).
std::string_view sink_of(Shape shape);
const char* name_of(Shape shape);

}  // namespace gale::bench
