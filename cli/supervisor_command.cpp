#include "cli/supervisor_command.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include <gale/errors.hpp>

#include "cli/client_commands.hpp"
#include "cli/config_file.hpp"
#include "cli/signals.hpp"
#include "common/clock.hpp"
#include "supervisor/daemon.hpp"
#include "supervisor/launcher.hpp"
#include "supervisor/plugin_cache.hpp"

namespace gale::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t k_first_slot_port = 6700;  // Storm's default slot ports start here
constexpr int k_default_slots = 4;

po::options_description visible_options() {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("help,h", "show this help and exit")
      ("nimbus", po::value<std::string>()->value_name("HOST:PORT"),
       "nimbus to register with (default: nimbus.address of the config file, else "
       "127.0.0.1:6627)")
      ("host", po::value<std::string>()->value_name("NAME")->default_value("127.0.0.1"),
       "the address workers bind their data port on and peers connect to")
      ("slots", po::value<int>()->value_name("N"),
       "offer N worker slots on ports 6700, 6701, ... (default 4)")
      ("ports", po::value<std::string>()->value_name("P1,P2,..."),
       "offer one worker slot per port (instead of --slots)")
      ("state-dir", po::value<std::string>()->value_name("D")->default_value("supervisor-state"),
       "directory for plugins, worker directories and supervisor.log")
      ("id", po::value<std::string>()->value_name("ID"),
       "this supervisor's id (default: kept in D/supervisor.id, made up the first time)")
      ("config", po::value<std::string>()->value_name("FILE"),
       "read config entries from FILE (gale.conf format; default ./gale.conf when it exists)")
      ("set,c", po::value<std::vector<std::string>>()->value_name("KEY=VALUE")->composing(),
       "set a config entry; repeatable; wins over --config");
  // clang-format on
  return options;
}

std::string self_executable() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the gale executable (/proc/self/exe): " + ec.message());
  return exe.string();
}

}  // namespace

std::vector<std::int64_t> parse_ports(const std::string& text) {
  std::vector<std::int64_t> ports;
  std::set<std::int64_t> seen;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long value = -1;
    try {
      value = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 1 || value > 65535) {
      throw po::error("--ports: '" + item + "' is not a port number (1 to 65535)");
    }
    if (!seen.insert(value).second) throw po::error("--ports: port " + item + " appears twice");
    ports.push_back(value);
  }
  if (ports.empty()) throw po::error("--ports needs at least one port, e.g. --ports 6700,6701");
  return ports;
}

std::string supervisor_help() {
  std::ostringstream out;
  out << "Usage: gale supervisor [--nimbus HOST:PORT] [options]\n"
         "\n"
         "Runs a supervisor: it offers worker slots (one data port each) to nimbus,\n"
         "heartbeats it every second, fetches the plugins of the topologies nimbus assigns\n"
         "to its slots, and keeps one `gale worker` process per assigned slot running. It\n"
         "restarts a worker that exits or stops heartbeating, stops workers whose slot is\n"
         "no longer assigned, and keeps its workers running while nimbus is down. Ctrl-C\n"
         "or SIGTERM stops all its workers (SIGTERM, then SIGKILL after the grace period)\n"
         "and then the supervisor.\n"
         "\n"
      << visible_options()
      << "\n"
         "State directory: D/plugins/<topology id>.so (checked against nimbus's checksum),\n"
         "D/workers/<port>/ (assignment.msgpack, heartbeat, worker.log, worker.out),\n"
         "D/supervisor.id, D/supervisor.log.\n"
         "\n"
         "Config keys (default):\n"
         "  nimbus.address                       HOST:PORT of nimbus (127.0.0.1:6627)\n"
         "  supervisor.heartbeat.frequency.secs  seconds between heartbeats (1)\n"
         "  supervisor.worker.timeout.secs       seconds without a worker heartbeat\n"
         "                                       before it is killed and restarted (30)\n"
         "  supervisor.worker.start.timeout.secs seconds a new worker has for its first\n"
         "                                       heartbeat (30)\n"
         "  supervisor.worker.shutdown.secs      seconds between SIGTERM and SIGKILL (5)\n"
         "\n"
         "Examples:\n"
         "  gale supervisor --nimbus 127.0.0.1:6627 --slots 2\n"
         "  gale supervisor --nimbus nimbus.example:6627 --host node3.example \\\n"
         "      --ports 6700,6701 --state-dir /var/lib/gale/supervisor\n";
  return out.str();
}

int run_supervisor(const std::vector<std::string>& args) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(visible_options()).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << supervisor_help();
    return 0;
  }
  if (vm.count("slots") && vm.count("ports")) {
    throw po::error("--slots and --ports exclude each other; give one");
  }
  const Config config = load_config(config_sources(vm, /*default_file=*/true));

  supervisor::SupervisorOptions options;
  options.nimbus = nimbus_address(
      vm.count("nimbus") ? std::optional(vm["nimbus"].as<std::string>()) : std::nullopt, config);
  options.host = vm["host"].as<std::string>();
  if (options.host.empty()) throw po::error("--host must not be empty");
  if (vm.count("ports")) {
    options.ports = parse_ports(vm["ports"].as<std::string>());
  } else {
    const int slots = vm.count("slots") ? vm["slots"].as<int>() : k_default_slots;
    if (slots < 1 || slots > 1000) {
      throw po::error("--slots must be 1 to 1000 (got " + std::to_string(slots) + ")");
    }
    for (int i = 0; i < slots; ++i) options.ports.push_back(k_first_slot_port + i);
  }
  options.apply(config);

  std::error_code ec;
  const fs::path state_dir = fs::absolute(vm["state-dir"].as<std::string>(), ec);
  if (ec)
    throw Error("cannot use the state directory '" + state_dir.string() + "': " + ec.message());
  // The daemon creates and locks the directory before it reads or writes anything in it (the id
  // kept there too: an empty id is settled by Daemon::start()).
  options.state_dir = state_dir;
  if (vm.count("id")) {
    options.id = vm["id"].as<std::string>();
    if (!supervisor::is_safe_topology_id(options.id)) {
      throw po::error("--id must be letters, digits, '.', '_' or '-' (got '" + options.id + "')");
    }
  }
  options.executable = self_executable();
  options.log_file = (state_dir / "supervisor.log").string();

  supervisor::PosixLauncher launcher;
  common::SteadyClock clock;
  supervisor::Daemon daemon(options, supervisor::nimbus_rpc(options.nimbus), launcher, clock);
  daemon.start();
  const sigset_t signals = stop_signals();
  wait_for_signal(signals, std::chrono::steady_clock::time_point::max());
  daemon.logger()->info("supervisor stopping: Ctrl-C again kills its workers at once");
  // stop() drains on another thread, so that a second signal can hurry it.
  auto stopped = std::async(std::launch::async, [&] { daemon.stop(); });
  while (stopped.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    const auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    if (wait_for_signal(signals, soon) != 0) daemon.kill_workers();
  }
  stopped.get();
  return 0;
}

}  // namespace gale::cli
