#include "bench/suite.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/ceilings.hpp"
#include "bench/cluster_runs.hpp"
#include "bench/series.hpp"
#include "bench/topologies.hpp"
#include "tests/cluster/harness.hpp"

namespace gale::bench {

namespace {

using Clock = std::chrono::steady_clock;
using Rows = std::vector<std::vector<std::string>>;

constexpr std::int64_t k_acker_trees = 1'000'000;
constexpr std::int64_t k_pending_small = 50'000;
constexpr std::int64_t k_pending_large = 250'000;
constexpr double k_idle_seconds = 3;
constexpr double k_words_per_sentence =
    static_cast<double>(k_words_per_cycle) / static_cast<double>(k_sentence_count);

std::string number_text(double value) {
  std::ostringstream out;
  out.precision(12);
  out << value;
  return out.str();
}

std::string acking_text(bool acking) { return acking ? "on" : "off"; }

std::string first_line_of(const std::string& file, const std::string& prefix) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "";
}

struct LocalScenario {
  std::string id;
  std::string what;
  Shape shape;
  bool acking;
};

const std::vector<LocalScenario>& local_scenarios() {
  static const std::vector<LocalScenario> scenarios{
      {"local/wordcount/off", "word count, local", Shape::wordcount, false},
      {"local/wordcount/on", "word count, local", Shape::wordcount, true},
      {"local/noop/off", "constant spout -> no-op bolt, local", Shape::noop, false},
      {"local/noop/on", "constant spout -> no-op bolt, local", Shape::noop, true},
  };
  return scenarios;
}

// The half-rate local latency run with topology.executor.spin.light.load.
constexpr const char* k_spin_light_id = "sweep/50/spin-light-load";

std::string sweep_id(double fraction) {
  return "sweep/" + std::to_string(static_cast<int>(fraction * 100 + 0.5));
}

struct Target {
  std::string text;
  std::optional<bool> pass;  // nullopt: not measured
  std::string measured;
};

class Suite {
 public:
  explicit Suite(const SuiteOptions& options)
      : o_(options), started_(Clock::now()), load_at_start_(load_average()) {
    models_[0] = wordcount_wire_model(false);
    models_[1] = wordcount_wire_model(true);
  }

  int run() {
    std::filesystem::create_directories(o_.out_dir);
    run_throughput();
    run_sweep();
    run_memory();
    run_idle_local();
    if (!o_.cluster || !run_cluster()) run_zmq();
    const std::string table = report();
    std::cout << table << std::flush;
    write_file("table.txt", table);
    write_results_csv();
    write_targets_csv();
    write_plot();
    progress("done in " + fixed(elapsed(), 0) + " s; results in " + o_.out_dir + "/");
    return failures_ == 0 ? 0 : 1;
  }

 private:
  // ---------------------------------------------------------------------------------------------
  // Running

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
    Series& series = series_[id];
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
        ++retries_;
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
    const gale::test::CommandResult r = gale::test::run_program(argv, timeout);
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
    std::vector<std::string> args{"local", "--shape", name_of(shape), "--acking",
                                  acking_text(acking), "--rate", number_text(rate), "--warmup",
                                  number_text(o_.warmup_s), "--duration", number_text(o_.duration_s),
                                  "--max-pending", std::to_string(o_.max_pending)};
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
    return series("local/wordcount/on").median("spout_rate");
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

