#include "cluster/rpc.hpp"

#include <thread>

namespace gale::cluster {

RpcClient::RpcClient(zmq::context_t& context, std::string endpoint,
                     std::chrono::milliseconds timeout)
    : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout) {
  reset();
}

RpcClient::~RpcClient() = default;

void RpcClient::reset() {
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::req);
  socket_->set(zmq::sockopt::linger, 0);
  // A reply that arrives after we gave up must not be taken for the next request's reply.
  socket_->set(zmq::sockopt::req_correlate, 1);
  socket_->set(zmq::sockopt::req_relaxed, 1);
  socket_->connect(endpoint_);
}

std::optional<Reply> RpcClient::call(std::string_view verb, const Map& body) {
  std::string request = encode_request(verb, body);
  if (!socket_->send(zmq::buffer(request), zmq::send_flags::dontwait)) {
    reset();
    return std::nullopt;
  }
  zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout_);
  if ((item.revents & ZMQ_POLLIN) == 0) {
    reset();  // lazy pirate: a REQ socket without its reply cannot send again
    return std::nullopt;
  }
  zmq::message_t reply;
  if (!socket_->recv(reply, zmq::recv_flags::dontwait)) {
    reset();
    return std::nullopt;
  }
  return decode_reply(reply.to_string_view());
}

std::optional<Reply> RpcClient::call_with_retry(std::string_view verb, const Map& body,
                                                std::chrono::milliseconds total) {
  auto deadline = std::chrono::steady_clock::now() + total;
  while (true) {
    if (auto r = call(verb, body)) return r;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

RpcServer::RpcServer(zmq::context_t& context, const std::string& endpoint)
    : socket_(context, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, 0);
  // Requests larger than this are refused by ZeroMQ before they reach us (plugins are chunked).
  socket_.set(zmq::sockopt::maxmsgsize, std::int64_t{512} << 20);
  socket_.bind(endpoint);
}

RpcServer::~RpcServer() = default;

int RpcServer::poll(std::chrono::milliseconds timeout, const Handler& handler) {
  int served = 0;
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, served == 0 ? timeout : std::chrono::milliseconds(0));
  while (true) {
    // A REQ peer sends [identity, empty delimiter, payload]; anything else is dropped.
    std::vector<zmq::message_t> frames;
    while (true) {
      zmq::message_t frame;
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) break;
      bool more = frame.more();
      frames.push_back(std::move(frame));
      if (!more) break;
    }
    if (frames.empty()) return served;
    // The envelope is everything up to the empty delimiter: the peer's identity, and with
    // ZMQ_REQ_CORRELATE a request id. It goes back unchanged in front of the reply.
    std::size_t delimiter = 1;
    while (delimiter < frames.size() && frames[delimiter].size() != 0) ++delimiter;
    if (delimiter + 2 != frames.size()) continue;  // not a REQ request: drop it
    std::string reply = handler(frames.back().to_string());
    for (std::size_t i = 0; i <= delimiter; ++i) {
      socket_.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    socket_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
    ++served;
  }
}

}  // namespace gale::cluster
