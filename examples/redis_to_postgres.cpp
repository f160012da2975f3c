// Word count from a Redis stream into a PostgreSQL table: sentences read from a stream through a
// consumer group (RedisStreamSpout) -> split (shuffle) -> count (fields on "word") -> one upsert
// per word into a table (PostgresBolt, fields on "word"). Links the Redis and PostgreSQL
// connectors (pkg-config modules gale-redis and gale-postgres).
//
// Where the servers are, and the names, come from the topology config, read here when the
// topology is built; every redis.* key goes to the spout and every postgres.* key to the bolt,
// so any of their keys (docs/connectors.md) can be set the same way:
//
//   gale local build/examples/redis_to_postgres.so -c redis.url=redis://127.0.0.1:6379
//       -c redis.stream=sentences -c postgres.table=word_counts
//       -c postgres.conninfo='host=127.0.0.1 port=5432 dbname=postgres'
//
// The table needs a unique word: CREATE TABLE word_counts (word text PRIMARY KEY, count bigint).
// scripts/redis-to-postgres.sh starts both servers, fills the stream and runs this.
//
// At least once, end to end: an entry is XACKed only after every count its sentence produced
// was committed to the table. A replayed sentence is counted again, so after a failure the
// counts may be too high, never too low; the upsert keeps the larger count, so a late, older
// count never replaces a newer one.

#include <string>
#include <string_view>

#include <gale/bolts/postgres_bolt.hpp>
#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/bolts/word_count_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/redis_stream_spout.hpp>

namespace {

// The entries of `config` whose keys start with `prefix`: what one connector takes.
gale::Config with_prefix(const gale::Config& config, std::string_view prefix) {
  gale::Config picked;
  for (const auto& [key, value] : config.entries()) {
    if (key.starts_with(prefix)) picked.set(key, value);
  }
  return picked;
}

// Sets `key` in `config` unless the user did.
void set_default(gale::Config& config, const std::string& key, gale::Value value) {
  if (!config.contains(key)) config.set(key, std::move(value));
}

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  gale::Config source = with_prefix(config, "redis.");
  set_default(source, "redis.url", "redis://127.0.0.1:6379");
  set_default(source, "redis.stream", "sentences");
  set_default(source, "redis.fields", "sentence");

  gale::Config sink = with_prefix(config, "postgres.");
  set_default(sink, "postgres.conninfo", "host=127.0.0.1 port=5432 dbname=postgres");
  set_default(sink, "postgres.table", "word_counts");
  const std::string table = sink.get_string("postgres.table", "");
  sink.set("postgres.columns", "word, count");
  sink.set("postgres.mode", "upsert");
  sink.set("postgres.conflict.columns", "word");
  set_default(sink, "postgres.update.set", "count = GREATEST(" + table + ".count, EXCLUDED.count)");

  builder.set_spout("sentences", gale::make<gale::spouts::RedisStreamSpout>(source), 1);
  builder.set_bolt("split", gale::make<gale::bolts::SplitSentenceBolt>(), 2)
      .shuffle_grouping("sentences");
  builder.set_bolt("count", gale::make<gale::bolts::WordCountBolt>(), 2)
      .fields_grouping("split", {"word"});
  // Fields grouping again: one task writes each word, in the order its counts grew.
  builder.set_bolt("store", gale::make<gale::bolts::PostgresBolt>(sink), 2)
      .fields_grouping("count", {"word"});
}

}  // namespace

GALE_TOPOLOGY(build)
