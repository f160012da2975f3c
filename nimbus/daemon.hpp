#pragma once

// The nimbus service: a nimbus::Nimbus behind a cluster::RpcServer, served on a thread of its own.
// The thread polls the socket every 100 ms and does the time-driven work (Nimbus::tick) after
// each poll. Lifecycle, the same as supervisor::Daemon's: construct (nothing runs), start(),
// stop() (drains, then nothing runs), destroy.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/state_lock.hpp"
#include "nimbus/nimbus.hpp"

namespace zmq {
class context_t;
}

namespace gale::cluster {
class RpcServer;
}

namespace gale::nimbus {

struct DaemonOptions {
  std::string host = "127.0.0.1";
  int port = 6627;
  NimbusOptions nimbus;
};

// Thread: start() and stop() are called by one controlling thread (the `gale nimbus` main thread,
// or a test); the Nimbus is owned by the daemon's own thread while it runs.
class Daemon {
 public:
  // Nothing runs until start(). REQUIRES: `clock` outlives the daemon.
  Daemon(DaemonOptions options, const common::Clock& clock, std::shared_ptr<spdlog::logger> logger);
  ~Daemon();  // stop()
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Locks options.nimbus.state_dir (common::StateLock) before anything in it is read or changed,
  // binds tcp://host:port, recovers the state under the directory and starts serving on the
  // daemon's thread. Throws ConfigError for an invalid nimbus.* key and gale::Error when another
  // process holds the state directory (naming the directory and its pid), when the directory
  // cannot be used or the address cannot be bound; nothing runs then and nothing in the
  // directory was touched by a refused lock or a failed bind.
  // REQUIRES: start() was not called before.
  void start();

  // Drains, then stops: takes no new request, finishes the request being handled and answers
  // every request already waiting in the socket, closes the socket (the port is free when it
  // returns), joins the thread and releases the state directory. Clients that call later get no
  // answer and retry (the lazy pirate of cluster/rpc.hpp). Idempotent; a no-op before start().
  // Never throws.
  void stop();

 private:
  enum class State { created, running, stopping, stopped };
  void serve();

  // Constant after construction.
  const DaemonOptions options_;
  const common::Clock& clock_;
  const std::shared_ptr<spdlog::logger> logger_;
  std::string endpoint_;

  // The one stopping mechanism: set by the controlling thread, read by the daemon's thread.
  std::atomic<State> state_{State::created};

  // Owned by the daemon's thread between start() and the end of stop().
  std::unique_ptr<Nimbus> nimbus_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<cluster::RpcServer> server_;
  std::thread thread_;
  std::optional<common::StateLock> lock_;  // held from start() to the end of stop()
};

}  // namespace gale::nimbus
