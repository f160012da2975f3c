// gale_bench: Gale's benchmark suite (docs/performance.md). Without --run it runs every scenario
// several times and prints the table; with --run KIND it is one child run of the suite, which
// prints its figures as one "RESULT key=value ..." line.

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "bench/ceilings.hpp"
#include "bench/connector_runs.hpp"
#include "bench/local_runs.hpp"
#include "bench/suite.hpp"

#ifndef GALE_BENCH_PLUGIN
#error "GALE_BENCH_PLUGIN must name the benchmark's cluster plugin"
#endif

namespace {

namespace po = boost::program_options;
using gale::bench::Figures;

std::string self_path() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buffer, static_cast<std::size_t>(n));
}

gale::bench::Shape shape_of(const std::string& name) {
  if (name == "noop") return gale::bench::Shape::noop;
  if (name == "wordcount") return gale::bench::Shape::wordcount;
  if (name == "keyed-noop") return gale::bench::Shape::keyed_noop;
  if (name == "window-aggregate") return gale::bench::Shape::window_aggregate;
  if (name == "window-tuples") return gale::bench::Shape::window_tuples;
  throw po::error(
      "--shape must be noop, wordcount, keyed-noop, window-aggregate or window-tuples, not '" +
      name + "'");
}

bool on_off(const std::string& text) {
  if (text == "on") return true;
  if (text == "off") return false;
  throw po::error("--acking must be on or off, not '" + text + "'");
}

// A connector scenario's child run: its spout or its plain client reading the suite's records.
Figures run_connector(const po::variables_map& vm) {
  gale::bench::ConnectorRunOptions options;
  options.connector = vm["connector"].as<std::string>();
  const std::string client = vm["client"].as<std::string>();
  if (client != "spout" && client != "plain") {
    throw po::error("--client must be spout or plain, not '" + client + "'");
  }
  options.spout = client == "spout";
  options.source = vm["source"].as<std::string>();
  options.group = vm["group"].as<std::string>();
  options.records = vm["records"].as<std::int64_t>();
  options.warmup_records = vm["warmup-records"].as<std::int64_t>();
  options.max_pending = vm["max-pending"].as<std::int64_t>();
  options.timeout_s = vm["timeout"].as<double>();
  for (const gale::bench::ConnectorBench& b : gale::bench::connector_benches()) {
    if (b.id == options.connector) return b.run(options);
  }
  throw po::error("--connector '" + options.connector + "' is not built into this gale_bench");
}

