#pragma once

// The connector scenarios (docs/performance.md, "Connectors"): the suite starts a connector's
// server (a helper process on loopback, killed by pid) and pre-produces a fixed number of records;
// then, run after run, a child process reads all of them from the beginning, either with the
// connector's spout into a no-op bolt (local mode, acking on) or with a plain client of the same
// client library, each run in a consumer group of its own. A connector's scenarios exist only in a
// build that has the connector (connector_deps in meson).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gale/component.hpp>

#include "bench/proc.hpp"

namespace gale::bench {

// One child run of a connector scenario (gale_bench --run connector ...).
struct ConnectorRunOptions {
  std::string connector;  // "kafka" or "redis"
  bool spout = true;      // false: the plain client
  std::string source;     // the server: Kafka bootstrap servers, or redis://HOST:PORT
  std::string group;      // the run's own consumer group, so it reads every record from the start
  std::int64_t records = 0;         // records to read: all of those pre-produced
  std::int64_t warmup_records = 0;  // read before the measured part starts
  std::int64_t max_pending = 1024;  // topology.max.spout.pending of the spout run
  double timeout_s = 60;            // for all the records, connecting included
};

// A connector's server with the records pre-produced, running until destroyed.
// Thread: the suite's.
class ConnectorSource {
 public:
  virtual ~ConnectorSource() = default;
  // What the child runs connect to (ConnectorRunOptions::source).
  [[nodiscard]] virtual std::string address() const = 0;
};

// What the suite needs to know of one connector's scenarios (their names and ids:
// connector_scenarios() in bench/scenarios.hpp).
struct ConnectorBench {
  std::string id;        // "kafka", "redis"
  std::int64_t records;  // pre-produced; every run reads them all
  // Why the scenarios cannot run on this machine (a server binary is missing), or nullopt.
  std::function<std::optional<std::string>()> missing;
  // Starts the server in a temporary directory on a free loopback port and pre-produces
  // `records`. Throws std::runtime_error when the server does not start or take the records.
  std::function<std::unique_ptr<ConnectorSource>()> start;
  // One child run, in this process: the figures of its RecordWindow.
  std::function<Figures(const ConnectorRunOptions&)> run;
};

// Those of connector_scenarios() this build has.
std::vector<ConnectorBench> connector_benches();

// The measured part of a run that reads a fixed number of records: from the moment
// `warmup_records` are done to the moment all `records` are. Fixed counts instead of a timed
// window, so that a run never runs out of pre-produced records, and the consumer group's join
// and the first fetches stay out of the figure. Thread: one owner.
class RecordWindow {
 public:
  RecordWindow(std::int64_t warmup_records, std::int64_t records, double timeout_s);

  // `done`: records done so far (a count that only grows). Returns true once all are done.
  // Throws std::runtime_error when the timeout passed first, naming how many were done.
  bool observe(std::int64_t done);

  // sink_rate (records/s over the measured part), seconds, records (measured), cpu_cores (this
  // process), per_cpu_s (records per CPU-second), other_with_server_cores (the rest of the
  // machine, the server read from included).
  [[nodiscard]] Figures figures() const;

 private:
  struct Mark {
    std::chrono::steady_clock::time_point at;
    std::int64_t done = 0;
    double cpu = 0;
    double busy = 0;
  };
  static Mark mark(std::int64_t done);

  const std::int64_t warmup_records_;
  const std::int64_t records_;
  const std::chrono::steady_clock::time_point deadline_;
  std::optional<Mark> start_, end_;
};

// Runs the spout that `spout` makes ("spout", 1 task) into the no-op sink in local mode with
// acking on until `options`' records are acked: the figures of its RecordWindow, and failed
// (trees failed in the run).
Figures run_spout_to_noop(gale::SpoutFactory spout, const ConnectorRunOptions& options);

// Each connector's own (kafka_runs.cpp, redis_runs.cpp), present when it is built.
ConnectorBench kafka_bench();
ConnectorBench redis_bench();

}  // namespace gale::bench
