#include "cli/nimbus_command.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include <gale/errors.hpp>

#include "cli/config_file.hpp"
#include "cli/signals.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "nimbus/daemon.hpp"

namespace gale::cli {

namespace po = boost::program_options;

namespace {

po::options_description visible_options() {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("help,h", "show this help and exit")
      ("host", po::value<std::string>()->value_name("H")->default_value("127.0.0.1"),
       "address to listen on")
      ("port", po::value<int>()->value_name("P")->default_value(6627), "port to listen on")
      ("state-dir", po::value<std::string>()->value_name("D")->default_value("nimbus-state"),
       "directory for topologies and nimbus.log")
      ("config", po::value<std::string>()->value_name("FILE"),
       "read config entries from FILE (gale.conf format)")
      ("set,c", po::value<std::vector<std::string>>()->value_name("KEY=VALUE")->composing(),
       "set a config entry; repeatable; wins over --config");
  // clang-format on
  return options;
}

}  // namespace

std::string nimbus_help() {
  std::ostringstream out;
  out << "Usage: gale nimbus [options]\n"
         "\n"
         "Runs nimbus, the master of a Gale cluster: it accepts topologies from `gale\n"
         "submit`, stores them under the state directory (recovered on restart), assigns\n"
         "their executors to the worker slots supervisors offer, and moves the work of a\n"
         "supervisor that stops heartbeating. It runs until Ctrl-C or SIGTERM.\n"
         "\n"
      << visible_options()
      << "\n"
         "Config keys (default):\n"
         "  nimbus.supervisor.timeout.secs    seconds without heartbeat before a\n"
         "                                    supervisor is dead (60)\n"
         "  nimbus.plugin.check.timeout.secs  seconds a submitted plugin may take to\n"
         "                                    load (30)\n"
         "\n"
         "Example:\n"
         "  gale nimbus --state-dir /var/lib/gale/nimbus -c nimbus.supervisor.timeout.secs=10\n";
  return out.str();
}

int run_nimbus(const std::vector<std::string>& args) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(visible_options()).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << nimbus_help();
    return 0;
  }
  nimbus::DaemonOptions options;
  options.host = vm["host"].as<std::string>();
  options.port = vm["port"].as<int>();
  if (options.port < 1 || options.port > 65535) throw po::error("--port must be 1 to 65535");
  options.nimbus.state_dir = vm["state-dir"].as<std::string>();
  options.nimbus.config = load_config(config_sources(vm, /*default_file=*/false));
  std::error_code ec;
  std::filesystem::create_directories(options.nimbus.state_dir, ec);
  if (ec) {
    throw Error("cannot create the state directory '" + options.nimbus.state_dir.string() +
                "': " + ec.message());
  }
  auto logger = common::make_logger("nimbus", (options.nimbus.state_dir / "nimbus.log").string());
  common::SteadyClock clock;
  nimbus::Daemon daemon(std::move(options), clock, logger);
  daemon.start();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  cli::wait_for_signal(signals, std::chrono::steady_clock::time_point::max());
  daemon.stop();
  return 0;
}

}  // namespace gale::cli