  Figures zmq(bool acking) const {
    const int port = gale::test::free_port();
    const double send_seconds = 1 + o_.duration_s + 20;  // it stops once the receiver is gone
    std::thread sender([&] {
      gale::test::run_program(
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
    const WireModel& model = models_[acking ? 1 : 0];
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
      placements_[where] += 1;
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
    const auto saturated = series("cluster/on").median("spout_rate");
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

  // ---------------------------------------------------------------------------------------------
  // Reporting

  const Series& series(const std::string& id) const {
    static const Series empty;
    auto it = series_.find(id);
    return it == series_.end() ? empty : it->second;
  }
  std::optional<double> med(const std::string& id, const std::string& key) const {
    return series(id).median(key);
  }
  static std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
    if (!a || !b || *b == 0) return std::nullopt;
    return *a / *b;
  }
  // The median over runs r of a's key in run r divided by b's key in run r: runs of one round
  // were measured a few seconds apart, so a change in the machine's load affects both. Falls back
  // to the ratio of the medians when no run pairs up.
  std::optional<double> paired_ratio(const std::string& a_id, const std::string& b_id,
                                     const std::string& key = "sink_rate") const {
    Series ratios;
    for (const Figures& a : series(a_id).runs) {
      for (const Figures& b : series(b_id).runs) {
        auto ak = a.find(key), bk = b.find(key);
        if (a.at("run") != b.at("run") || ak == a.end() || bk == b.end() || bk->second == 0) {
          continue;
        }
        ratios.runs.push_back({{"ratio", ak->second / bk->second}});
      }
    }
    if (ratios.runs.empty()) return ratio(med(a_id, key), med(b_id, key));
    return ratios.median("ratio");
  }
  void note(const std::string& text) {
    progress("note: " + text);
    notes_.push_back(text);
  }

  std::string range(const std::string& id, const std::string& key) const {
    const Series& s = series(id);
    return si(s.min(key)) + "-" + si(s.max(key));
  }

  std::string header() const {
    std::string cpu = first_line_of("/proc/cpuinfo", "model name");
    utsname u{};
    ::uname(&u);
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
    std::ostringstream out;
    out << "Gale benchmark suite" << (o_.label.empty() ? "" : ", " + o_.label) << ", " << date
        << "\n"
        << std::thread::hardware_concurrency() << " cores (" << cpu << "), Linux " << u.release
        << "\n"
        << "Every figure is the median of " << o_.runs << " runs (ranges: min-max); windows of "
        << number_text(o_.duration_s) << " s after " << number_text(o_.warmup_s)
        << " s of warm-up (cluster: " << number_text(o_.cluster_warmup_s)
        << " s); topology.max.spout.pending " << o_.max_pending << " with acking on.\n"
        << "Load average (1 min) before the suite " << load_at_start_ << ", after "
        << load_average() << "; " << retries_
        << " runs measured again because other work kept more than "
        << number_text(o_.max_other_load)
        << " cores busy.\nOther work lowers every absolute figure; the ratios to the ceilings, "
           "measured in the same round, hold better.\n";
    return out.str();
  }

  std::string throughput_section() const {
    Rows rows{{"scenario", "acking", "median", "unit", "min-max", "CPU cores", "per CPU-s",
               "peak RSS MB", "other load"}};
    auto row = [&](const std::string& id, const std::string& what, const std::string& acking,
                   const std::string& unit, const std::string& rss) {
      rows.push_back({what, acking, si(med(id, "sink_rate")), unit, range(id, "sink_rate"),
                      fixed(med(id, "cpu_cores"), 2), si(med(id, "per_cpu_s")), rss,
                      fixed(med(id, "other_cores"), 2)});
    };
    row("handwritten", "hand-written word count, 3 threads (ceiling)", "-", "words/s", "-");
    for (const LocalScenario& s : local_scenarios()) {
      row(s.id, s.what, acking_text(s.acking), s.shape == Shape::wordcount ? "words/s" : "tuples/s",
          fixed(med(s.id, "hwm_mb"), 1));
    }
    for (bool acking : {false, true}) {
      const std::string id = std::string("zmq/") + acking_text(acking);
      row(id, "raw ZeroMQ PUSH/PULL, same bytes (ceiling)", acking_text(acking), "words/s", "-");
      rows.back()[3] += " (" + fixed(ratio(med(id, "bytes_per_s"), 1e6), 0) + " MB/s)";
    }
    if (o_.cluster) {
      for (bool acking : {false, true}) {
        const std::string id = std::string("cluster/") + acking_text(acking);
        row(id, "word count, 2 workers over ZeroMQ", acking_text(acking), "words/s",
            fixed(med(id, "hwm_mb_1"), 1) + " + " + fixed(med(id, "hwm_mb_2"), 1));
        const double bytes_per_word =
            static_cast<double>(models_[acking].bytes) / static_cast<double>(models_[acking].words);
        auto rate = med(id, "sink_rate");
        rows.back()[3] +=
            " (" + fixed(rate ? std::optional(*rate * bytes_per_word / 1e6) : std::nullopt, 0) +
            " MB/s)";
      }
    }
    return "1. Throughput at saturation (sinks: count bolt words/s, no-op bolt tuples/s; CPU "
           "cores: the\n   process's, or both workers'; other load: cores busy with anything "
           "else during the window)\n" +
           render_table(rows, {false, false, true, false, true, true, true, true, true});
  }

  std::string ratio_section() const {
    Rows rows{{"Gale", "ceiling", "fraction"}};
    auto row = [&](const std::string& a, const std::string& a_id, const std::string& b,
                   const std::string& b_id) {
      rows.push_back({a, b, percent(paired_ratio(a_id, b_id))});
    };
    row("word count, local, acking off", "local/wordcount/off", "hand-written word count",
        "handwritten");
    row("word count, local, acking on", "local/wordcount/on", "hand-written word count",
        "handwritten");
    row("word count, local, acking on", "local/wordcount/on", "the same, acking off",
        "local/wordcount/off");
    row("no-op, local, acking on", "local/noop/on", "the same, acking off", "local/noop/off");
    if (o_.cluster) {
      row("word count, 2 workers, acking off", "cluster/off", "raw ZeroMQ, same bytes", "zmq/off");
      row("word count, 2 workers, acking on", "cluster/on", "raw ZeroMQ, same bytes", "zmq/on");
      row("word count, 2 workers, acking on", "cluster/on", "the same, acking off", "cluster/off");
      row("word count, 2 workers, acking off", "cluster/off", "word count, local, acking off",
          "local/wordcount/off");
    }
    std::string out =
        "2. Gale's rate as a fraction of each ceiling (median of the per-round "
        "ratios)\n" +
        render_table(rows, {false, false, true});
    if (o_.cluster) {
      out += "ZeroMQ messages (encoded batches): the ceiling sends " +
             fixed(average_batch_bytes(false), 0) + " / " + fixed(average_batch_bytes(true), 0) +
             " bytes on average (acking off / on); Gale's workers sent " +
             fixed(med("cluster/off", "wire_bytes_per_batch"), 0) + " / " +
             fixed(med("cluster/on", "wire_bytes_per_batch"), 0) +
             " (whole runs, from their logs).\n";
    }
    return out;
  }

  double average_batch_bytes(bool acking) const {
    const WireModel& m = models_[acking ? 1 : 0];
    return static_cast<double>(m.bytes) / static_cast<double>(m.batches.size());
  }

  std::string latency_section() const {
    Rows rows{{"scenario", "offered words/s", "achieved", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
               "trees", "CPU cores"}};
    auto row = [&](const std::string& id, const std::string& what) {
      auto offered = med(id, "offered_rate");
      rows.push_back({what, si(offered ? std::optional(*offered * k_words_per_sentence) : offered),
                      si(med(id, "sink_rate")), fixed(med(id, "p50_ms"), 3),
                      fixed(med(id, "p99_ms"), 3), fixed(med(id, "p999_ms"), 3),
                      fixed(med(id, "max_ms"), 3), si(med(id, "lat_count")),
                      fixed(med(id, "cpu_cores"), 2)});
    };
    row(sweep_id(0.5), "word count, local");
    row(k_spin_light_id, "the same, spin.light.load");
    if (o_.cluster) row("cluster/latency", "word count, 2 workers");
    std::string out =
        "3. Complete latency (spout emit to ack()) at half the saturated rate, acking on\n" +
        render_table(rows, {false, true, true, true, true, true, true, true, true});

    Rows sweep{{"offered", "offered words/s", "achieved", "p50 ms", "p99 ms", "p99.9 ms"}};
    for (double fraction : o_.sweep) {
      const std::string id = sweep_id(fraction);
      auto offered = med(id, "offered_rate");
      sweep.push_back({percent(fraction) + " of saturation",
                       si(offered ? std::optional(*offered * k_words_per_sentence) : offered),
                       si(med(id, "sink_rate")), fixed(med(id, "p50_ms"), 3),
                       fixed(med(id, "p99_ms"), 3), fixed(med(id, "p999_ms"), 3)});
    }
    out += "\n4. Latency vs offered rate, word count, local, acking on (plot: latency.svg)\n" +
           render_table(sweep, {false, true, true, true, true, true});
    return out;
  }

  std::optional<double> runtime_bytes_per_tree() const {
    const std::string small = "memory/pending/" + std::to_string(k_pending_small);
    const std::string large = "memory/pending/" + std::to_string(k_pending_large);
    auto heap_small = med(small, "heap_bytes"), heap_large = med(large, "heap_bytes");
    auto trees_small = med(small, "trees"), trees_large = med(large, "trees");
    if (!heap_small || !heap_large || !trees_small || !trees_large) return std::nullopt;
    return (*heap_large - *heap_small) / (*trees_large - *trees_small);
  }

  std::string memory_section() const {
    Rows rows{{"figure", "median", "note"}};
    const auto acker = med("memory/acker", "bytes_per_tree");
    const auto runtime = runtime_bytes_per_tree();
    rows.push_back({"acker table, bytes per pending tree", fixed(acker, 1),
                    "AckerTable with " + si(static_cast<double>(k_acker_trees)) +
                        " trees; entry alone " + fixed(med("memory/acker", "entry_bytes"), 0) +
                        " bytes"});
    rows.push_back({"runtime, bytes per pending tree", fixed(runtime, 1),
                    "local noop whose sink never acks: heap at " +
                        si(static_cast<double>(k_pending_large)) + " minus at " +
                        si(static_cast<double>(k_pending_small)) + " pending trees"});
    const auto spout_side = runtime && acker ? std::optional(*runtime - *acker) : std::nullopt;
    rows.push_back({"  of which spout side", fixed(spout_side, 1), "runtime minus acker table"});
    rows.push_back(
        {"idle worker, local mode: CPU % of a core", fixed(med("idle/local", "cpu_pct"), 2),
         "word count, acking on, spout emits nothing; " + number_text(k_idle_seconds) + " s"});
    rows.push_back({"idle worker, local mode: RSS MB", fixed(med("idle/local", "rss_mb"), 1),
                    "the whole process"});
    if (o_.cluster) {
      rows.push_back({"idle worker, cluster: CPU % of a core",
                      fixed(med("idle/cluster", "cpu_pct"), 2), "the busier of the 2 workers"});
      rows.push_back({"idle worker, cluster: RSS MB", fixed(med("idle/cluster", "rss_mb"), 1),
                      "the larger of the 2 workers"});
    }
    return "5. Memory and idle cost\n" + render_table(rows, {false, true, false});
  }

  std::vector<Target> targets() const {
    std::vector<Target> out;
    auto at_least = [&](const std::string& text, std::optional<double> value, double threshold,
                        const std::string& shown) {
      out.push_back({text, value ? std::optional(*value >= threshold) : std::nullopt, shown});
    };
    auto at_most = [&](const std::string& text, std::optional<double> value, double threshold,
                       const std::string& shown) {
      out.push_back({text, value ? std::optional(*value <= threshold) : std::nullopt, shown});
    };
    // Ratios: the median of the per-round ratios; the medians of the rates are shown beside.
    auto at_least_ratio = [&](const std::string& text, const std::string& a_id,
                              const std::string& b_id) {
      auto r = paired_ratio(a_id, b_id);
      at_least(text, r, 0.5,
               percent(r) + " (medians " + si(med(a_id, "sink_rate")) + " vs " +
                   si(med(b_id, "sink_rate")) + " words/s)");
    };
    at_least_ratio("word count local, acking off >= 50% of the hand-written ceiling",
                   "local/wordcount/off", "handwritten");
    at_least_ratio("word count local, acking on >= 50% of acking off", "local/wordcount/on",
                   "local/wordcount/off");
    {
      auto v = med("local/noop/on", "per_cpu_s");
      at_least("no-op local, acking on >= 1M tuples/s per CPU-second", v, 1e6,
               si(v) + " tuples per CPU-s (" + si(med("local/noop/on", "sink_rate")) +
                   " tuples/s on " + fixed(med("local/noop/on", "cpu_cores"), 2) + " cores)");
    }
    {
      auto v = med(sweep_id(0.5), "p99_ms");
      at_most("complete latency p99 <= 1 ms, word count local at half the saturated rate", v, 1.0,
              fixed(v, 3) + " ms");
    }
    if (o_.cluster) {
      auto v = med("cluster/latency", "p99_ms");
      at_most("complete latency p99 <= 5 ms, word count on 2 workers at half the saturated rate", v,
              5.0, fixed(v, 3) + " ms");
      at_least_ratio("word count on 2 workers, acking off >= 50% of raw ZeroMQ for the same bytes",
                     "cluster/off", "zmq/off");
    }
    auto idle = [&](const std::string& id, const std::string& what) {
      auto cpu = med(id, "cpu_pct"), rss = med(id, "rss_mb");
      std::optional<bool> pass;
      if (cpu && rss) pass = *cpu < 1.0 && *rss < 30.0;
      out.push_back({"idle worker (" + what + ") < 1% of a core and < 30 MB RSS", pass,
                     fixed(cpu, 2) + "% of a core, " + fixed(rss, 1) + " MB"});
    };
    idle("idle/local", "local mode");
    if (o_.cluster) idle("idle/cluster", "cluster");
    return out;
  }

  std::string targets_section() const {
    Rows rows{{"result", "target", "measured"}};
    for (const Target& t : targets()) {
      rows.push_back({t.pass ? (*t.pass ? "PASS" : "FAIL") : "MISSING", t.text, t.measured});
    }
    return "6. Targets\n" + render_table(rows, {false, false, false});
  }

  std::string report() const {
    std::string out = header() + "\n" + throughput_section() + "\n" + ratio_section() + "\n" +
                      latency_section() + "\n" + memory_section() + "\n" + targets_section();
    std::vector<std::string> notes = notes_;
    for (const auto& [where, count] : placements_) {
      notes.push_back("cluster placement (gale status, " + std::to_string(count) +
                      " runs): " + where);
    }
    for (const auto& [id, s] : series_) {
      for (const std::string& e : s.errors) notes.push_back(id + " failed: " + e);
      for (const Figures& f : s.runs) {
        auto offered = f.find("offered_rate"), achieved = f.find("spout_rate");
        if (offered != f.end() && achieved != f.end() &&
            achieved->second < 0.95 * offered->second) {
          notes.push_back(id + ": the spout reached only " + si(achieved->second) + " of " +
                          si(offered->second) + " sentences/s offered");
        }
        if (auto failed = f.find("failed"); failed != f.end() && failed->second > 0) {
          notes.push_back(id + ": " + number_text(failed->second) + " trees failed in the window");
        }
      }
    }
    if (!notes.empty()) {
      out += "\nNotes\n";
      for (const std::string& n : notes) out += "- " + n + "\n";
    }
    return out;
  }

  void write_file(const std::string& name, const std::string& text) const {
    std::ofstream out(o_.out_dir + "/" + name);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + o_.out_dir + "/" + name);
  }

  void write_results_csv() const {
    std::ostringstream out;
    out.precision(10);
    out << "scenario,figure,median,min,max,runs,values\n";
    for (const auto& [id, s] : series_) {
      std::map<std::string, bool> keys;
      for (const Figures& f : s.runs) {
        for (const auto& [key, value] : f) keys[key] = true;
      }
      for (const auto& [key, unused] : keys) {
        const auto values = s.values(key);
        out << id << ',' << key << ',' << *s.median(key) << ',' << *s.min(key) << ',' << *s.max(key)
            << ',' << values.size() << ',';
        for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ";" : "") << values[i];
        out << '\n';
      }
    }
    write_file("results.csv", out.str());
  }

  void write_targets_csv() const {
    std::ostringstream out;
    out << "result,target,measured\n";
    for (const Target& t : targets()) {
      out << (t.pass ? (*t.pass ? "PASS" : "FAIL") : "MISSING") << ",\"" << t.text << "\",\""
          << t.measured << "\"\n";
    }
    write_file("targets.csv", out.str());
  }

  void write_plot() const {
    std::ostringstream data;
    data << "# percent offered_kwords_per_s achieved_kwords_per_s p50_ms p99_ms p999_ms\n";
    int points = 0;
    for (double fraction : o_.sweep) {
      const std::string id = sweep_id(fraction);
      auto offered = med(id, "offered_rate"), achieved = med(id, "sink_rate");
      auto p50 = med(id, "p50_ms"), p99 = med(id, "p99_ms"), p999 = med(id, "p999_ms");
      if (!offered || !achieved || !p50 || !p99 || !p999) continue;
      data << fraction * 100 << ' ' << *offered * k_words_per_sentence / 1e3 << ' '
           << *achieved / 1e3 << ' ' << *p50 << ' ' << *p99 << ' ' << *p999 << '\n';
      ++points;
    }
    write_file("latency.dat", data.str());
    const std::string dir = std::filesystem::absolute(o_.out_dir).string();
    std::ostringstream script;
    script << "set terminal svg size 860,520 dynamic font 'sans,12' background rgb 'white'\n"
           << "set output '" << dir << "/latency.svg'\n"
           << "set title \"Gale word count, local mode, acking on: complete latency vs offered "
              "rate\\n"
           << (o_.label.empty() ? "" : o_.label + ", ") << "median of " << o_.runs
           << " runs per point\"\n"
           << "set xlabel 'offered rate (thousand words/s); labels: % of the saturated rate'\n"
           << "set ylabel 'complete latency (ms)'\n"
           << "set logscale y\nset grid\nset key below\nset xrange [0:*]\n"
           << "plot '" << dir
           << "/latency.dat' using 2:4 with linespoints lw 2 pt 7 title 'p50', \\\n"
           << "  '' using 2:5 with linespoints lw 2 pt 5 title 'p99', \\\n"
           << "  '' using 2:6 with linespoints dt 2 pt 4 title 'p99.9', \\\n"
           << "  '' using 2:5:(sprintf('%d%%', int($1))) with labels offset 0,1 notitle, \\\n"
           << "  1 with lines dt 3 lc rgb 'red' title 'p99 target, local (1 ms)'\n";
    write_file("latency.gp", script.str());
    if (points == 0) {
      progress("no latency points: latency.svg not drawn");
      return;
    }
    const auto r =
        gale::test::run_program({"gnuplot", dir + "/latency.gp"}, std::chrono::seconds(30));
    if (r.exit_code != 0) {
      progress("gnuplot failed or is missing (apt-get install gnuplot-nox); latency.gp is there: " +
               r.output);
    }
  }

  static std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    in >> one;
    return one.empty() ? "?" : one;
  }

  const SuiteOptions o_;
  const Clock::time_point started_;
  const std::string load_at_start_;
  double retry_budget_s_ = o_.retry_budget_s;
  int retries_ = 0;
  WireModel models_[2];  // [acking]
  std::map<std::string, Series> series_;
  std::map<std::string, int> placements_;
  std::vector<std::string> notes_;
  int failures_ = 0;
};

}  // namespace

int run_suite(const SuiteOptions& options) { return Suite(options).run(); }

}  // namespace gale::bench
