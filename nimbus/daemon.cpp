#include "nimbus/daemon.hpp"

#include <chrono>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <gale/errors.hpp>

#include "cluster/rpc.hpp"
#include "common/clock.hpp"

namespace gale::nimbus {

void run_daemon(const DaemonOptions& options, const std::function<bool()>& should_stop,
                std::shared_ptr<spdlog::logger> logger) {
  common::SteadyClock clock;
  Nimbus nimbus(options.nimbus, clock, logger);
  zmq::context_t context(1);
  const std::string endpoint = "tcp://" + options.host + ":" + std::to_string(options.port);
  std::unique_ptr<cluster::RpcServer> server;
  try {
    server = std::make_unique<cluster::RpcServer>(context, endpoint);
  } catch (const zmq::error_t& e) {
    throw Error("nimbus cannot listen on " + endpoint + ": " + e.what());
  }
  logger->info("nimbus serving on {} (state in {}, {} topologies, supervisor timeout {} s)",
               endpoint, options.nimbus.state_dir.string(), nimbus.topology_count(),
               nimbus.supervisor_timeout_ns() / 1'000'000'000);
  const auto handler = [&](const std::string& request) { return nimbus.handle(request); };
  while (!should_stop()) {
    server->poll(std::chrono::milliseconds(100), handler);
    nimbus.tick();
  }
  logger->info("nimbus stopping");
}

}  // namespace gale::nimbus
