// Word count, Storm's first example: sentences -> split (shuffle) -> count (fields on "word"),
// wired from Gale's built-in components (libgale_components, pkg-config module gale-components).
// Reliable end to end: the spout emits every sentence with a message id and re-emits it when its
// tree fails or times out; the bolts anchor what they emit and ack their input.
//
// The components are short reads: spouts/sentence_spout.cpp, bolts/split_sentence_bolt.cpp and
// bolts/word_count_bolt.cpp (the README's tutorial writes the same three out in full).
//
//   gale local build/examples/word_count.so --duration 10

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/bolts/word_count_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/sentence_spout.hpp>

namespace {

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("sentences", gale::make<gale::spouts::SentenceSpout>(), 1);
  builder.set_bolt("split", gale::make<gale::bolts::SplitSentenceBolt>(), 2)
      .shuffle_grouping("sentences");
  builder.set_bolt("count", gale::make<gale::bolts::WordCountBolt>(), 2)
      .fields_grouping("split", {"word"});
  // Bounds the sentences in flight: replays wait less and latency stays low.
  config.set(gale::keys::topology_max_spout_pending, 512);
}

}  // namespace

GALE_TOPOLOGY(build)
