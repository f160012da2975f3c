#pragma once

// Writes tuples to Redis: XADD to a stream, or one configured command per tuple. Part of
// libgale_redis (pkg-config module gale-redis, which links hiredis).

#include <memory>

#include <gale/bolt.hpp>
#include <gale/config.hpp>
#include <gale/config_schema.hpp>

namespace gale::bolts {

// redis.mode "xadd": each tuple becomes an entry of redis.stream (XADD STREAM [MAXLEN ~ N] * F V
// ...), its fields redis.fields (all of the tuple's when empty). redis.mode "command": each tuple
// runs redis.command, whose arguments are split on spaces and may name tuple fields in braces
// ("HINCRBY counts {word} {count}"). Values are written as text: strings as they are, integers
// and doubles in decimal, bytes raw.
//
// Commands are pipelined: a tuple's command is queued at once and the queue is sent and its
// replies read when it holds redis.batch.size commands, or on a tick (every
// redis.flush.interval.secs). An input is acked once its reply came back, and failed (the error
// reported, once per flush) when the reply is an error, when the connection broke before its reply,
// or when the tuple lacks a field to write. While the server is unreachable inputs are failed, so
// their spouts replay them, and the bolt reconnects with backoff.
// Thread: all callbacks of one task run on that task's executor thread.
class RedisBolt : public Bolt {
 public:
  // Resolves `config` (keys redis.*) against schema(). Throws gale::ConfigError naming the key when
  // one is missing, mistyped, out of range or unknown, or redis.command is malformed.
  explicit RedisBolt(const Config& config);
  ~RedisBolt() override;

  // The keys this bolt accepts, with their defaults (docs/connectors.md shows the table).
  [[nodiscard]] static ConfigSchema schema();

  void declare_outputs(OutputDeclarer& declarer) override;
  void prepare(const Context& context, BoltCollector& out) override;
  void execute(const Tuple& input, BoltCollector& out) override;
  void cleanup() override;
  // Tick tuples every redis.flush.interval.secs.
  Config component_config() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gale::bolts
