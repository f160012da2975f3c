#include "bench/suite.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "bench/ceilings.hpp"
#include "bench/cluster_runs.hpp"
#include "bench/connector_runs.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"
#include "bench/series.hpp"
#include "bench/topologies.hpp"
#include "cluster/local_cluster.hpp"

namespace gale::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Runs the scenarios and files their figures; report.cpp turns them into the table and files.
// Thread: one owner.
class Suite {
 public:
  explicit Suite(const SuiteOptions& options) : o_(options), started_(Clock::now()) {
    results_.load_at_start = load_average();
    results_.models[0] = wordcount_wire_model(false);
    results_.models[1] = wordcount_wire_model(true);
  }

  int run() {
    std::filesystem::create_directories(o_.out_dir);
    if (o_.connectors_only) {
      run_connectors();
    } else if (o_.windows_only) {
      run_windows();
    } else {
      if (!o_.cluster_only) {
        run_throughput();
        run_sweep();
        run_memory();
        run_idle_local();
        if (o_.windows) run_windows();
        if (o_.connectors) run_connectors();
      }
      if (!o_.cluster || !run_cluster()) run_zmq();
    }
    const std::string table = report_table(o_, results_);
    std::cout << table << std::flush;
    write_report(o_, results_, table, [this](const std::string& line) { progress(line); });
    progress("done in " + fixed(elapsed(), 0) + " s; results in " + o_.out_dir + "/");
    return failures_ == 0 ? 0 : 1;
  }

 private:
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  void progress(const std::string& line) const {
    char stamp[16];
    std::snprintf(stamp, sizeof stamp, "[%4.0fs] ", elapsed());
    std::cerr << stamp << line << std::endl;
  }

  // Runs `measure` and files its figures under `id`; a failure is recorded, not thrown. A run
  // during which the rest of the machine kept more than max_other_load cores busy is measured
  // again while the retry budget lasts (the last attempt counts).
  void measure(const std::string& id, const std::string& what,
               const std::function<Figures()>& measure, const std::string& show) {
    Series& series = results_.series[id];
    const std::size_t n = series.runs.size() + series.errors.size() + 1;
    const std::string name = what + " (run " + std::to_string(n) + ")";
    try {
      Figures f;
      for (int attempt = 1;; ++attempt) {
        const auto from = Clock::now();
        f = measure();
        f["attempts"] = attempt;
        auto other = f.find("other_cores");
        if (other == f.end() || other->second <= o_.max_other_load) break;
        const double spent = std::chrono::duration<double>(Clock::now() - from).count();
        if (spent > retry_budget_s_) break;
        retry_budget_s_ -= spent;
        ++results_.retries;
        progress(name + ": other work kept " + fixed(other->second, 2) +
                 " cores busy; measuring again");
      }
      f["run"] = static_cast<double>(n);  // pairs runs of different scenarios (paired ratios)
      std::string shown;
      if (auto it = f.find(show); it != f.end()) shown = ": " + show + " " + si(it->second);
      progress(name + shown);
      series.runs.push_back(std::move(f));
    } catch (const std::exception& e) {
      ++failures_;
      progress(name + " FAILED: " + e.what());
      series.errors.push_back(e.what());
    }
  }

