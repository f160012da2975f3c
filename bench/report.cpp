#include "bench/report.hpp"

#include <sys/utsname.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "bench/scenarios.hpp"
#include "cluster/local_cluster.hpp"

namespace gale::bench {

namespace {

using Rows = std::vector<std::vector<std::string>>;
using Progress = std::function<void(const std::string&)>;

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

struct Target {
  std::string text;
  std::optional<bool> pass;  // nullopt: not measured
  std::string measured;
  bool skipped = false;  // not measured on purpose (a connector's server binary is missing)

  std::string result() const {
    if (skipped) return "SKIPPED";
    return pass ? (*pass ? "PASS" : "FAIL") : "MISSING";
  }
};

// Thread: one owner. `options` and `results` must outlive it.
class Report {
 public:
  Report(const SuiteOptions& options, const SuiteResults& results, Progress progress)
      : o_(options), r_(results), progress_(std::move(progress)) {}

  std::string report() const {
    std::string out = header() + "\n" + throughput_section() + "\n" + ratio_section() + "\n" +
                      latency_section() + "\n" + memory_section() + "\n" +
                      (o_.windows ? window_section() + "\n" : "") +
                      (o_.connectors ? connector_section() + "\n" : "") + targets_section();
    std::vector<std::string> notes = r_.notes;
    for (const auto& [where, count] : r_.placements) {
      notes.push_back("cluster placement (gale status, " + std::to_string(count) +
                      " runs): " + where);
    }
    for (const auto& [id, s] : r_.series) {
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

  void write_files(const std::string& table) const {
    write_file("table.txt", table);
    write_results_csv();
    write_targets_csv();
    write_plot();
  }

 private:
  const Series& series(const std::string& id) const { return r_.of(id); }
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
        << "Load average (1 min) before the suite " << r_.load_at_start << ", after "
        << load_average() << "; " << r_.retries
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
        const double bytes_per_word = static_cast<double>(r_.models[acking].bytes) /
                                      static_cast<double>(r_.models[acking].words);
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
    const WireModel& m = r_.models[acking ? 1 : 0];
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

  std::string window_section() const {
    Rows rows{{"scenario", "median/s", "min-max", "CPU cores", "peak RSS MB",
               "bytes per key+window", "heap", "other load"}};
    auto row = [&](const std::string& id, const std::string& what) {
      rows.push_back(
          {what, si(med(id, "sink_rate")), range(id, "sink_rate"), fixed(med(id, "cpu_cores"), 2),
           fixed(med(id, "hwm_mb"), 1), fixed(med(id, "bytes_per_key_window"), 1),
           fixed(med(id, "heap_bytes_per_key_window"), 1), fixed(med(id, "other_cores"), 2)});
    };
    row(k_window_baseline_id, "keyed spout -> no-op bolt (baseline)");
    std::string held;
    for (const WindowScenario& s : window_scenarios()) {
      row(s.id, s.what);
      if (const auto bytes = med(s.id, "bytes_per_held_tuple")) {
        held = "A window without aggregation holds every tuple: " + fixed(bytes, 0) +
               " bytes per tuple held (its peak RSS less the baseline's over\nthe most tuples "
               "its window held, " +
               si(med(s.id, "peak_window_tuples")) + ").\n";
      }
    }
    const std::string keys = si(static_cast<double>(o_.window_keys));
    return "6. Windowed count: keyed spout (" + keys + " keys) -> sliding window of " +
           number_text(k_window_length_ms / 1000.0) + " s every " +
           number_text(k_window_slide_ms / 1000.0) +
           " s, local, acking off; tuples/s\n   taken in by the window bolt over " +
           number_text(o_.window_duration_s) + " s after " + number_text(o_.window_fill_s) +
           " s of filling; bytes per key and window: peak RSS\n   (heap: at the end) less the "
           "baseline's of the same round, over " +
           keys + " keys x " + std::to_string(k_windows_per_tuple) + " windows\n" +
           render_table(rows, {false, true, true, true, true, true, true, true}) + held;
  }

  std::string connector_section() const {
    Rows rows{{"scenario", "median", "unit", "min-max", "of plain", "CPU cores", "per CPU-s",
               "other load + server"}};
    for (const ConnectorScenario& c : connector_scenarios()) {
      if (auto skipped = r_.skipped_connectors.find(c.id); skipped != r_.skipped_connectors.end()) {
        rows.push_back({c.spout_what + ": skipped (notes)", "-", "", "", "", "", "", ""});
        continue;
      }
      for (bool spout : {true, false}) {
        const std::string id = connector_run_id(c.id, spout);
        const std::string of_plain =
            spout ? percent(paired_ratio(id, connector_run_id(c.id, false))) : "100%";
        rows.push_back({spout ? c.spout_what + ", acking on" : "  " + c.plain_what,
                        si(med(id, "sink_rate")), "records/s", range(id, "sink_rate"), of_plain,
                        fixed(med(id, "cpu_cores"), 2), si(med(id, "per_cpu_s")),
                        fixed(med(id, "other_with_server_cores"), 2)});
      }
    }
    return "7. Connectors: records read (spout: acked) per second, from pre-produced records on a "
           "loopback\n   server; spout runs in local mode into a no-op bolt, max spout pending " +
           std::to_string(o_.max_pending) +
           "; each run reads every record, timed\n   after the first fifth (CPU cores: the "
           "reading process's)\n" +
           render_table(rows, {false, true, false, true, true, true, true, true});
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
    if (o_.connectors) {
      for (const ConnectorScenario& c : connector_scenarios()) {
        const std::string spout = connector_run_id(c.id, true);
        const std::string plain = connector_run_id(c.id, false);
        const std::string text = c.name + " >= " + percent(k_connector_target) + " of the " +
                                 c.plain_what + "'s records/s";
        const auto skipped = r_.skipped_connectors.find(c.id);
        if (skipped != r_.skipped_connectors.end()) {
          out.push_back({text, std::nullopt, skipped->second, true});
          continue;
        }
        const auto r = paired_ratio(spout, plain);
        at_least(text, r, k_connector_target,
                 percent(r) + " (medians " + si(med(spout, "sink_rate")) + " vs " +
                     si(med(plain, "sink_rate")) + " records/s)");
      }
    }
    return out;
  }

  std::string targets_section() const {
    Rows rows{{"result", "target", "measured"}};
    for (const Target& t : targets()) {
      rows.push_back({t.result(), t.text, t.measured});
    }
    return "8. Targets\n" + render_table(rows, {false, false, false});
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
    for (const auto& [id, s] : r_.series) {
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
      out << t.result() << ",\"" << t.text << "\",\"" << t.measured << "\"\n";
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
      progress_("no latency points: latency.svg not drawn");
      return;
    }
    const auto r = cluster::run_program({"gnuplot", dir + "/latency.gp"}, std::chrono::seconds(30));
    if (r.exit_code != 0) {
      progress_(
          "gnuplot failed or is missing (apt-get install gnuplot-nox); latency.gp is there: " +
          r.output);
    }
  }

  const SuiteOptions& o_;
  const SuiteResults& r_;
  const Progress progress_;
};

}  // namespace

const Series& SuiteResults::of(const std::string& id) const {
  static const Series empty;
  auto it = series.find(id);
  return it == series.end() ? empty : it->second;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

std::string report_table(const SuiteOptions& options, const SuiteResults& results) {
  return Report(options, results, [](const std::string&) {}).report();
}

void write_report(const SuiteOptions& options, const SuiteResults& results,
                  const std::string& table, const Progress& progress) {
  Report(options, results, progress).write_files(table);
}

}  // namespace gale::bench
