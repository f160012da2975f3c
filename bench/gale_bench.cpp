// gale_bench: throughput and complete latency of small topologies on the local-mode runtime.
//
// Scenarios (each with acking on and off):
//   noop       a constant spout -> a bolt that only acks (shuffle)
//   wordcount  a sentence spout -> split (shuffle) -> count (fields on "word")
// Acking on: the spout emits with message ids, bolts anchor and ack, one acker task.
// Acking off: topology.acker.executors = 0 and emits without message ids.
// Each run warms up, then measures the counters' change over --duration seconds.

#include <stdlib.h>
#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include <gale/gale.hpp>

#include "worker/worker.hpp"

namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

// Tuples a spout emits per next_tuple() call: few enough to keep next_tuple short, enough that
// the call's overhead does not dominate.
constexpr int k_emits_per_call = 16;

// Emits the same one-field tuple forever, with increasing message ids when `reliable`.
// Thread: its task's executor.
class ConstantSpout : public gale::Spout {
 public:
  explicit ConstantSpout(bool reliable) : reliable_(reliable) {}
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"value"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    for (int i = 0; i < k_emits_per_call; ++i) {
      if (reliable_) {
        out_->emit({std::int64_t{42}}, next_id_++);
      } else {
        out_->emit({std::int64_t{42}});
      }
    }
  }

 private:
  bool reliable_;
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t next_id_ = 0;
};

class AckBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override { out.ack(input); }
};

constexpr std::array<std::string_view, 5> k_sentences = {
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
};

// Cycles through the sentences; with `reliable`, each emit carries a message id. The benchmark
// measures the runtime, so failed trees are not replayed (none fail unless they time out).
class SentenceSpout : public gale::Spout {
 public:
  explicit SentenceSpout(bool reliable) : reliable_(reliable) {}
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"sentence"}); }
  void open(const gale::Context&, gale::SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    for (int i = 0; i < k_emits_per_call; ++i) {
      gale::Values values{std::string(k_sentences[next_++ % k_sentences.size()])};
      if (reliable_) {
        out_->emit(std::move(values), next_id_++);
      } else {
        out_->emit(std::move(values));
      }
    }
  }

 private:
  bool reliable_;
  gale::SpoutCollector* out_ = nullptr;
  std::uint64_t next_ = 0;
  std::int64_t next_id_ = 0;
};

class SplitBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"word"}); }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    const std::string_view sentence = input.get_string(0);
    std::size_t start = 0;
    while (start < sentence.size()) {
      std::size_t end = sentence.find(' ', start);
      if (end == std::string_view::npos) end = sentence.size();
      if (end > start) out.emit(input, {sentence.substr(start, end - start)});
      start = end + 1;
    }
    out.ack(input);
  }
};

class CountBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"word", "count"});
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    ++counts_[input.get_string(0)];
    out.ack(input);
  }

 private:
  std::unordered_map<std::string, std::int64_t> counts_;
};

struct Scenario {
  std::string name;
  bool acking;
  gale::Topology (*build)(bool acking);
};

gale::Topology build_noop(bool acking) {
  gale::TopologyBuilder builder;
  builder.set_spout("spout", gale::make<ConstantSpout>(acking), 1);
  builder.set_bolt("noop", gale::make<AckBolt>(), 1).shuffle_grouping("spout");
  return builder.build();
}

gale::Topology build_wordcount(bool acking) {
  gale::TopologyBuilder builder;
  builder.set_spout("sentences", gale::make<SentenceSpout>(acking), 1);
  builder.set_bolt("split", gale::make<SplitBolt>(), 1).shuffle_grouping("sentences");
  builder.set_bolt("count", gale::make<CountBolt>(), 1).fields_grouping("split", {"word"});
  return builder.build();
}

struct Totals {
  std::uint64_t emitted = 0;   // by spouts
  std::uint64_t executed = 0;  // by user bolts
  std::uint64_t failed = 0;    // spout trees
};

Totals totals(const gale::worker::WorkerStats& stats) {
  Totals t;
  for (const auto& c : stats.components) {
    if (c.is_spout) {
      t.emitted += c.emitted;
      t.failed += c.failed;
    } else if (!c.is_acker) {
      t.executed += c.executed;
    }
  }
  return t;
}

struct Result {
  std::string scenario;
  double seconds = 0;
  double spout_rate = 0;  // spout tuples emitted per second
  double bolt_rate = 0;   // bolt execute() calls per second
  std::uint64_t failed = 0;
  double cpu_seconds = 0;  // process CPU time (user + system) during the measured window
  gale::worker::LatencySummary latency;  // acked runs only; count == 0 otherwise
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

Result run(const Scenario& scenario, double warmup_s, double duration_s, std::int64_t max_pending) {
  gale::Config config;
  config.set(gale::keys::topology_name, "bench-" + scenario.name);
  config.set(gale::keys::topology_acker_executors, scenario.acking ? 1 : 0);
  if (scenario.acking && max_pending > 0) {
    config.set(gale::keys::topology_max_spout_pending, max_pending);
  }
  gale::worker::Worker worker(scenario.build(scenario.acking), config);
  worker.start();
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s));
  const Totals before = totals(worker.stats());
  const auto from = Clock::now();
  const double cpu_from = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(duration_s));
  const gale::worker::WorkerStats end_stats = worker.stats();
  const auto to = Clock::now();
  const double cpu_to = cpu_seconds();
  worker.stop(std::chrono::seconds(2));

  const Totals after = totals(end_stats);
  Result r;
  r.scenario = scenario.name;
  r.seconds = std::chrono::duration<double>(to - from).count();
  r.spout_rate = (after.emitted - before.emitted) / r.seconds;
  r.bolt_rate = (after.executed - before.executed) / r.seconds;
  r.failed = after.failed - before.failed;
  r.cpu_seconds = cpu_to - cpu_from;
  for (const auto& c : end_stats.components) {
    if (c.is_spout && c.complete_latency.count > 0) r.latency = c.complete_latency;
  }
  return r;
}

