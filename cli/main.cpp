// The `gale` command: dispatches a verb (Storm's vocabulary) to its implementation.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options/errors.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <gale/errors.hpp>
#include <gale/version.hpp>

#include "cli/client_commands.hpp"
#include "cli/local_command.hpp"
#include "cli/signals.hpp"
#include "cli/nimbus_command.hpp"
#include "cli/supervisor_command.hpp"
#include "cli/worker_command.hpp"

namespace {

constexpr const char* k_usage =
    "Usage: gale COMMAND [options]\n"
    "\n"
    "Gale runs Storm-style topologies (spouts and bolts written in C++ and built as a plugin).\n"
    "\n"
    "Commands:\n"
    "  local PLUGIN.so   run a topology in this process with live progress (gale local --help)\n"
    "  nimbus            run the cluster master daemon (gale nimbus --help)\n"
    "  supervisor        run a worker node daemon offering slots to nimbus\n"
    "  submit PLUGIN.so  upload a topology to nimbus and run it: --name NAME\n"
    "  list              list the topologies nimbus runs\n"
    "  status NAME       show a topology's workers, tasks, uptime and errors\n"
    "  kill NAME         stop a topology (spouts first, workers after --wait S)\n"
    "  activate NAME     let a deactivated topology's spouts emit again\n"
    "  deactivate NAME   stop a topology's spouts; pending trees complete\n"
    "  rebalance NAME    spread a topology over -n WORKERS worker processes\n"
    "  (gale COMMAND --help describes each; the client verbs take --nimbus HOST:PORT)\n"
    "\n"
    "Options:\n"
    "  -h, --help        show this help and exit\n"
    "  --version         show the version and exit\n";

int error(std::string_view message, int status) {
  std::cerr << "gale: error: " << message << "\n";
  return status;
}

// One line per failure, never a stack of messages: the user fixes one thing at a time.
int run(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << k_usage;
    return 2;
  }
  const std::string& verb = args.front();
  if (verb == "-h" || verb == "--help" || verb == "help") {
    std::cout << k_usage;
    return 0;
  }
  if (verb == "--version") {
    std::cout << "gale " << GALE_VERSION_STRING << " (plugin ABI " << GALE_ABI_VERSION << ")\n";
    return 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (verb == "local") return gale::cli::run_local(rest);
    if (verb == "nimbus") return gale::cli::run_nimbus(rest);
    if (verb == "supervisor") return gale::cli::run_supervisor(rest);
    // Started by supervisors only, so not in the usage text; `gale worker --help` works.
    if (verb == "worker") return gale::cli::run_worker(rest);
    if (gale::cli::is_client_verb(verb)) return gale::cli::run_client(verb, rest);
  } catch (const boost::program_options::error& e) {
    return error(std::string(e.what()) + " (see gale " + verb + " --help)", 2);
  } catch (const gale::ConfigError& e) {
    return error(e.what(), 2);
  } catch (const std::exception& e) {
    // PluginError, TopologyError and anything else the runtime reports.
    return error(e.what(), 1);
  }
  return error("unknown command '" + verb + "' (see gale --help)", 2);
}

}  // namespace

int main(int argc, char** argv) {
  // Block SIGINT and SIGTERM before any thread exists (the plugin's and the executors' threads
  // inherit the mask), so that only the command's sigtimedwait receives them: no handler runs
  // in an arbitrary thread and nothing async-signal-unsafe can happen.
  const sigset_t signals = gale::cli::stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Logs go to stderr; stdout carries the progress and the summary, so it can be piped.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gale"));

  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(args);
  } catch (const std::exception& e) {
    return error(e.what(), 1);
  }
}
