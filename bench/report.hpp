#pragma once

// The suite's report: the text table (the machine and the load, throughput, ratios to the
// ceilings, latency, memory and idle cost, targets, notes) and the files written beside it. It
// reads the scenario ids of bench/scenarios.hpp; what was not measured shows as "-" or MISSING.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/ceilings.hpp"
#include "bench/series.hpp"
#include "bench/suite.hpp"

namespace gale::bench {

// What the suite measured, as the report reads it.
struct SuiteResults {
  std::map<std::string, Series> series;   // by scenario id
  std::map<std::string, int> placements;  // cluster placement ("count,spout | split") -> runs
  std::vector<std::string> notes;         // what the suite noticed while running
  std::map<std::string, std::string> skipped_connectors;  // connector -> why it was skipped
  int retries = 0;            // runs measured again because other work kept the machine busy
  std::string load_at_start;  // load_average() when the suite started
  WireModel models[2];        // [acking]: word count's traffic between two workers

  // The runs of scenario `id`; an empty Series when it never ran.
  const Series& of(const std::string& id) const;
};

// The 1-minute load average from /proc/loadavg, as written there; "?" when unreadable.
std::string load_average();

// The whole table, as printed on stdout and written to table.txt.
std::string report_table(const SuiteOptions& options, const SuiteResults& results);

// Writes into options.out_dir: table.txt (`table`), results.csv (every figure of every scenario:
// median, min, max, values), targets.csv, latency.dat and latency.gp, and draws latency.svg with
// gnuplot when the sweep has points. A missing or failing gnuplot is reported through `progress`,
// not thrown. Throws std::runtime_error naming a file that cannot be written.
void write_report(const SuiteOptions& options, const SuiteResults& results,
                  const std::string& table,
                  const std::function<void(const std::string&)>& progress);

}  // namespace gale::bench
