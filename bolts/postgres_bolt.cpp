#include <gale/bolts/postgres_bolt.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gale/collector.hpp>
#include <gale/context.hpp>
#include <gale/errors.hpp>
#include <gale/output_declarer.hpp>
#include <gale/tuple.hpp>

#include "postgres/connection.hpp"
#include "postgres/statement.hpp"

namespace gale::bolts {
namespace {

using Clock = std::chrono::steady_clock;
using postgres::Connection;
using postgres::OnConflict;
using postgres::Outcome;
using postgres::Param;
using postgres::StatementShape;

ConfigSchema make_schema() {
  ConfigSchema s("PostgresBolt");
  s.required_string("postgres.conninfo",
                    "libpq connection string or URI, e.g. host=127.0.0.1 port=5432 dbname=app")
      .required_string("postgres.table", "the table written to (schema.table allowed)")
      .required_string_list("postgres.columns", "the columns written, comma-separated")
      .string_list("postgres.fields", {},
                   "the tuple fields written to those columns, in order (default: the columns)")
      .choice("postgres.mode", "insert", {"insert", "upsert"},
              "plain INSERT, or INSERT ... ON CONFLICT")
      .string_list("postgres.conflict.columns", {},
                   "upsert: the columns of the unique index that decides a conflict")
      .choice("postgres.conflict.action", "update", {"update", "nothing"},
              "upsert: DO UPDATE (the other columns) or DO NOTHING")
      .string("postgres.update.set", "",
              "upsert: the SET clause instead of col = EXCLUDED.col for the other columns, "
              "e.g. count = words.count + EXCLUDED.count")
      .integer("postgres.batch.size", 500, 1, 1'000'000, "rows per transaction")
      .floating("postgres.flush.interval.secs", 0.1, 0.001, 3600,
               "seconds between flushes of a partial batch (the bolt's tick)")
      .integer("postgres.max.buffered", 100'000, 1, 100'000'000,
               "rows kept while the server is unreachable; beyond, the oldest are failed")
      .integer("postgres.connect.timeout.secs", 5, 1, 300,
               "bound on one connection attempt (unless the conninfo sets connect_timeout)")
      .integer("postgres.reconnect.backoff.initial.ms", 100, 1, 3'600'000,
               "wait after the first failed connection attempt; doubles with each one")
      .integer("postgres.reconnect.backoff.max.ms", 10'000, 1, 3'600'000,
               "longest wait between connection attempts");
  return s;
}

// Checks what the schema cannot: keys that must agree with each other.
void check_together(const Config& c) {
  const auto columns = string_list(c, "postgres.columns");
  const auto fields = string_list(c, "postgres.fields");
  if (!fields.empty() && fields.size() != columns.size()) {
    throw ConfigError("PostgresBolt: config key 'postgres.fields' names " +
                      std::to_string(fields.size()) + " fields for " +
                      std::to_string(columns.size()) + " columns");
  }
  const auto conflict = string_list(c, "postgres.conflict.columns");
  if (c.get_string("postgres.mode", "") == "upsert") {
    if (conflict.empty()) {
      throw ConfigError(
          "PostgresBolt: config key 'postgres.conflict.columns' is required with "
          "postgres.mode = upsert");
    }
    for (const std::string& column : conflict) {
      if (std::find(columns.begin(), columns.end(), column) == columns.end()) {
        throw ConfigError("PostgresBolt: config key 'postgres.conflict.columns' names '" + column +
                          "', which is not in postgres.columns");
      }
    }
  } else if (!conflict.empty()) {
    throw ConfigError(
        "PostgresBolt: config key 'postgres.conflict.columns' needs postgres.mode = upsert");
  }
  if (c.get_int("postgres.reconnect.backoff.initial.ms", 0) >
      c.get_int("postgres.reconnect.backoff.max.ms", 0)) {
    throw ConfigError(
        "PostgresBolt: config key 'postgres.reconnect.backoff.initial.ms' is above "
        "postgres.reconnect.backoff.max.ms");
  }
}

std::string describe(const Tuple& input) {
  return "tuple from " + input.source_component() + ":" + input.source_stream() + " " +
         input.to_string();
}

}  // namespace

const ConfigSchema& postgres_bolt_schema() {
  static const ConfigSchema schema = make_schema();
  return schema;
}

struct PostgresBolt::State {
  struct Row {
    Tuple input;
    std::vector<Param> params;  // one per column
    std::string conflict_key;   // upsert: the conflict columns' values, joined
  };

