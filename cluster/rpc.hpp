#pragma once

// Request/reply over ZeroMQ with timeouts. The client side is the "lazy pirate" pattern: a REQ
// socket that is thrown away and reconnected when a reply does not come in time, so a dead or
// restarted nimbus never wedges a caller. Would-block and time-outs are values (std::optional);
// only real ZeroMQ errors throw.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "cluster/protocol.hpp"

namespace gale::cluster {

// Thread: one owner.
class RpcClient {
 public:
  // `endpoint` like tcp://127.0.0.1:6627.
  RpcClient(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout);
  ~RpcClient();

  // Sends one request and waits up to the timeout for its reply. nullopt when no reply came (the
  // socket is then reset). Throws ProtocolError when the reply is malformed.
  std::optional<Reply> call(std::string_view verb, const Map& body);
  // Like call(), retrying until a reply came or `total` passed.
  std::optional<Reply> call_with_retry(std::string_view verb, const Map& body,
                                       std::chrono::milliseconds total);
  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  void reset();
  zmq::context_t& context_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<zmq::socket_t> socket_;
};

// Serves requests on a ROUTER socket, one at a time, on the thread that calls poll().
// A request that does not decode gets an error reply (and is logged by the handler's owner); a
// frame that is not even a request envelope is dropped. Thread: one owner.
class RpcServer {
 public:
  using Handler = std::function<std::string(const std::string& request_bytes)>;

  // Binds to `endpoint` (e.g. tcp://127.0.0.1:6627). Throws zmq::error_t when it cannot.
  RpcServer(zmq::context_t& context, const std::string& endpoint);
  ~RpcServer();

  // Waits up to `timeout` for requests and answers each with handler(request) until none is
  // waiting. Returns the number served.
  int poll(std::chrono::milliseconds timeout, const Handler& handler);

 private:
  zmq::socket_t socket_;
};

}  // namespace gale::cluster
