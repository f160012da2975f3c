#pragma once

// The control protocol between the gale CLI, nimbus, supervisors and workers (docs/cluster.md).
// Every message is msgpack: a request is [version, verb, body], a reply is [version, "ok", body] or
// [version, "error", message]. Bodies are maps handled as gale::Map. Decoding validates everything
// and throws ProtocolError with a message that names the problem; it never crashes on bad bytes.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/errors.hpp>
#include <gale/value.hpp>

namespace gale::cluster {

inline constexpr std::int64_t protocol_version = 1;

// Malformed or unexpected control message.
class ProtocolError : public Error {
 public:
  using Error::Error;
};

struct Request {
  std::string verb;
  Map body;
};

struct Reply {
  bool ok = false;
  std::string error;  // when !ok
  Map body;           // when ok
};

// Sends one request to nimbus: the reply, or nullopt when none came in time. May throw
// ProtocolError for a malformed reply. The supervisor and the worker process take one, so that
// tests can play nimbus.
using RpcCall = std::function<std::optional<Reply>(std::string_view verb, const Map& body)>;

std::string encode_request(std::string_view verb, const Map& body);
// Throws ProtocolError for bytes that are not msgpack, not [version, verb, map], or another version.
Request decode_request(std::string_view bytes);
std::string encode_ok(const Map& body);
std::string encode_error(std::string_view message);
Reply decode_reply(std::string_view bytes);

// Typed access to body fields; each throws ProtocolError "field 'x': missing" or
// "field 'x': expected int, got string".
const Value& field(const Map& body, std::string_view key);
std::int64_t get_int(const Map& body, std::string_view key);
std::string get_string(const Map& body, std::string_view key);
bool get_bool(const Map& body, std::string_view key);
const Bytes& get_bytes(const Map& body, std::string_view key);
const List& get_list(const Map& body, std::string_view key);
const Map& get_map(const Map& body, std::string_view key);
// Optional fields: the fallback when absent, ProtocolError when present with the wrong type.
std::int64_t get_int_or(const Map& body, std::string_view key, std::int64_t fallback);
std::string get_string_or(const Map& body, std::string_view key, std::string_view fallback);

// FNV-1a 64 of `bytes` as 16 lowercase hex digits (plugin integrity checks).
std::string checksum(std::string_view bytes);

// "host:port" -> tcp://host:port. Throws gale::Error for text without a port or a bad port.
std::string tcp_endpoint(std::string_view host_port);

// ---------------------------------------------------------------------------------------------
// Shared message parts

// One worker slot of a topology: where it runs and which tasks it hosts.
struct WorkerAssignment {
  std::string supervisor;  // supervisor id
  std::string host;        // host the worker's data port binds to and peers connect to
  std::int64_t port = 0;   // the slot: the worker's data port
  std::vector<std::int32_t> tasks;  // ascending
  // The assignment version since which this slot runs these tasks (its tenure): a worker keeps
  // running across versions that leave its tasks alone, and peers refuse the batches of a worker
  // whose tenure is older than the one they know for its tasks (docs/cluster.md, "Fencing").
  // 0: unknown (an assignment written before tenures existed); such a worker is never refused.
  std::int64_t since = 0;
  friend bool operator==(const WorkerAssignment&, const WorkerAssignment&) = default;
};

// Where every task of a topology runs. `version` grows with every change, so a worker or
// supervisor can tell a newer assignment from the one it has.
struct Assignment {
  std::string topology_id;
  std::int64_t version = 0;
  std::vector<WorkerAssignment> workers;

  // The worker hosting `task`, or nullptr.
  const WorkerAssignment* worker_of(std::int32_t task) const;
  // The slot on host:port, or nullptr.
  const WorkerAssignment* slot(std::string_view host, std::int64_t port) const;

  // Sets each worker's `since` for this assignment replacing `previous` (nullptr: the first
  // one): a slot that runs the same tasks on the same supervisor, host and port keeps its tenure,
  // every other one starts its tenure at this version. Nothing changes when `previous` has this
  // version (the same assignment).
  void set_tenures(const Assignment* previous);

  Map to_map() const;
  // Throws ProtocolError for a missing or mistyped field, or a task outside the int32 range.
  // A worker without `since` gets 0 (unknown).
  static Assignment from_map(const Map& m);
  friend bool operator==(const Assignment&, const Assignment&) = default;
};

// Topology status as nimbus keeps it and reports it.
enum class TopologyStatus { active, inactive, rebalancing, killed };
const char* status_name(TopologyStatus s) noexcept;
TopologyStatus status_from_name(std::string_view name);  // throws ProtocolError

}  // namespace gale::cluster
