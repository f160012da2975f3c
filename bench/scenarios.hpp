#pragma once

// Internal to the suite: the ids and constants of its scenarios, shared by the runs (suite.cpp,
// cluster_runs.cpp) and the report (report.cpp).

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "bench/topologies.hpp"

namespace gale::bench {

// Trees in the acker table of the acker-memory run.
inline constexpr std::int64_t k_acker_trees = 1'000'000;
// Pending trees of the two pending-memory runs; their heaps' difference is the runtime's cost.
inline constexpr std::int64_t k_pending_small = 50'000;
inline constexpr std::int64_t k_pending_large = 250'000;
// The window of the idle runs.
inline constexpr double k_idle_seconds = 3;
inline constexpr double k_words_per_sentence =
    static_cast<double>(k_words_per_cycle) / static_cast<double>(k_sentence_count);

// A number as the child runs' command lines and the report write it (up to 12 digits).
inline std::string number_text(double value) {
  std::ostringstream out;
  out.precision(12);
  out << value;
  return out.str();
}

inline std::string acking_text(bool acking) { return acking ? "on" : "off"; }

// The saturated local runs, in the order they run and are reported.
struct LocalScenario {
  std::string id;
  std::string what;
  Shape shape;
  bool acking;
};

inline const std::vector<LocalScenario>& local_scenarios() {
  static const std::vector<LocalScenario> scenarios{
      {"local/wordcount/off", "word count, local", Shape::wordcount, false},
      {"local/wordcount/on", "word count, local", Shape::wordcount, true},
      {"local/noop/off", "constant spout -> no-op bolt, local", Shape::noop, false},
      {"local/noop/on", "constant spout -> no-op bolt, local", Shape::noop, true},
  };
  return scenarios;
}

// The windowed count scenarios: a keyed spout into a sliding window of k_window_length_ms every
// k_window_slide_ms, local mode, acking off, with and without incremental aggregation, in the
// order they run and are reported. Each round first runs the baseline: the same spout into a
// plain no-op bolt, whose peak RSS the windowed runs' is compared with.
struct WindowScenario {
  std::string id;
  std::string what;
  Shape shape;
};

inline const std::vector<WindowScenario>& window_scenarios() {
  static const std::vector<WindowScenario> scenarios{
      {"window/aggregate", "CountAggregate by key (with_aggregate)", Shape::window_aggregate},
      {"window/tuples", "count per key over window.get()", Shape::window_tuples},
  };
  return scenarios;
}

inline constexpr const char* k_window_baseline_id = "window/baseline";
// The windows (one per sliding interval) a tuple is in: what "per key and window" divides by.
inline constexpr std::int64_t k_windows_per_tuple = k_window_length_ms / k_window_slide_ms;

// The connector scenarios (bench/connector_runs.hpp), in the order they run and are reported,
// whether or not this build has them. Target: the spout delivers at least k_connector_target of
// the plain client's records/s.
struct ConnectorScenario {
  std::string id;          // the connector: "kafka", "redis"
  std::string spout_what;  // the spout run, as the table names it
  std::string plain_what;  // the plain client's run
  std::string name;        // in the target's text
};

inline const std::vector<ConnectorScenario>& connector_scenarios() {
  static const std::vector<ConnectorScenario> scenarios{
      {"kafka", "Kafka (mock cluster) -> KafkaSpout -> no-op", "plain librdkafka consumer",
       "KafkaSpout"},
      {"redis", "redis-server -> RedisStreamSpout -> no-op", "plain hiredis XREADGROUP + XACK",
       "RedisStreamSpout"},
  };
  return scenarios;
}

inline constexpr double k_connector_target = 0.7;

// The scenario id of a connector's spout run or plain client run.
inline std::string connector_run_id(const std::string& connector, bool spout) {
  return "connector/" + connector + (spout ? "/spout" : "/plain");
}

// The half-rate local latency run with topology.executor.spin.light.load.
inline constexpr const char* k_spin_light_id = "sweep/50/spin-light-load";

inline std::string sweep_id(double fraction) {
  return "sweep/" + std::to_string(static_cast<int>(fraction * 100 + 0.5));
}

}  // namespace gale::bench
