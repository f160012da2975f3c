#include "cli/worker_command.hpp"
#include "cli/signals.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>
#include <zmq.hpp>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cluster/assignment_file.hpp"
#include "cluster/protocol.hpp"
#include "cluster/rpc.hpp"
#include "common/logging.hpp"
#include "plugin/loader.hpp"
#include "topology/src/plan.hpp"
#include "transport/zmq_transport.hpp"
#include "worker/process/routes.hpp"
#include "worker/worker.hpp"

namespace gale::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// How long pending trees get to complete when the worker stops: short enough that a stop on
// SIGTERM ends well within the supervisor's grace period before SIGKILL (5 s by default).
constexpr milliseconds k_drain_on_stop{2000};
constexpr milliseconds k_drain_on_reassign{1000};
constexpr milliseconds k_transport_flush{1000};
constexpr milliseconds k_rpc_timeout{1000};

struct WorkerArgs {
  bool help = false;
  std::string nimbus;
  std::string supervisor;
  std::string host;
  int port = 0;
  std::string dir;
  std::string plugin;
};

po::options_description visible_options() {
  po::options_description options("Options (all required)");
  options.add_options()("help,h", "show this help and exit")(
      "nimbus", po::value<std::string>()->value_name("HOST:PORT"), "nimbus to heartbeat")(
      "supervisor", po::value<std::string>()->value_name("ID"), "the supervisor's id")(
      "host", po::value<std::string>()->value_name("H"), "the address to bind the data port on")(
      "port", po::value<int>()->value_name("P"), "the slot: the data port")(
      "dir", po::value<std::string>()->value_name("D"),
      "the slot's directory (assignment.msgpack, heartbeat, worker.log)")(
      "plugin", po::value<std::string>()->value_name("FILE"), "the topology plugin");
  return options;
}

WorkerArgs parse_args(const std::vector<std::string>& args) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(visible_options()).run(), vm);
  po::notify(vm);
  WorkerArgs a;
  a.help = vm.count("help") > 0;
  if (a.help) return a;
  for (const char* required : {"nimbus", "supervisor", "host", "port", "dir", "plugin"}) {
    if (!vm.count(required)) throw po::error(std::string("missing --") + required);
  }
  a.nimbus = vm["nimbus"].as<std::string>();
  a.supervisor = vm["supervisor"].as<std::string>();
  a.host = vm["host"].as<std::string>();
  a.port = vm["port"].as<int>();
  if (a.port < 1 || a.port > 65535) throw po::error("--port must be 1..65535");
  a.dir = vm["dir"].as<std::string>();
  a.plugin = vm["plugin"].as<std::string>();
  return a;
}

// The supervisor watches the file's modification time; the content (Unix time in ms) is for
// people. Written aside and renamed, so that nobody reads a half-written file.
void touch_heartbeat(const fs::path& path, spdlog::logger& log) {
  const auto now_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << now_ms << "\n";
    if (!out) {
      log.warn("cannot write {}", tmp.string());
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) log.warn("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
}

// This worker's slot in `assignment`: by supervisor and port (the supervisor's id is stable, its
// host name might be spelled differently), else by host and port.
const cluster::WorkerAssignment* find_slot(const cluster::Assignment& assignment,
                                           const WorkerArgs& a) {
  for (const auto& w : assignment.workers) {
    if (w.supervisor == a.supervisor && w.port == a.port) return &w;
  }
  return assignment.slot(a.host, a.port);
}

// Per-component rates over the last heartbeat interval: the previous totals and when they were
// read. Thread: the worker's main thread.
class RateWindow {
 public:
  // Tuples per second of `total` since the last call for `key` (0 on the first call).
  std::int64_t rate(const std::string& key, std::uint64_t total, Clock::time_point now) {
    auto [it, fresh] = last_.try_emplace(key, Reading{total, now});
    if (fresh) return 0;
    const Reading before = it->second;
    it->second = Reading{total, now};
    const double seconds = std::chrono::duration<double>(now - before.at).count();
    if (seconds <= 0 || total < before.total) return 0;
    return static_cast<std::int64_t>((total - before.total) / seconds + 0.5);
  }

 private:
  struct Reading {
    std::uint64_t total;
    Clock::time_point at;
  };
  std::map<std::string, Reading> last_;
};

std::int64_t micros(double ms) { return static_cast<std::int64_t>(ms * 1000.0 + 0.5); }

// The heartbeat nimbus stores and shows in `gale status`: where the worker runs, and per
// component its counters, its rates over the last interval and (spouts with acking on) the
// complete latency since the worker started.
Map heartbeat_body(const WorkerArgs& a, const cluster::Assignment& assignment,
                   const worker::Worker& worker, Clock::time_point started, RateWindow& rates) {
  Map stats;
  std::string last_error;
  const Clock::time_point now = Clock::now();
  for (const worker::ComponentStats& c : worker.stats().components) {
    Map s{{"kind", c.is_spout   ? "spout"
                   : c.is_acker ? "acker"
                                : "bolt"},
          {"tasks", static_cast<std::int64_t>(c.tasks)},
          {"emitted", static_cast<std::int64_t>(c.emitted)},
          {"transferred", static_cast<std::int64_t>(c.transferred)},
          {"acked", static_cast<std::int64_t>(c.acked)},
          {"failed", static_cast<std::int64_t>(c.failed)},
          {"executed", static_cast<std::int64_t>(c.executed)},
          {"errors", static_cast<std::int64_t>(c.errors)},
          {"emitted_per_s", rates.rate(c.component + "/emitted", c.emitted, now)},
          {"executed_per_s", rates.rate(c.component + "/executed", c.executed, now)}};
    if (c.complete_latency.count > 0) {
      s.emplace("latency_count", static_cast<std::int64_t>(c.complete_latency.count));
      s.emplace("latency_p50_us", micros(c.complete_latency.p50_ms));
      s.emplace("latency_p99_us", micros(c.complete_latency.p99_ms));
    }
    stats.emplace(c.component, Value(std::move(s)));
    if (!c.last_error.empty()) last_error = c.component + ": " + c.last_error;
  }
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started);
  return Map{{"topology_id", assignment.topology_id},
             {"supervisor", a.supervisor},
             {"host", a.host},
             {"port", static_cast<std::int64_t>(a.port)},
             {"version", assignment.version},
             {"uptime_secs", static_cast<std::int64_t>(uptime.count())},
             {"stats", Value(std::move(stats))},
             {"last_error", last_error}};
}

