#include "cli/local_command.hpp"

#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cli/config_file.hpp"
#include "cli/report.hpp"
#include "cli/signals.hpp"
#include "common/topology_id.hpp"
#include "plugin/loader.hpp"
#include "topology/src/plan.hpp"
#include "worker/worker.hpp"

namespace gale::cli {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

namespace {

struct LocalOptions {
  bool help = false;
  std::string plugin;
  std::optional<double> duration_s;  // none: until a signal
  double drain_s = 5;
  ConfigSources config;   // --config and each -c, over the plugin's own config
  std::string log_level;  // empty: leave GALE_LOG_LEVEL (or info) in force
};

po::options_description visible_options() {
  po::options_description options("Options");
  options.add_options()("help,h", "show this help and exit")(
      "duration,d", po::value<double>()->value_name("S"),
      "stop after S seconds (default: run until Ctrl-C or SIGTERM)")(
      "set,c", po::value<std::vector<std::string>>()->value_name("KEY=VALUE")->composing(),
      "set a config entry; repeatable; wins over the plugin and --config")(
      "config", po::value<std::string>()->value_name("FILE"),
      "read config entries from FILE (gale.conf format, see below)")(
      "drain", po::value<double>()->value_name("S")->default_value(5, "5"),
      "on stop, wait up to S seconds for pending tuple trees to complete; then drop what is "
      "still queued")(
      "log-level", po::value<std::string>()->value_name("LEVEL"),
      "trace, debug, info, warn, error or off (default: $GALE_LOG_LEVEL, else info); logs go "
      "to stderr");
  return options;
}

LocalOptions parse_options(const std::vector<std::string>& args) {
  po::options_description all = visible_options();
  all.add_options()("plugin", po::value<std::string>(), "the topology plugin");
  po::positional_options_description positional;
  positional.add("plugin", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  po::notify(vm);

  LocalOptions o;
  o.help = vm.count("help") > 0;
  if (o.help) return o;
  if (!vm.count("plugin")) throw po::error("missing the plugin to run: gale local PLUGIN.so");
  o.plugin = vm["plugin"].as<std::string>();
  if (vm.count("duration")) {
    o.duration_s = vm["duration"].as<double>();
    // The upper bound (ten years) keeps the deadline arithmetic far from overflow.
    if (!(*o.duration_s > 0 && *o.duration_s < 3.2e8)) {
      throw po::error("--duration must be a positive number of seconds");
    }
  }
  o.drain_s = vm["drain"].as<double>();
  if (!(o.drain_s >= 0 && o.drain_s < 3.2e8))
    throw po::error("--drain must be zero or more seconds");
  o.config = config_sources(vm, /*default_file=*/false);
  if (vm.count("log-level")) o.log_level = vm["log-level"].as<std::string>();
  return o;
}

spdlog::level::level_enum parse_log_level(const std::string& name) {
  // spdlog maps unknown names to "off" silently; a typo should not hide every log.
  for (const char* known : {"trace", "debug", "info", "warn", "error", "off"}) {
    if (name == known) return spdlog::level::from_str(name);
  }
  throw po::error("--log-level must be one of trace, debug, info, warn, error, off (got '" + name +
                  "')");
}

// "10s", "2.5s"
std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%gs", seconds);
  return buffer;
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// "sentences x1, split x2, count x2, 1 acker"
std::string describe(const Topology& topology, const std::vector<std::string>& order,
                     const Config& config) {
  std::string text;
  for (const auto& id : order) {
    if (!text.empty()) text += ", ";
    text += id + " x" + std::to_string(topology.component(id).num_tasks);
  }
  const int ackers = detail::acker_task_count(config);
  text += ackers == 0 ? ", acking off"
                      : ", " + std::to_string(ackers) + (ackers == 1 ? " acker" : " ackers");
  return text;
}

// Local mode has no supervisor to restart the process, and a thread inside user code cannot be
// stopped or joined: under topology.executor.stuck.policy = restart, `gale local` prints the
// summary and the error and ends at once with status 5 (a script sees the hang instead of waiting
// on it). Nothing is stopped or destroyed.
[[noreturn]] void exit_stuck(const worker::StuckExecutor& stuck, const worker::WorkerStats& stats,
                             double elapsed_s) {
  std::cout << summary(stats, elapsed_s, "an executor got stuck") << std::flush;
  std::cerr << "gale: error: " << stuck.describe()
            << "; local mode cannot restart it (topology.executor.stuck.policy = restart; set it "
               "to report to keep running): exiting with status 5"
            << std::endl;
  std::_Exit(5);
}

// Worker::stop() bounds the drain, but it must join every executor thread, and a thread inside a
// user call that never returns (a bolt blocked for ever under topology.executor.stuck.policy =
// report) cannot be joined. `gale local` then ends anyway, `k_stop_grace` after the drain, with
// status 5 and a line saying why, instead of hanging.
constexpr std::chrono::seconds k_stop_grace{5};

// Thread: created and destroyed by the command's thread; its own thread only waits and maybe exits.
class StopWatchdog {
 public:
  explicit StopWatchdog(std::chrono::milliseconds limit)
      : thread_([this, limit] {
          std::unique_lock lock(mutex_);
          if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
          std::cerr << "gale: error: stopping did not finish " << k_stop_grace.count()
                    << " s after the drain: a spout or bolt is still inside a user call "
                       "(execute(), next_tuple(), ack() or fail()) and cannot be stopped; "
                       "exiting with status 5 without waiting for it"
                    << std::endl;
          std::_Exit(5);
        }) {}
  ~StopWatchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  StopWatchdog(const StopWatchdog&) = delete;
  StopWatchdog& operator=(const StopWatchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace

std::string local_help() {
  std::ostringstream out;
  out << "Usage: gale local PLUGIN.so [options]\n"
         "\n"
         "Runs the topology a plugin builds (a shared library with GALE_TOPOLOGY) in this\n"
         "process: every spout, bolt and acker task on its executor, as a cluster worker\n"
         "runs them.\n"
         "\n"
         "Every second it prints one line on stdout: the elapsed time; per spout the\n"
         "tuples emitted and the tuple trees acked, failed and pending; per bolt the\n"
         "execute() calls (and failed inputs, errors when there are any); then tuples/s,\n"
         "the execute() calls of all bolts over the last second. It stops on Ctrl-C\n"
         "(SIGINT), SIGTERM or after --duration: spouts stop, pending trees get --drain\n"
         "seconds to complete (Ctrl-C again quits at once); past that no more user code\n"
         "runs, what is still queued is dropped and the trees left pending are counted.\n"
         "Then a summary shows per-component totals, the average throughput, the complete\n"
         "latency p50/p99 of spouts with acking on, the failed trees (reliable spouts\n"
         "replay them) and the trees a drain that ran out left pending.\n"
         "\n"
      << visible_options()
      << "\n"
         "Configuration, later sources winning: topology.name = the plugin's file name,\n"
         "the config the plugin's build function sets, --config FILE, then each -c in\n"
         "order. The build function reads --config and -c too (a server's address, say).\n"
         "topology.id is Gale's: a new deployment id for each run.\n"
         "A config file holds `key = value` lines; `#` starts a comment; a\n"
         "`[topology]` section header prefixes the keys below it with \"topology.\". Values\n"
         "of files and -c are read as an integer, a double, true/false, null, or else a\n"
         "string. Useful keys (default):\n"
         "  topology.acker.executors       acker tasks; 0 turns acking off (1)\n"
         "  topology.processing.guarantee  at_least_once (acking) or at_most_once\n"
         "                                 (no acking, no replay) (at_least_once)\n"
         "  topology.max.spout.pending     in-flight trees per spout task (1000 with\n"
         "                                 acking on; null: unbounded)\n"
         "  topology.message.timeout.secs  seconds before a pending tree fails (30)\n"
         "  topology.tick.tuple.freq.secs  seconds between tick tuples to bolts (no ticks)\n"
         "  topology.debug                 log every emitted tuple (false)\n"
         "  topology.executor.stuck.secs   seconds without progress inside user code\n"
         "                                 before an executor counts as stuck (60; 0: off)\n"
         "  topology.executor.stuck.policy restart: exit with status 5; report: only\n"
         "                                 warn and show it on the progress line (restart)\n"
         "\n"
         "Examples:\n"
         "  gale local build/examples/word_count.so --duration 10\n"
         "  gale local word_count.so -c topology.acker.executors=0\n"
         "  gale local my_topology.so --config gale.conf -c topology.max.spout.pending=5000\n"
         "\n"
         "Exit status: 0 after a stop by signal or --duration; 1 when the plugin or its\n"
         "topology is invalid or a spout's open() or a bolt's prepare() threw (the error\n"
         "names the component and task); 2 for bad arguments or an invalid config; 5 when\n"
         "an executor got stuck and topology.executor.stuck.policy is restart.\n";
  return out.str();
}

int run_local(const std::vector<std::string>& args) {
  const LocalOptions o = parse_options(args);
  if (o.help) {
    std::cout << local_help();
    return 0;
  }
  if (!o.log_level.empty()) {
    spdlog::set_level(parse_log_level(o.log_level));
    // The runtime's loggers take their level from the environment when they are created.
    setenv("GALE_LOG_LEVEL", o.log_level.c_str(), 1);
  }

  // The build function reads the user's config (a server's address, say); loading it twice here
  // warns about a misspelt key only once, below.
  const Config given = load_config(o.config, {}, [](const std::string&) {});
  plugin::LoadedPlugin plugin = plugin::load_plugin(o.plugin, given);
  Config base;
  base.set(keys::topology_name, std::filesystem::path(o.plugin).stem().string());
  base.merge(plugin.config);
  Config config = load_config(o.config, std::move(base));
  config.validate();

  const std::string name = config.get_string(keys::topology_name, "topology");
  config.set(keys::topology_id, common::local_topology_id(name));  // one deployment per run
  const std::vector<std::string> order = display_order(plugin.topology);
  const std::string layout = describe(plugin.topology, order, config);
  // Stats in reading order (spouts first, then downstream), for the progress and the summary.
  auto stats_of = [&](const worker::Worker& w) {
    worker::WorkerStats stats = w.stats();
    sort_for_display(stats, order);
    return stats;
  };
  worker::Worker worker(std::move(plugin.topology), config);

  const sigset_t signals = stop_signals();

  std::cout << "gale local: running " << name << " (" << layout << "); "
            << (o.duration_s ? "stops after " + seconds_text(*o.duration_s) : "Ctrl-C stops")
            << std::endl;
  const auto started = Clock::now();
  worker.start();
  const auto deadline = o.duration_s ? started + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(*o.duration_s))
                                     : Clock::time_point::max();

  // Progress lines are due at whole seconds after the start, so they do not drift.
  worker::WorkerStats before = stats_of(worker);
  auto before_at = started;
  long next_line = 1;
  std::string why = "duration reached";
  for (;;) {
    const auto line_due = started + std::chrono::seconds(next_line);
    const int signal = cli::wait_for_signal(signals, std::min(line_due, deadline));
    if (signal != 0) {
      why = signal == SIGINT ? "interrupted" : "terminated";
      break;
    }
    const auto now = Clock::now();
    if (now >= line_due) {
      // The stuck-executor watch runs on this loop, once a second.
      const std::vector<worker::StuckExecutor> stuck = worker.check_progress();
      if (!stuck.empty() && worker.restart_when_stuck()) {
        exit_stuck(stuck.front(), stats_of(worker), seconds_between(started, now));
      }
      worker::WorkerStats stats = stats_of(worker);
      std::cout << progress_line(stats, before, seconds_between(started, now),
                                 seconds_between(before_at, now))
                << std::endl;
      before = std::move(stats);
      before_at = now;
      while (started + std::chrono::seconds(next_line) <= now) ++next_line;
    }
    if (now >= deadline) break;
  }

  // A second Ctrl-C during the drain should quit at once: give SIGINT/SIGTERM back their default
  // action on this thread (the executor threads keep them blocked, so they land here).
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  std::cout << "stopping: draining pending trees for up to " << seconds_text(o.drain_s)
            << " (Ctrl-C again quits at once)" << std::endl;
  const auto drain = std::chrono::milliseconds(static_cast<std::int64_t>(o.drain_s * 1000));
  std::optional<worker::StopSummary> stopped;
  {
    StopWatchdog watchdog(drain + k_stop_grace);
    stopped = worker.stop(drain);
  }
  const double elapsed = seconds_between(started, Clock::now());
  std::cout << summary(stats_of(worker), elapsed, why) << stop_line(*stopped, o.drain_s)
            << std::flush;
  return 0;
}

}  // namespace gale::cli
