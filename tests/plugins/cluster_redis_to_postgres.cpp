// The connectors' cluster test topology: entries of a Redis stream, each with a unique "id"
// field, go through a pass-through bolt into a PostgreSQL table (one row per delivery, so that
// the test can count duplicates). The servers and names come from the config given at submit:
// redis.url, redis.stream, postgres.conninfo and postgres.table, read here when nimbus and each
// worker build the topology.

#include <string>

#include <gale/bolts/postgres_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/redis_stream_spout.hpp>

namespace {

// Hands each id on: the hop that makes most tuples cross from one worker to the other.
// Thread: all callbacks of one task run on that task's executor thread.
class PassBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"id"}); }
  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    out.emit({input.get_string("id")});
  }
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  gale::Config source;
  source.set("redis.url", config.get_string("redis.url", ""));
  source.set("redis.stream", config.get_string("redis.stream", ""));
  source.set("redis.fields", "id");
  // Nothing is given up on while workers die: an entry whose trees keep failing is retried, not
  // routed to the error stream.
  source.set("redis.retry.max", -1);
  source.set("redis.retry.max.ms", 1000);
  // A killed worker's consumer reads its own pending entries again when the worker restarts;
  // the sweep is the backstop, kept above the message timeout so a live consumer's entries are
  // not claimed.
  source.set("redis.claim.min.idle.ms", 20'000);
  source.set("redis.claim.interval.ms", 2'000);

  gale::Config sink;
  sink.set("postgres.conninfo", config.get_string("postgres.conninfo", ""));
  sink.set("postgres.table", config.get_string("postgres.table", ""));
  sink.set("postgres.columns", "id");

  builder.set_spout("entries", gale::make<gale::spouts::RedisStreamSpout>(source), 2);
  builder.set_bolt("pass", gale::make<PassBolt>(), 2).shuffle_grouping("entries");
  builder.set_bolt("store", gale::make<gale::bolts::PostgresBolt>(sink), 2)
      .fields_grouping("pass", {"id"});
  config.set(gale::keys::topology_workers, 2);
  config.set(gale::keys::topology_message_timeout_secs, 10);
}

}  // namespace

GALE_TOPOLOGY(build)