void follow_status(const std::string& status, worker::Worker& worker, std::string& current,
                   spdlog::logger& log) {
  if (status == current) return;
  // Storm deactivates spouts while a topology rebalances too.
  if (status == "active") {
    worker.activate();
  } else {
    worker.deactivate();
  }
  log.info("topology status {} -> {}", current, status);
  current = status;
}

}  // namespace

std::string worker_help() {
  std::ostringstream out;
  out << "Usage: gale worker --nimbus H:P --supervisor ID --host H --port P --dir D --plugin FILE\n"
         "\n"
         "Runs the tasks of one worker slot of a topology. Supervisors start workers; there\n"
         "is no need to run this by hand. The worker reads D/assignment.msgpack (written by\n"
         "the supervisor), loads the plugin, runs the tasks of its slot, receives tuple\n"
         "batches from its peers on a ZeroMQ PULL socket at tcp://H:P and sends to them\n"
         "over PUSH sockets. Every worker.heartbeat.frequency.secs (1) it rewrites D/heartbeat\n"
         "and heartbeats nimbus, following the status (active, inactive, killed) and newer\n"
         "assignments nimbus replies with. While nimbus is down it keeps running.\n"
         "\n"
      << visible_options()
      << "\n"
         "Logs go to stderr and D/worker.log.\n"
         "\n"
         "Exit status: 0 after a clean stop (SIGTERM, or the topology is unknown to nimbus);\n"
         "3 when a newer assignment changed this slot's tasks (the supervisor restarts it);\n"
         "1 when the assignment, the plugin or the data port is unusable; 2 for bad\n"
         "arguments.\n";
  return out.str();
}

namespace {

int run_slot(const WorkerArgs& a, const std::shared_ptr<spdlog::logger>& log) {
  const Clock::time_point started = Clock::now();
  const fs::path dir = a.dir;
  const std::string name = "worker-" + std::to_string(a.port);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);

  const cluster::AssignmentFile file = cluster::read_assignment_file(dir / "assignment.msgpack");
  cluster::Assignment assignment = file.assignment;
  const cluster::WorkerAssignment* slot = find_slot(assignment, a);
  if (slot == nullptr || slot->tasks.empty()) {
    std::string message = "slot " + a.supervisor + " " + a.host + ":" + std::to_string(a.port) +
                          " has no tasks in assignment version " +
                          std::to_string(assignment.version) + " of topology " +
                          assignment.topology_id;
    throw Error(message);
  }
  const std::vector<std::int32_t> my_tasks = slot->tasks;

  plugin::LoadedPlugin plugin = plugin::load_plugin(a.plugin);
  // Nimbus's config already merged the plugin's; merging again keeps keys the file may lack.
  Config config = plugin.config;
  config.merge(file.config);
  const double heartbeat_secs = config.get_double("worker.heartbeat.frequency.secs", 1.0);
  const auto heartbeat_period =
      milliseconds(static_cast<std::int64_t>(std::clamp(heartbeat_secs, 0.05, 60.0) * 1000));

  zmq::context_t context(1);
  transport::ZmqTransportOptions transport_options;
  transport_options.host = a.host;
  transport_options.port = a.port;
  transport_options.logger = log;
  transport::ZmqTransport transport(context, transport_options);
  transport.set_routes(worker::routes_of(assignment));