  // `gale_bench --run ARGS...` in a child process, bounded by `timeout_s`.
  Figures child(std::vector<std::string> args, double timeout_s) const {
    std::vector<std::string> argv{o_.self, "--run"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000));
    const cluster::CommandResult r = cluster::run_program(argv, timeout);
    if (r.exit_code != 0) {
      const std::string tail =
          r.output.size() > 2000 ? r.output.substr(r.output.size() - 2000) : r.output;
      throw std::runtime_error("child exited with " + std::to_string(r.exit_code) + ": " + tail);
    }
    return parse_result(r.output);
  }

  // `overrides`: KEY=VALUE topology settings for this run only.
  Figures local(Shape shape, bool acking, double rate,
                const std::vector<std::string>& overrides = {}) const {
    std::vector<std::string> args{"local",
                                  "--shape",
                                  name_of(shape),
                                  "--acking",
                                  acking_text(acking),
                                  "--rate",
                                  number_text(rate),
                                  "--warmup",
                                  number_text(o_.warmup_s),
                                  "--duration",
                                  number_text(o_.duration_s),
                                  "--max-pending",
                                  std::to_string(o_.max_pending)};
    for (const std::string& o : overrides) {
      args.push_back("-c");
      args.push_back(o);
    }
    return child(args, o_.warmup_s + o_.duration_s + 30);
  }

  void run_throughput() {
    for (int r = 0; r < o_.runs; ++r) {
      measure(
          "handwritten", "hand-written word count",
          [&] {
            return child({"handwritten", "--warmup", number_text(o_.warmup_s), "--duration",
                          number_text(o_.duration_s)},
                         o_.warmup_s + o_.duration_s + 30);
          },
          "sink_rate");
      for (const LocalScenario& s : local_scenarios()) {
        measure(
            s.id, s.what + ", acking " + acking_text(s.acking),
            [&] { return local(s.shape, s.acking, 0); }, "sink_rate");
      }
    }
  }

  // Sentences per second of saturated local word count with acking on.
  std::optional<double> saturated_sentences() const {
    return results_.of("local/wordcount/on").median("spout_rate");
  }

  void run_sweep() {
    const auto saturated = saturated_sentences();
    if (!saturated) {
      note("latency sweep skipped: no saturated word count rate with acking on");
      ++failures_;
      return;
    }
    // Local word count, acking on, with the spout limited to `fraction` of the saturated rate.
    auto at_fraction = [&](double fraction, const std::vector<std::string>& overrides) {
      const double rate = fraction * *saturated;
      Figures f = local(Shape::wordcount, true, rate, overrides);
      f["offered_rate"] = rate;
      f["fraction"] = fraction;
      return f;
    };
    for (int r = 0; r < o_.runs; ++r) {
      for (double fraction : o_.sweep) {
        measure(
            sweep_id(fraction),
            "word count, local, acking on at " + percent(fraction) + " of saturation",
            [&] { return at_fraction(fraction, {}); }, "p99_ms");
      }
      // The same half rate with executors that poll after any work (an opt-in): what the latency
      // costs in wake-ups.
      measure(
          k_spin_light_id, "word count, local, acking on at 50% of saturation, spin.light.load",
          [&] {
            return at_fraction(
                0.5, {std::string(gale::keys::topology_executor_spin_light_load) + "=true"});
          },
          "p99_ms");
    }
  }

  void run_memory() {
    for (int r = 0; r < o_.runs; ++r) {
      measure(
          "memory/acker", "acker table memory",
          [&] {
            return child({"acker-memory", "--trees", std::to_string(k_acker_trees)}, 60);
          },
          "bytes_per_tree");
      for (std::int64_t trees : {k_pending_small, k_pending_large}) {
        measure(
            "memory/pending/" + std::to_string(trees),
            "runtime memory with " + si(static_cast<double>(trees)) + " pending trees",
            [&] {
              return child({"pending-memory", "--trees", std::to_string(trees)}, 60);
            },
            "heap_bytes");
      }
    }
  }

  void run_idle_local() {
    for (int r = 0; r < o_.runs; ++r) {
      measure(
          "idle/local", "idle worker, local mode",
          [&] {
            return child({"idle", "--duration", number_text(k_idle_seconds)}, k_idle_seconds + 30);
          },
          "cpu_pct");
    }
  }

  // A windowed count run (or its baseline): the keyed spout at saturation into `shape`, acking
  // off, measured for `duration_s` after `warmup_s`.
  Figures window_run(Shape shape, double warmup_s, double duration_s) const {
    return child({"local", "--shape", name_of(shape), "--acking", "off", "--warmup",
                  number_text(warmup_s), "--duration", number_text(duration_s), "-c",
                  std::string(k_keys) + "=" + std::to_string(o_.window_keys)},
                 warmup_s + duration_s + 30);
  }

  // The windowed count. Each round runs the baseline first (the keyed spout into a plain no-op
  // bolt, with the usual warm-up: a no-op's peak RSS, the runtime's and its queues', is reached
  // within a second), then each window scenario filled for window_fill_s. A window run's memory
  // per key and window is its peak RSS (and its heap at the end) less the baseline's of the same
  // round, over keys x the windows a tuple is in: what the window holds, give or take the
  // allocator.
  void run_windows() {
    const auto keys = static_cast<double>(o_.window_keys);
    for (int r = 0; r < o_.runs; ++r) {
      std::optional<Figures> baseline;
      measure(
          k_window_baseline_id, "keyed spout -> no-op bolt, local, acking off (window baseline)",
          [&] {
            Figures f = window_run(Shape::keyed_noop, o_.warmup_s, o_.duration_s);
            baseline = f;
            return f;
          },
          "hwm_mb");
      for (const WindowScenario& s : window_scenarios()) {
        measure(
            s.id, "windowed count, " + s.what + ", " + si(keys) + " keys",
            [&] {
              Figures f = window_run(s.shape, o_.window_fill_s, o_.window_duration_s);
              f["keys"] = keys;
              if (!baseline) return f;
              const double bytes = (f.at("hwm_mb") - baseline->at("hwm_mb")) * 1e6;
              const double key_windows = keys * static_cast<double>(k_windows_per_tuple);
              f["bytes_per_key_window"] = bytes / key_windows;
              f["heap_bytes_per_key_window"] =
                  (f.at("heap_mb") - baseline->at("heap_mb")) * 1e6 / key_windows;
              if (auto held = f.find("peak_window_tuples"); held != f.end() && held->second > 0) {
                f["bytes_per_held_tuple"] = bytes / held->second;
              }
              return f;
            },
            "sink_rate");
      }
    }
  }

  Figures zmq(bool acking) const {
    const int port = cluster::free_port();
    const double send_seconds = 1 + o_.duration_s + 20;  // it stops once the receiver is gone
    std::thread sender([&] {
      cluster::run_program(
          {o_.self, "--run", "zmq-send", "--port", std::to_string(port), "--acking",
           acking_text(acking), "--duration", number_text(send_seconds)},
          std::chrono::seconds(static_cast<int>(send_seconds) + 10));
    });
    Figures f;
    try {
      f = child({"zmq-receive", "--port", std::to_string(port), "--warmup", "1", "--duration",
                 number_text(o_.duration_s)},
                o_.duration_s + 30);
    } catch (...) {
      sender.join();
      throw;
    }
    sender.join();
    const WireModel& model = results_.models[acking ? 1 : 0];
    const double bytes_per_word =
        static_cast<double>(model.bytes) / static_cast<double>(model.words);
    f["bytes_per_word"] = bytes_per_word;
    f["sink_rate"] = f["bytes_per_s"] / bytes_per_word;
    return f;
  }

  void run_zmq_once(bool acking) {
    measure(
        std::string("zmq/") + acking_text(acking),
        "raw ZeroMQ, word count bytes with acking " + acking_text(acking),
        [&] { return zmq(acking); }, "sink_rate");
  }

  void run_zmq() {
    for (int r = 0; r < o_.runs; ++r) {
      for (bool acking : {false, true}) run_zmq_once(acking);
    }
  }

  // The cluster scenarios, with the raw ZeroMQ ceiling interleaved with the saturated runs.
  // Returns false when the cluster did not start (the ceiling is then still to be measured).
  bool run_cluster() {
    progress("starting a local cluster (nimbus and a supervisor with 2 slots)");
    std::unique_ptr<BenchCluster> cluster;
    try {
      cluster = std::make_unique<BenchCluster>(o_.plugin);
    } catch (const std::exception& e) {
      ++failures_;
      note(std::string("cluster scenarios skipped: ") + e.what());
      return false;
    }
    auto cluster_run = [&](const ClusterRunOptions& options) {
      ClusterRun run = cluster->run(options);
      std::string where;
      for (const auto& w : run.placement) where += (where.empty() ? "" : " | ") + w;
      results_.placements[where] += 1;
      if (!run.crossing) {
        note("cluster run with placement [" + where + "]: tuples do not cross between workers");
      }
      return run.figures;
    };
    ClusterRunOptions base;
    base.max_pending = o_.max_pending;
    base.warmup_s = o_.cluster_warmup_s;
    base.duration_s = o_.duration_s;
    for (int r = 0; r < o_.runs; ++r) {
      for (bool acking : {false, true}) run_zmq_once(acking);
      for (bool acking : {false, true}) {
        ClusterRunOptions options = base;
        options.acking = acking;
        measure(
            std::string("cluster/") + acking_text(acking),
            "word count, 2 workers, acking " + acking_text(acking),
            [&] { return cluster_run(options); }, "sink_rate");
      }
    }
    const auto saturated = results_.of("cluster/on").median("spout_rate");
    for (int r = 0; r < o_.runs && saturated; ++r) {
      ClusterRunOptions options = base;
      options.rate = *saturated / 2;
      measure(
          "cluster/latency", "word count, 2 workers, acking on at 50% of saturation",
          [&] {
            Figures f = cluster_run(options);
            f["offered_rate"] = options.rate;
            return f;
          },
          "p99_ms");
    }
    if (!saturated) {
      ++failures_;
      note("cluster latency skipped: no saturated cluster rate with acking on");
    }
    for (int r = 0; r < o_.runs; ++r) {
      ClusterRunOptions options = base;
      options.idle = true;
      options.duration_s = k_idle_seconds;
      measure(
          "idle/cluster", "idle workers, cluster", [&] { return cluster_run(options); }, "cpu_pct");
    }
    return true;
  }

  // The connector scenarios: per connector, its server started once with the records
  // pre-produced, then in each round the spout run and the plain client's run, each reading every
  // record from the start in a consumer group of its own.
  void run_connectors() {
    const std::vector<ConnectorBench> built = connector_benches();
    for (const ConnectorScenario& scenario : connector_scenarios()) {
      const auto bench = std::find_if(built.begin(), built.end(),
                                      [&](const ConnectorBench& b) { return b.id == scenario.id; });
      if (bench == built.end()) {
        skip(scenario.id, "the connector is not built (its client library was not found)");
        continue;
      }
      if (const std::optional<std::string> why = bench->missing()) {
        skip(scenario.id, *why);
        continue;
      }
      progress("starting the " + scenario.id + " server and pre-producing " +
               si(static_cast<double>(bench->records)) + " records");
      std::unique_ptr<ConnectorSource> source;
      try {
        source = bench->start();
      } catch (const std::exception& e) {
        ++failures_;
        note(scenario.id + " scenarios not run: " + e.what());
        continue;
      }
      for (int r = 0; r < o_.runs; ++r) {
        for (bool spout : {true, false}) {
          measure(
              connector_run_id(scenario.id, spout),
              spout ? scenario.spout_what + ", acking on" : scenario.plain_what,
              [&] { return connector_child(*bench, source->address(), spout); }, "sink_rate");
        }
      }
    }
  }

  // One run reads every record; the first fifth is its warm-up. A fresh group per attempt, so
  // that a run measured again reads from the start too.
  Figures connector_child(const ConnectorBench& bench, const std::string& source, bool spout) {
    constexpr double k_timeout_s = 60;
    const std::string group = std::string("gale-bench-") + (spout ? "spout-" : "plain-") +
                              std::to_string(++connector_groups_);
    return child({"connector", "--connector", bench.id, "--client", spout ? "spout" : "plain",
                  "--source", source, "--group", group, "--records", std::to_string(bench.records),
                  "--warmup-records", std::to_string(bench.records / 5), "--max-pending",
                  std::to_string(o_.max_pending), "--timeout", number_text(k_timeout_s)},
                 k_timeout_s + 30);
  }

  void skip(const std::string& connector, const std::string& why) {
    results_.skipped_connectors[connector] = why;
    note(connector + " scenarios skipped: " + why);
  }

  void note(const std::string& text) {
    progress("note: " + text);
    results_.notes.push_back(text);
  }

  const SuiteOptions o_;
  const Clock::time_point started_;
  double retry_budget_s_ = o_.retry_budget_s;
  SuiteResults results_;
  int failures_ = 0;
  int connector_groups_ = 0;  // consumer groups used so far
};

}  // namespace

int run_suite(const SuiteOptions& options) { return Suite(options).run(); }

}  // namespace gale::bench
