#include "nimbus/daemon.hpp"

#include <chrono>
#include <cstdlib>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <gale/errors.hpp>

#include "cluster/rpc.hpp"

namespace gale::nimbus {

namespace {
constexpr std::chrono::milliseconds k_poll_period{100};
}  // namespace

Daemon::Daemon(DaemonOptions options, const common::Clock& clock,
               std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      clock_(clock),
      logger_(std::move(logger)),
      endpoint_("tcp://" + options_.host + ":" + std::to_string(options_.port)) {}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  if (state_.load() != State::created) {
    logger_->critical("nimbus daemon started twice");
    std::abort();
  }
  // Nothing in the state directory is read or changed before it is ours, nor before the port is:
  // a second nimbus on either refuses to start without touching what the first one runs.
  common::StateLock lock = common::StateLock::acquire(options_.nimbus.state_dir, "nimbus");
  auto context = std::make_unique<zmq::context_t>(1);
  std::unique_ptr<cluster::RpcServer> server;
  try {
    server = std::make_unique<cluster::RpcServer>(*context, endpoint_);
  } catch (const zmq::error_t& e) {
    throw Error("nimbus cannot listen on " + endpoint_ + ": " + e.what());
  }
  nimbus_ = std::make_unique<Nimbus>(options_.nimbus, clock_, logger_);
  server_ = std::move(server);
  context_ = std::move(context);
  lock_.emplace(std::move(lock));
  logger_->info("nimbus serving on {} (state in {}, {} topologies, supervisor timeout {} s)",
                endpoint_, options_.nimbus.state_dir.string(), nimbus_->topology_count(),
                nimbus_->supervisor_timeout_ns() / 1'000'000'000);
  state_.store(State::running);
  thread_ = std::thread([this] { serve(); });
}

void Daemon::serve() {
  const auto handler = [this](const std::string& request) { return nimbus_->handle(request); };
  while (state_.load() == State::running) {
    server_->poll(k_poll_period, handler);
    nimbus_->tick();
  }
  // Stopping: what already waits in the socket is in flight; answer it, then stop listening.
  server_->poll(std::chrono::milliseconds(0), handler);
  server_.reset();
}

void Daemon::stop() {
  State running = State::running;
  if (!state_.compare_exchange_strong(running, State::stopping)) return;
  logger_->info("nimbus stopping: answering the requests already received");
  thread_.join();
  context_.reset();  // returns once the socket is closed: the port is free
  nimbus_.reset();
  lock_.reset();
  state_.store(State::stopped);
  logger_->info("nimbus stopped");
}

}  // namespace gale::nimbus
