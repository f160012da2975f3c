#pragma once

// The benchmark topologies, shared by the local-mode runs (gale_bench) and the cluster plugin
// (gale_bench_plugin.so), so that both run exactly the same spouts and bolts.
//
//   noop       spout (constant one-field tuple) -> noop (shuffle): acks and counts
//   wordcount  spout (cycles 5 fixed sentences) -> split (shuffle) -> count (fields on "word")
//
// and for the windowed count (acking off):
//
//   keyed_noop        spout (one int field "key", cycling over bench.keys keys) -> noop (fields
//                     on "key"): the baseline of the two windowed runs
//   window_aggregate  the same spout -> window (fields on "key"): a sliding window of 10 s every
//                     1 s with incremental aggregation (CountAggregate by "key"); execute()
//                     emits (key, count) for each key of each window, to no subscriber
//   window_tuples     the same window without aggregation: it keeps the tuples, and execute()
//                     counts per key over window.get() and emits (key, count) the same way
//
// split and count are the built-in SplitSentenceBolt and WordCountBolt (a sink here: it counts and
// acks, emits nothing) with the bench's probes on top. The spout is the bench's own: it emits at
// bench.rate, carries its emit time in the message id to measure complete latency, and counts a
// failed tree instead of replaying it.
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

#include <cstdint>
#include <string>
#include <string_view>

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/sentence_spout.hpp>

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
// Distinct keys of the keyed spout (keyed_noop and the window shapes); default 10,000.
inline constexpr const char* k_keys = "bench.keys";
inline constexpr std::int64_t k_default_keys = 10'000;
// The window of the windowed runs: its length and sliding interval, ms (processing time).
inline constexpr std::int64_t k_window_length_ms = 10'000;
inline constexpr std::int64_t k_window_slide_ms = 1'000;

inline constexpr std::string_view k_spout = "spout";
inline constexpr std::string_view k_noop = "noop";
inline constexpr std::string_view k_split = "split";
inline constexpr std::string_view k_count = "count";
inline constexpr std::string_view k_window = "window";

enum class Shape { noop, wordcount, keyed_noop, window_aggregate, window_tuples };

// The sentences the word count spout cycles through (the built-in ones), and their words in total.
inline constexpr const auto& k_sentences = gale::spouts::k_default_sentences;
inline constexpr int k_sentence_count = static_cast<int>(k_sentences.size());
inline constexpr int k_words_per_cycle = 32;  // words in the 5 sentences

// Splits a sentence as the word count's split bolt (the built-in SplitSentenceBolt) does.
using gale::bolts::for_each_word;

// Adds the components of `shape` to `builder`.
void build(Shape shape, gale::TopologyBuilder& builder);
gale::Topology topology(Shape shape);
// Adds the no-op sink ("noop": acks each input, counts it in a probe) reading `from` with a
// shuffle grouping; the connector scenarios put it behind a connector's spout.
void add_noop_sink(gale::TopologyBuilder& builder, const std::string& from);
// The component whose executed tuples are the topology's throughput: noop, count (words), or
// window (the windowed bolt's input tuples).
std::string_view sink_of(Shape shape);
// "noop", "wordcount", "keyed-noop", "window-aggregate", "window-tuples" (gale_bench --shape).
const char* name_of(Shape shape);
// The most tuples a window_tuples bolt of this process has held at once: those of a window that
// closed plus those that left with it (they are freed after its execute()). Thread-safe.
std::uint64_t peak_window_tuples();

}  // namespace gale::bench