  worker::WorkerOptions options;
  options.tasks = my_tasks;
  options.remote = &transport;
  options.name = name;
  options.log_file = (dir / "worker.log").string();
  // Declared after the transport: destroyed (stopped) before it, as the transport requires.
  worker::Worker worker(plugin.topology, config, options);
  const detail::Plan& plan = worker.plan();
  transport.start([&plan](std::int32_t c, std::int32_t s) { return plan.resolve(c, s); },
                  [&worker](std::vector<wire::Message>&& m) { worker.receive(std::move(m)); });
  worker.start();  // spouts start active
  std::string status = "active";
  follow_status(file.status, worker, status, *log);
  std::string task_list;
  for (std::int32_t t : my_tasks) task_list += (task_list.empty() ? "" : ",") + std::to_string(t);
  log->info("worker for topology {} (assignment version {}) runs tasks {} on {}",
            assignment.topology_id, assignment.version, task_list, transport.endpoint());

  cluster::RpcClient nimbus(context, cluster::tcp_endpoint(a.nimbus), k_rpc_timeout);
  int exit_code = k_worker_exit_done;
  milliseconds drain = k_drain_on_stop;
  bool nimbus_reachable = true;
  std::string last_nimbus_error;
  Clock::time_point next = Clock::now();
  RateWindow rates;
  for (;;) {
    touch_heartbeat(dir / "heartbeat", *log);
    std::optional<cluster::Reply> reply;
    try {
      reply =
          nimbus.call("worker_heartbeat", heartbeat_body(a, assignment, worker, started, rates));
    } catch (const std::exception& e) {
      log->warn("nimbus sent a malformed reply: {}", e.what());
    }
    if (!reply) {
      if (nimbus_reachable) log->warn("nimbus {} does not answer; running on", nimbus.endpoint());
      nimbus_reachable = false;
    } else if (!reply->ok) {
      if (reply->error.rfind("unknown topology", 0) == 0) {
        log->info("nimbus does not know topology {} any more: stopping", assignment.topology_id);
        break;
      }
      if (reply->error != last_nimbus_error) log->warn("nimbus: {}", reply->error);
      last_nimbus_error = reply->error;
    } else {
      if (!nimbus_reachable) log->info("nimbus {} answers again", nimbus.endpoint());
      nimbus_reachable = true;
      last_nimbus_error.clear();
      try {
        const std::string new_status = cluster::get_string(reply->body, "status");
        (void)cluster::status_from_name(new_status);
        auto newer = cluster::Assignment::from_map(cluster::get_map(reply->body, "assignment"));
        // Storm's kill order: the spouts stop now and the worker goes on processing what is in
        // flight until nimbus drops the topology after the kill's wait ("unknown topology"
        // above) or the supervisor stops the worker.
        follow_status(new_status == "killed" ? "inactive" : new_status, worker, status, *log);
        if (newer.topology_id == assignment.topology_id && newer.version > assignment.version) {
          const cluster::WorkerAssignment* mine = find_slot(newer, a);
          if (mine == nullptr || mine->tasks != my_tasks) {
            log->info("assignment version {} changes this slot's tasks: exiting for a restart",
                      newer.version);
            exit_code = k_worker_exit_reassigned;
            drain = k_drain_on_reassign;
            break;
          }
          transport.set_routes(worker::routes_of(newer));
          log->info("assignment version {}: peers updated", newer.version);
          assignment = std::move(newer);
        }
      } catch (const cluster::ProtocolError& e) {
        log->warn("nimbus sent a malformed heartbeat reply: {}", e.what());
      }
    }
    next += heartbeat_period;
    if (next < Clock::now()) next = Clock::now();  // a slow call must not cause a burst
    if (int signal = cli::wait_for_signal(signals, next); signal != 0) {
      log->info("{}: stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }
  // Storm's order: spouts stop, pending trees get the drain, executors drain; then the transport
  // (still carrying acks until here) flushes and closes.
  // A peer that died with our batches queued for it must not keep executors blocked in send().
  transport.limit_blocking(Clock::now() + drain);
  worker.stop(drain);
  transport.stop(k_transport_flush);
  log->info("worker stopped (exit status {})", exit_code);
  return exit_code;
}

}  // namespace

int run_worker(const std::vector<std::string>& args) {
  const WorkerArgs a = parse_args(args);
  if (a.help) {
    std::cout << worker_help();
    return 0;
  }
  auto log = common::make_logger("worker-" + std::to_string(a.port),
                                 (fs::path(a.dir) / "worker.log").string());
  // Few lines, and the supervisor reads the last error from the file: write each at once.
  log->flush_on(spdlog::level::info);
  try {
    return run_slot(a, log);
  } catch (const std::exception& e) {
    // Into worker.log too, where `gale status` finds a worker's last error.
    log->error("{}", e.what());
    throw;
  }
}

}  // namespace gale::cli
