#include "cli/worker_command.hpp"
#include "cli/signals.hpp"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>
#include <sstream>
#include <string_view>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>
#include <zmq.hpp>

#include <gale/value.hpp>

#include "cluster/protocol.hpp"
#include "cluster/rpc.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "worker/out_of_memory.hpp"
#include "worker/process/worker_process.hpp"
#include "worker/process/zmq_slot.hpp"
#include "worker/worker.hpp"

namespace gale::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// How long one heartbeat waits for nimbus before the worker runs on without it.
constexpr std::chrono::milliseconds k_rpc_timeout{1000};

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
         "4 when a spout's open() or a bolt's prepare() threw (logged with the component,\n"
         "task and message);\n"
         "5 when an executor made no progress for topology.executor.stuck.secs and\n"
         "topology.executor.stuck.policy is restart (logged with the component and tasks);\n"
         "6 when it ran out of memory (under topology.worker.memory.limit.mb);\n"
         "1 when the assignment, the plugin or the data port is unusable; 2 for bad\n"
         "arguments.\n";
  return out.str();
}

namespace {

int run_slot(const WorkerArgs& a, const std::shared_ptr<spdlog::logger>& log) {
  const sigset_t signals = cli::stop_signals();

  worker::WorkerProcessOptions options;
  options.nimbus = a.nimbus;
  options.supervisor = a.supervisor;
  options.host = a.host;
  options.port = a.port;
  options.dir = a.dir;
  options.plugin = a.plugin;
  options.logger = log;

  zmq::context_t context(1);
  cluster::RpcClient nimbus(context, cluster::tcp_endpoint(a.nimbus), k_rpc_timeout);
  common::SteadyClock clock;
  worker::WorkerProcess process(
      options,
      [&nimbus](std::string_view verb, const Map& body) { return nimbus.call(verb, body); }, clock,
      worker::open_zmq_slot);
  process.start();
  process.run([&](std::chrono::nanoseconds until_heartbeat) {
    const int signal =
        cli::wait_for_signal(signals, std::chrono::steady_clock::now() + until_heartbeat);
    if (signal != 0) log->info("{}: stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    return signal != 0;
  });
  if (process.stop_reason() == worker::StopReason::stuck) {
    // The stuck thread cannot be joined, so neither the runtime nor anything static may be
    // destroyed: end here. Pending trees time out and their spouts replay them, as after a crash.
    log->error("exiting with status {}: {}", k_worker_exit_stuck, process.stuck_reason());
    log->flush();
    std::fflush(stderr);
    std::_Exit(k_worker_exit_stuck);
  }
  process.stop();
  const int exit_code = process.stop_reason() == worker::StopReason::reassigned
                            ? k_worker_exit_reassigned
                            : k_worker_exit_done;
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
  } catch (const std::bad_alloc&) {
    // Loading the plugin or building the tasks ran out: the same status as a task that does.
    log->critical("worker: out of memory; exiting with status {}", worker::k_exit_out_of_memory);
    return worker::k_exit_out_of_memory;
  } catch (const worker::ComponentInitError& e) {
    log->error("{}; exiting with status {}", e.what(), k_worker_exit_init_failed);
    return k_worker_exit_init_failed;
  } catch (const std::exception& e) {
    // Into worker.log too, where `gale status` finds a worker's last error.
    log->error("{}", e.what());
    throw;
  }
}

}  // namespace gale::cli
