#pragma once

// The nimbus daemon's loop: a RpcServer in front of nimbus::Nimbus, polled every 100 ms, with the
// time-driven work (heartbeat expiry, kill waits) done after each poll.

#include <functional>
#include <memory>
#include <string>

#include "nimbus/nimbus.hpp"

namespace gale::nimbus {

struct DaemonOptions {
  std::string host = "127.0.0.1";
  int port = 6627;
  NimbusOptions nimbus;
};

// Recovers the state, binds tcp://host:port and serves until `should_stop()` returns true (asked
// after every poll, so at least every 100 ms). Returns normally after a clean stop. Throws
// gale::Error (state directory, config) or zmq::error_t (address in use) when it cannot start.
// Thread: the caller's; it must be the only thread using `logger` for nimbus.
void run_daemon(const DaemonOptions& options, const std::function<bool()>& should_stop,
                std::shared_ptr<spdlog::logger> logger);

}  // namespace gale::nimbus
