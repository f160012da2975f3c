#pragma once

// Writes tuples into a PostgreSQL table: a batch of rows per transaction, inserted or upserted
// (ON CONFLICT), each input acked only once its row is committed. Part of libgale_postgres
// (pkg-config module gale-postgres); libpq stays out of this header.

#include <memory>

#include <gale/bolt.hpp>
#include <gale/config.hpp>
#include <gale/config_schema.hpp>

namespace gale::bolts {

// The keys PostgresBolt accepts (postgres.*), with their defaults: see docs/connectors.md.
[[nodiscard]] const ConfigSchema& postgres_bolt_schema();

// Maps the fields named by postgres.fields (by default the column names) of each input to the
// columns postgres.columns of postgres.table. Rows are buffered and written when
// postgres.batch.size are waiting or at the next tick (every postgres.flush.interval.secs), all
// in one transaction: one multi-row INSERT per statement (or INSERT ... ON CONFLICT ... DO UPDATE
// / DO NOTHING with postgres.mode = upsert; rows of one batch with the same conflict key go into
// successive statements, in order, so a SET clause that reads the old row sees each of them).
//
// Acks and fails:
// - an input is acked after the transaction holding its row committed;
// - an input without a mapped field, or with a list or map value, is failed at once and reported;
// - when the server rejects the batch for its data (a type, a constraint), the rows are written
//   again one by one under savepoints: the rejected ones are failed and reported with the row and
//   the server's message, the others committed and acked;
// - when the server cannot be reached or the connection drops, the rows stay buffered and the
//   bolt reconnects with a backoff (postgres.reconnect.backoff.*.ms), reporting each failed
//   attempt (`gale status`, the worker log); beyond postgres.max.buffered rows the oldest are
//   failed so their spouts replay them later. A commit whose outcome was lost with the connection
//   is written again: at-least-once (idempotent with upsert).
// Thread: all callbacks run on the bolt task's executor thread.
class PostgresBolt : public Bolt {
 public:
  // Throws gale::ConfigError naming the key when `config` does not fit postgres_bolt_schema().
  explicit PostgresBolt(Config config);
  ~PostgresBolt() override;

  void declare_outputs(OutputDeclarer& declarer) override;
  void prepare(const Context& context, BoltCollector& out) override;
  void execute(const Tuple& input, BoltCollector& out) override;
  void cleanup() override;
  Config component_config() const override;

 private:
  struct State;
  Config config_;  // resolved
  std::unique_ptr<State> state_;
};

}  // namespace gale::bolts