// One child run; prints its RESULT line.
int run_child(const std::string& kind, const po::variables_map& vm) {
  const double warmup = vm["warmup"].as<double>();
  const double duration = vm["duration"].as<double>();
  Figures f;
  if (kind == "local") {
    gale::bench::LocalRunOptions options;
    options.shape = shape_of(vm["shape"].as<std::string>());
    options.acking = on_off(vm["acking"].as<std::string>());
    options.rate = vm["rate"].as<double>();
    options.max_pending = vm["max-pending"].as<std::int64_t>();
    options.warmup_s = warmup;
    options.duration_s = duration;
    if (vm.count("config")) options.overrides = vm["config"].as<std::vector<std::string>>();
    f = gale::bench::run_local(options);
  } else if (kind == "handwritten") {
    f = gale::bench::run_handwritten(warmup, duration);
  } else if (kind == "acker-memory") {
    f = gale::bench::run_acker_memory(vm["trees"].as<std::int64_t>());
  } else if (kind == "pending-memory") {
    f = gale::bench::run_pending_memory(vm["trees"].as<std::int64_t>());
  } else if (kind == "idle") {
    f = gale::bench::run_idle_local(duration);
  } else if (kind == "zmq-send") {
    gale::bench::zmq_send(vm["port"].as<int>(), on_off(vm["acking"].as<std::string>()), duration);
    return 0;
  } else if (kind == "zmq-receive") {
    f = gale::bench::zmq_receive(vm["port"].as<int>(), warmup, duration);
  } else if (kind == "connector") {
    f = run_connector(vm);
  } else {
    throw po::error("unknown --run kind '" + kind + "'");
  }
  std::printf("%s\n", gale::bench::format_result(f).c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options(
      "Usage: gale_bench [options]\n\n"
      "Runs Gale's benchmark suite on this machine: constant spout -> no-op bolt and word count\n"
      "in local mode, word count on two workers of a local cluster (nimbus and a supervisor on\n"
      "loopback, started with the gale command of this build), each with acking off and on;\n"
      "the hand-written and raw ZeroMQ ceilings; complete latency at fixed offered rates;\n"
      "memory per pending tree; idle workers; a keyed sliding window counted with and without\n"
      "incremental aggregation (events/s, memory per key and window); the Kafka and Redis\n"
      "spouts next to plain clients of their libraries on the same records (servers started on\n"
      "loopback). Prints a table with the targets (PASS/FAIL) and writes table.txt,\n"
      "results.csv, targets.csv and latency.svg into --out.\n"
      "See docs/performance.md; ./scripts/bench.sh builds and runs it.\n\n"
      "Options");
  // clang-format off
  options.add_options()
      ("help,h", "show this help and exit")
      ("runs", po::value<int>()->value_name("N")->default_value(3), "runs per figure (median)")
      ("warmup", po::value<double>()->value_name("S")->default_value(1, "1"),
       "seconds before each measured window")
      ("duration", po::value<double>()->value_name("S")->default_value(2, "2"),
       "seconds of each measured window")
      ("max-pending", po::value<std::int64_t>()->value_name("N")->default_value(1024),
       "topology.max.spout.pending with acking on")
      ("max-other-load", po::value<double>()->value_name("CORES")->default_value(0.5, "0.5"),
       "measure a run again when other work kept more cores than this busy during it")
      ("retry-budget", po::value<double>()->value_name("S")->default_value(60, "60"),
       "seconds the suite may spend on runs measured again, in all")
      ("out", po::value<std::string>()->value_name("DIR")->default_value("bench-results"),
       "where the table, the CSV files and the plot go")
      ("label", po::value<std::string>()->value_name("TEXT")->default_value(""),
       "shown in the table's header and the plot (e.g. the commit)")
      ("no-cluster", "skip the cluster scenarios")
      ("no-connectors", "skip the connector scenarios (Kafka, Redis)")
      ("connectors-only", "only the connector scenarios")
      ("no-windows", "skip the windowed count scenarios")
      ("windows-only", "only the windowed count scenarios")
      ("window-keys", po::value<std::int64_t>()->value_name("N")->default_value(10000),
       "distinct keys of the windowed count's spout")
      ("window-fill", po::value<double>()->value_name("S")->default_value(16, "16"),
       "seconds a windowed count run runs before its measured window (the 10 s window and its "
       "start-up have passed; 11: the windows are just full)")
      ("window-duration", po::value<double>()->value_name("S")->default_value(5, "5"),
       "seconds of a windowed count run's measured window")
      ("cluster-only", "only the cluster scenarios and the ZeroMQ ceiling (e.g. to compare two "
       "builds run after run)")
      ("quick", "1 run per figure, 0.5 s warm-up, 1 s windows, windowed count 11 + 2 s: a smoke "
       "test, not figures");
  po::options_description child("Child runs (used by the suite itself)");
  child.add_options()
      ("run", po::value<std::string>()->value_name("KIND"),
       "local | handwritten | acker-memory | pending-memory | idle | zmq-send | zmq-receive | "
       "connector")
      ("shape", po::value<std::string>()->default_value("wordcount"),
       "noop | wordcount | keyed-noop | window-aggregate | window-tuples (keys: -c bench.keys=N)")
      ("acking", po::value<std::string>()->default_value("on"), "on | off")
      ("rate", po::value<double>()->default_value(0), "spout tuples/s; 0: saturation")
      ("trees", po::value<std::int64_t>()->default_value(100000), "pending trees")
      ("port", po::value<int>()->default_value(0), "ZeroMQ port on 127.0.0.1")
      ("connector", po::value<std::string>()->default_value("kafka"), "kafka | redis")
      ("client", po::value<std::string>()->default_value("spout"),
       "spout (the connector's spout -> no-op, acking on) | plain (the client library alone)")
      ("source", po::value<std::string>()->default_value(""),
       "the server: Kafka bootstrap servers, or redis://HOST:PORT")
      ("group", po::value<std::string>()->default_value("gale-bench"), "consumer group of the run")
      ("records", po::value<std::int64_t>()->default_value(100000), "records to read (all there)")
      ("warmup-records", po::value<std::int64_t>()->default_value(20000),
       "records read before the measured part")
      ("timeout", po::value<double>()->default_value(60), "seconds for all the records")
      ("config,c", po::value<std::vector<std::string>>()->value_name("KEY=VALUE"),
       "local runs: a config setting applied last (repeatable), e.g. -c topology.executor.spin.micros=0");
  // clang-format on
  po::options_description all;
  all.add(options).add(child);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, all), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "gale_bench: error: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  // Quiet unless asked otherwise: the runtime's loggers read GALE_LOG_LEVEL when created.
  setenv("GALE_LOG_LEVEL", "warn", /*overwrite=*/0);
  spdlog::set_level(spdlog::level::warn);

  try {
    if (vm.count("run")) return run_child(vm["run"].as<std::string>(), vm);

    gale::bench::SuiteOptions suite;
    suite.runs = vm["runs"].as<int>();
    suite.warmup_s = vm["warmup"].as<double>();
    suite.duration_s = vm["duration"].as<double>();
    suite.max_pending = vm["max-pending"].as<std::int64_t>();
    suite.out_dir = vm["out"].as<std::string>();
    suite.label = vm["label"].as<std::string>();
    suite.cluster = vm.count("no-cluster") == 0;
    suite.cluster_only = vm.count("cluster-only") != 0;
    suite.connectors = vm.count("no-connectors") == 0;
    suite.connectors_only = vm.count("connectors-only") != 0;
    if (suite.cluster_only && !suite.cluster) {
      std::cerr << "gale_bench: error: --cluster-only and --no-cluster exclude each other\n";
      return 2;
    }
    if (suite.connectors_only && (!suite.connectors || suite.cluster_only)) {
      std::cerr << "gale_bench: error: --connectors-only excludes --no-connectors and "
                   "--cluster-only\n";
      return 2;
    }
    suite.windows = vm.count("no-windows") == 0;
    suite.windows_only = vm.count("windows-only") != 0;
    if (suite.windows_only && (!suite.windows || suite.cluster_only || suite.connectors_only)) {
      std::cerr << "gale_bench: error: --windows-only excludes --no-windows, --cluster-only and "
                   "--connectors-only\n";
      return 2;
    }
    suite.window_keys = vm["window-keys"].as<std::int64_t>();
    suite.window_fill_s = vm["window-fill"].as<double>();
    suite.window_duration_s = vm["window-duration"].as<double>();
    suite.max_other_load = vm["max-other-load"].as<double>();
    suite.retry_budget_s = vm["retry-budget"].as<double>();
    if (vm.count("quick")) {
      suite.runs = 1;
      suite.warmup_s = 0.5;
      suite.cluster_warmup_s = 1;
      suite.duration_s = 1;
      suite.window_fill_s = std::min(suite.window_fill_s, 11.0);  // full windows, not steady
      suite.window_duration_s = std::min(suite.window_duration_s, 2.0);
    }
    if (suite.runs < 1 || !(suite.duration_s > 0) || !(suite.warmup_s >= 0) ||
        suite.window_keys < 1 || !(suite.window_fill_s >= 0) || !(suite.window_duration_s > 0)) {
      std::cerr << "gale_bench: error: --runs must be >= 1, --duration > 0, --warmup >= 0, "
                   "--window-keys >= 1, --window-fill >= 0, --window-duration > 0\n";
      return 2;
    }
    suite.self = self_path();
    suite.plugin = GALE_BENCH_PLUGIN;
    return gale::bench::run_suite(suite);
  } catch (const po::error& e) {
    std::cerr << "gale_bench: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gale_bench: error: " << e.what() << "\n";
    return 1;
  }
}