std::string rate_text(double per_second) {
  char buffer[32];
  if (per_second >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(buffer, sizeof buffer, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f", per_second);
  }
  return buffer;
}

std::string ms_text(const gale::worker::LatencySummary& latency, double ms) {
  if (latency.count == 0) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", ms);
  return buffer;
}

void print_table(const std::vector<Result>& results) {
  std::printf("%-18s %14s %14s %12s %10s %10s %8s\n", "scenario", "spout tuple/s", "bolt exec/s",
              "exec/cpu-s", "p50 ms", "p99 ms", "failed");
  for (const auto& r : results) {
    const double per_cpu = r.cpu_seconds > 0 ? r.bolt_rate * r.seconds / r.cpu_seconds : 0;
    std::printf("%-18s %14s %14s %12s %10s %10s %8llu\n", r.scenario.c_str(),
                rate_text(r.spout_rate).c_str(), rate_text(r.bolt_rate).c_str(),
                rate_text(per_cpu).c_str(),
                ms_text(r.latency, r.latency.p50_ms).c_str(),
                ms_text(r.latency, r.latency.p99_ms).c_str(),
                static_cast<unsigned long long>(r.failed));
  }
}

void write_csv(const std::string& path, const std::vector<Result>& results) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << std::fixed << std::setprecision(3);
  out << "scenario,seconds,spout_tuples_per_s,bolt_executed_per_s,failed,latency_count,"
         "p50_ms,p99_ms,max_ms\n";
  for (const auto& r : results) {
    out << r.scenario << ',' << r.seconds << ',' << r.spout_rate << ',' << r.bolt_rate << ','
        << r.failed << ',' << r.latency.count << ',';
    if (r.latency.count > 0) {
      out << r.latency.p50_ms << ',' << r.latency.p99_ms << ',' << r.latency.max_ms;
    } else {
      out << ",,";
    }
    out << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options(
      "Usage: gale_bench [options]\n\n"
      "Runs each scenario (noop/acked, noop/unacked, wordcount/acked, wordcount/unacked) on the\n"
      "local-mode runtime and prints spout tuples/s, bolt execute() calls/s and, for acked runs,\n"
      "the complete latency p50/p99 (emit to ack, over the whole run including warm-up).\n\n"
      "Options");
  options.add_options()
      ("help,h", "show this help and exit")
      ("duration", po::value<double>()->value_name("S")->default_value(5, "5"),
       "measured seconds per scenario")
      ("warmup", po::value<double>()->value_name("S")->default_value(1, "1"),
       "seconds before measuring")
      ("scenario", po::value<std::string>()->value_name("TEXT")->default_value(""),
       "run only scenarios whose name contains this text (e.g. wordcount, acked, noop/unacked)")
      ("max-pending", po::value<std::int64_t>()->value_name("N")->default_value(1024),
       "topology.max.spout.pending for acked runs (0: unbounded)")
      ("csv", po::value<std::string>()->value_name("FILE"),
       "also write the results to this CSV file");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "gale_bench: error: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  const double duration = vm["duration"].as<double>();
  const double warmup = vm["warmup"].as<double>();
  if (!(duration > 0) || !(warmup >= 0)) {
    std::cerr << "gale_bench: error: --duration must be > 0 and --warmup >= 0\n";
    return 2;
  }
  // Quiet unless asked otherwise: the runtime's loggers read GALE_LOG_LEVEL when created.
  setenv("GALE_LOG_LEVEL", "warn", /*overwrite=*/0);
  spdlog::set_level(spdlog::level::warn);

  const std::vector<Scenario> scenarios = {
      {"noop/acked", true, build_noop},
      {"noop/unacked", false, build_noop},
      {"wordcount/acked", true, build_wordcount},
      {"wordcount/unacked", false, build_wordcount},
  };
  const std::string filter = vm["scenario"].as<std::string>();
  std::vector<Result> results;
  try {
    for (const auto& scenario : scenarios) {
      if (scenario.name.find(filter) == std::string::npos) continue;
      // "acked" is also a substring of "unacked"; an exact name always selects just that one.
      if (filter == "acked" && !scenario.acking) continue;
      std::fprintf(stderr, "running %s for %gs (+%gs warm-up)...\n", scenario.name.c_str(),
                   duration, warmup);
      results.push_back(run(scenario, warmup, duration, vm["max-pending"].as<std::int64_t>()));
    }
    if (results.empty()) {
      std::cerr << "gale_bench: error: no scenario matches '" << filter << "'\n";
      return 2;
    }
    print_table(results);
    if (vm.count("csv")) write_csv(vm["csv"].as<std::string>(), results);
  } catch (const std::exception& e) {
    std::cerr << "gale_bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