  State(const Config& c)
      : conn(c.get_string("postgres.conninfo", ""),
             static_cast<int>(c.get_int("postgres.connect.timeout.secs", 5))) {}

  // Writes what is buffered, a batch per transaction, while the server takes it.
  void flush();
  // Connects when not connected and the backoff allows; false when still not connected.
  bool ensure_connected();
  // A failed connection attempt or a lost connection: wait longer before the next.
  void back_off(const std::string& what, const Outcome& outcome);
  // Fails the oldest rows beyond max_buffered.
  void shed();
  // Writes the first `n` buffered rows in one transaction and settles them (acks, or fails the
  // rows the server rejects). False when the connection was lost: the rows stay buffered.
  bool write(std::size_t n);
  // One transaction with every row of [0, n); the outcome of the first failing command.
  Outcome write_all(std::size_t n);
  // One transaction, each row under a savepoint; `rejected[i]` gets the server's message for a
  // row it refused. Not ok only when the connection was lost or the commit failed.
  Outcome write_each(std::size_t n, std::vector<std::string>& rejected);

  // Reports at most one error per reason and second: an outage must not flood the log.
  void report(const std::string& message) {
    const auto now = Clock::now();
    if (message == last_report && now - last_report_at < std::chrono::seconds(1)) return;
    last_report = message;
    last_report_at = now;
    out->report_error(message);
  }

