#pragma once

// Reads a Redis stream through a consumer group: at-least-once delivery of its entries. Part of
// libgale_redis (pkg-config module gale-redis, which links hiredis).

#include <memory>
#include <string>
#include <vector>

#include <gale/config.hpp>
#include <gale/config_schema.hpp>
#include <gale/spout.hpp>

namespace gale::spouts {

// Reads the stream redis.stream with XREADGROUP in the consumer group redis.group (created with
// XGROUP CREATE ... MKSTREAM at redis.start.id when missing), as consumer redis.consumer.prefix +
// the task index, a name that stays the same across restarts: a task that starts (or reconnects)
// first reads its own pending entries again (id 0), then new ones (>).
//
// Tuples: the entry fields listed in redis.fields (ENTRY_FIELD or ENTRY_FIELD:TUPLE_FIELD), as
// strings, in that order. Message id: the List [stream, entry id]. An acked entry is XACKed
// (batched: one XACK for many ids, pipelined with the next XREADGROUP). A failed entry is emitted
// again after the retry delay (redis.retry.*); after redis.retry.max retries, or when the entry
// lacks a mapped field or was deleted while pending, it goes to the stream redis.error.stream with
// fields ("position", "record", "reason"): "STREAM/ID", the entry as a Map, and why; emitted
// reliably with the same message id, so the entry is XACKed once that tuple is acked. Every
// redis.claim.interval.ms the spout claims (XAUTOCLAIM) entries pending longer than
// redis.claim.min.idle.ms with another consumer, e.g. one whose worker died, so none stays stuck.
//
// next_tuple() never blocks for long: no BLOCK unless redis.block.ms (at most 100) is set, COUNT
// bounded by redis.read.count and by topology.max.spout.pending, and every wait on the server
// bounded by the connect and read timeouts. A server unreachable at start or lost mid-run is
// reported (report_error, naming the address and the client's error) and reconnected with
// backoff; what was pending is read again or claimed after the reconnect, so nothing is lost.
// Thread: all callbacks of one task run on that task's executor thread.
class RedisStreamSpout : public Spout {
 public:
  // Resolves `config` (keys redis.*; Gale's own keys are ignored) against schema(). Throws
  // gale::ConfigError naming the key when one is missing, mistyped, out of range or unknown.
  explicit RedisStreamSpout(const Config& config);
  ~RedisStreamSpout() override;

  // The keys this spout accepts, with their defaults (docs/connectors.md shows the table).
  [[nodiscard]] static ConfigSchema schema();

  void declare_outputs(OutputDeclarer& declarer) override;
  void open(const Context& context, SpoutCollector& out) override;
  void next_tuple() override;
  void ack(const MessageId& id) override;
  void fail(const MessageId& id) override;
  void close() override;

  // Commit hooks, for checkpoints as well as for the at-least-once path (which calls them itself
  // on every ack batch). Redis keeps a pending entry per id rather than an offset, so what may be
  // committed is a set of ids: the entries whose tuple trees completed and that were not yet
  // XACKed ("ms-seq" ids, ascending).
  [[nodiscard]] std::vector<std::string> done_entries() const;
  // XACKs `entries` (some of done_entries()). Returns false when the server could not be reached;
  // they stay done and are XACKed by a later commit.
  bool commit(const std::vector<std::string>& entries);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gale::spouts