  StatementShape shape;
  std::vector<std::string> fields;
  std::vector<std::size_t> conflict_indexes;  // of the conflict columns among the columns
  std::size_t batch_size = 500;
  std::size_t max_buffered = 0;
  std::chrono::milliseconds backoff_initial{100}, backoff_max{10'000}, backoff{0};
  Clock::time_point next_attempt{};
  Connection conn;
  std::deque<Row> buffer;
  BoltCollector* out = nullptr;
  std::string last_report;
  Clock::time_point last_report_at{};
};

PostgresBolt::PostgresBolt(Config config) : config_(postgres_bolt_schema().resolve(config)) {
  check_together(config_);
}

PostgresBolt::~PostgresBolt() = default;

void PostgresBolt::declare_outputs(OutputDeclarer&) {}

Config PostgresBolt::component_config() const {
  Config c;
  c.set(keys::topology_tick_tuple_freq_secs, config_.get_double("postgres.flush.interval.secs", 0.1));
  return c;
}

void PostgresBolt::prepare(const Context&, BoltCollector& out) {
  state_ = std::make_unique<State>(config_);
  State& s = *state_;
  s.out = &out;
  s.shape.table = config_.get_string("postgres.table", "");
  s.shape.columns = string_list(config_, "postgres.columns");
  s.fields = string_list(config_, "postgres.fields");
  if (s.fields.empty()) s.fields = s.shape.columns;
  if (config_.get_string("postgres.mode", "") == "upsert") {
    s.shape.on_conflict = config_.get_string("postgres.conflict.action", "") == "nothing"
                              ? OnConflict::nothing
                              : OnConflict::update;
    s.shape.conflict_columns = string_list(config_, "postgres.conflict.columns");
    s.shape.update_set = config_.get_string("postgres.update.set", "");
    for (const std::string& column : s.shape.conflict_columns) {
      s.conflict_indexes.push_back(static_cast<std::size_t>(
          std::find(s.shape.columns.begin(), s.shape.columns.end(), column) -
          s.shape.columns.begin()));
    }
  }
  s.batch_size = static_cast<std::size_t>(config_.get_int("postgres.batch.size", 500));
  s.max_buffered = static_cast<std::size_t>(config_.get_int("postgres.max.buffered", 100'000));
  s.backoff_initial =
      std::chrono::milliseconds(config_.get_int("postgres.reconnect.backoff.initial.ms", 100));
  s.backoff_max =
      std::chrono::milliseconds(config_.get_int("postgres.reconnect.backoff.max.ms", 10'000));
}

namespace {

// The parameter for one value; false (and `why`) for a value no column can take.
bool to_param(const Value& v, Param& p, std::string& why) {
  switch (v.type()) {
    case Value::Type::null:
      p.null = true;
      return true;
    case Value::Type::boolean:
      p.data = v.as_bool() ? "true" : "false";
      return true;
    case Value::Type::integer:
      p.data = std::to_string(v.as_int());
      return true;
    case Value::Type::floating: {
      char text[32];
      const auto r = std::to_chars(std::begin(text), std::end(text), v.as_double());
      p.data.assign(text, r.ptr);
      return true;
    }
    case Value::Type::string:
      p.data = v.as_string();
      return true;
    case Value::Type::bytes:
      p.data.assign(v.as_bytes().begin(), v.as_bytes().end());
      p.binary = true;
      return true;
    case Value::Type::list:
    case Value::Type::map:
      why = std::string("a ") + type_name(v.type()) + " cannot be written to a column";
      return false;
  }
  why = "unknown value type";
  return false;
}

}  // namespace

void PostgresBolt::execute(const Tuple& input, BoltCollector& out) {
  State& s = *state_;
  if (input.is_tick()) {
    s.flush();
    return;
  }
  State::Row row{input, {}, {}};
  row.params.resize(s.fields.size());
  for (std::size_t i = 0; i < s.fields.size(); ++i) {
    const auto index = input.fields().index_of(s.fields[i]);
    std::string why;
    if (!index) {
      why = "it has no field '" + s.fields[i] + "' (fields: " + input.fields().to_string() + ")";
    } else if (!to_param(input.get(*index), row.params[i], why)) {
      why = "field '" + s.fields[i] + "': " + why;
    }
    if (!why.empty()) {
      out.report_error("PostgresBolt: cannot write " + describe(input) + " to table '" +
                       s.shape.table + "': " + why);
      out.fail(input);
      return;
    }
  }
  for (std::size_t index : s.conflict_indexes) {
    const Param& p = row.params[index];
    row.conflict_key += p.null ? std::string("\x1e") : p.data;
    row.conflict_key += '\x1f';
  }
  s.buffer.push_back(std::move(row));
  if (s.buffer.size() >= s.batch_size) s.flush();
}

void PostgresBolt::State::flush() {
  while (!buffer.empty()) {
    if (!ensure_connected()) {
      shed();
      return;
    }
    if (!write(std::min(buffer.size(), batch_size))) return;
  }
}

bool PostgresBolt::State::ensure_connected() {
  if (conn.connected()) return true;
  if (Clock::now() < next_attempt) return false;
  const Outcome o = conn.connect();
  if (!o.ok) {
    back_off("cannot connect to " + conn.address(), o);
    return false;
  }
  backoff = std::chrono::milliseconds(0);
  return true;
}

void PostgresBolt::State::back_off(const std::string& what, const Outcome& outcome) {
  const std::string address = conn.address();
  conn.close();
  backoff = backoff.count() == 0 ? backoff_initial : std::min(backoff * 2, backoff_max);
  next_attempt = Clock::now() + backoff;
  report("PostgresBolt: " + what + ": " + outcome.message + " (" +
         std::to_string(buffer.size()) + " rows buffered; next attempt in " +
         std::to_string(backoff.count()) + " ms)");
}

void PostgresBolt::State::shed() {
  if (buffer.size() <= max_buffered) return;
  const std::size_t excess = buffer.size() - max_buffered;
  for (std::size_t i = 0; i < excess; ++i) {
    out->fail(buffer.front().input);
    buffer.pop_front();
  }
  report("PostgresBolt: failed the " + std::to_string(excess) +
         " oldest rows: more than postgres.max.buffered (" + std::to_string(max_buffered) +
         ") are waiting for the server");
}

bool PostgresBolt::State::write(std::size_t n) {
  Outcome o = write_all(n);
  std::vector<std::string> rejected;
  if (!o.ok && !o.connection_lost) {
    // The server refused the data: find the rows it refuses and commit the others.
    rejected.assign(n, std::string());
    o = write_each(n, rejected);
  }
  if (!o.ok) {
    if (o.connection_lost) {
      back_off("lost the connection to " + conn.address() + " while writing " +
                   std::to_string(n) + " rows to '" + shape.table + "'",
               o);
      return false;
    }
    // Even the commit of the rows it took failed: fail them all, their spouts replay them.
    report("PostgresBolt: writing " + std::to_string(n) + " rows to '" + shape.table +
           "' failed: " + o.message);
    rejected.assign(n, o.message);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Row& row = buffer.front();
    if (!rejected.empty() && !rejected[i].empty()) {
      report("PostgresBolt: table '" + shape.table + "' refused the row of " +
             describe(row.input) + ": " + rejected[i]);
      out->fail(row.input);
    } else {
      out->ack(row.input);
    }
    buffer.pop_front();
  }
  return true;
}

Outcome PostgresBolt::State::write_all(std::size_t n) {
  Outcome o = conn.exec("BEGIN");
  if (!o.ok) return o;
  const std::size_t per_statement = postgres::max_rows_per_statement(shape.columns.size());
  std::size_t i = 0;
  while (i < n) {
    // A statement takes rows in order until it is full or a row's conflict key repeats (one
    // INSERT ... ON CONFLICT DO UPDATE may not touch a row twice); the next one goes on from there.
    std::set<std::string_view> keys;
    std::vector<const Param*> params;
    std::size_t rows = 0;
    while (i + rows < n && rows < per_statement) {
      const Row& row = buffer[i + rows];
      if (shape.on_conflict != OnConflict::none && !keys.insert(row.conflict_key).second) break;
      for (const Param& p : row.params) params.push_back(&p);
      ++rows;
    }
    o = conn.exec(postgres::insert_statement(shape, rows), params);
    if (!o.ok) {
      if (!o.connection_lost) conn.exec("ROLLBACK");
      return o;
    }
    i += rows;
  }
  return conn.exec("COMMIT");
}

Outcome PostgresBolt::State::write_each(std::size_t n, std::vector<std::string>& rejected) {
  Outcome o = conn.exec("BEGIN");
  if (!o.ok) return o;
  const std::string one_row = postgres::insert_statement(shape, 1);
  for (std::size_t i = 0; i < n; ++i) {
    if (o = conn.exec("SAVEPOINT gale_row"); !o.ok) return o;
    std::vector<const Param*> params;
    for (const Param& p : buffer[i].params) params.push_back(&p);
    o = conn.exec(one_row, params);
    if (o.connection_lost) return o;
    if (!o.ok) {
      rejected[i] = o.message;
      if (o = conn.exec("ROLLBACK TO SAVEPOINT gale_row"); !o.ok) return o;
    } else if (o = conn.exec("RELEASE SAVEPOINT gale_row"); !o.ok) {
      return o;
    }
  }
  return conn.exec("COMMIT");
}

void PostgresBolt::cleanup() {
  if (state_ && !state_->buffer.empty()) {
    state_->next_attempt = {};  // one last try, whatever the backoff
    state_->flush();
  }
  state_.reset();
}

}  // namespace gale::bolts
