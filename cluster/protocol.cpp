#include "cluster/protocol.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "common/checksum.hpp"
#include "wire/codec.hpp"

namespace gale::cluster {

namespace {

Values decode_envelope(std::string_view bytes, const char* what) {
  Values v;
  try {
    v = wire::decode_values(bytes);
  } catch (const Error& e) {
    throw ProtocolError(std::string("malformed ") + what + ": " + e.what());
  }
  if (v.size() != 3) {
    throw ProtocolError(std::string("malformed ") + what +
                        ": expected [version, verb, body], got " + std::to_string(v.size()) +
                        " elements");
  }
  if (!v[0].is_int())
    throw ProtocolError(std::string("malformed ") + what + ": version is not an int");
  if (v[0].as_int() != protocol_version) {
    throw ProtocolError(std::string(what) + " has protocol version " +
                        std::to_string(v[0].as_int()) + ", this Gale speaks version " +
                        std::to_string(protocol_version));
  }
  if (!v[1].is_string())
    throw ProtocolError(std::string("malformed ") + what + ": verb is not a string");
  return v;
}

[[noreturn]] void wrong_type(std::string_view key, const char* expected, const Value& v) {
  throw ProtocolError("field '" + std::string(key) + "': expected " + expected + ", got " +
                      type_name(v.type()));
}

}  // namespace

std::string encode_request(std::string_view verb, const Map& body) {
  return wire::encode_values({protocol_version, std::string(verb), body});
}

Request decode_request(std::string_view bytes) {
  Values v = decode_envelope(bytes, "request");
  if (!v[2].is_map()) throw ProtocolError("malformed request: body is not a map");
  return {v[1].as_string(), v[2].as_map()};
}

std::string encode_ok(const Map& body) {
  return wire::encode_values({protocol_version, "ok", body});
}

std::string encode_error(std::string_view message) {
  return wire::encode_values({protocol_version, "error", std::string(message)});
}

Reply decode_reply(std::string_view bytes) {
  Values v = decode_envelope(bytes, "reply");
  Reply r;
  if (v[1].as_string() == "ok") {
    if (!v[2].is_map()) throw ProtocolError("malformed reply: body is not a map");
    r.ok = true;
    r.body = v[2].as_map();
  } else if (v[1].as_string() == "error") {
    if (!v[2].is_string()) throw ProtocolError("malformed reply: error message is not a string");
    r.error = v[2].as_string();
  } else {
    throw ProtocolError("malformed reply: status '" + v[1].as_string() +
                        "' is neither ok nor error");
  }
  return r;
}

const Value& field(const Map& body, std::string_view key) {
  auto it = body.find(std::string(key));
  if (it == body.end()) throw ProtocolError("field '" + std::string(key) + "': missing");
  return it->second;
}

std::int64_t get_int(const Map& body, std::string_view key) {
  const Value& v = field(body, key);
  if (!v.is_int()) wrong_type(key, "int", v);
  return v.as_int();
}

std::string get_string(const Map& body, std::string_view key) {
  const Value& v = field(body, key);
  if (!v.is_string()) wrong_type(key, "string", v);
  return v.as_string();
}

bool get_bool(const Map& body, std::string_view key) {
  const Value& v = field(body, key);
  if (!v.is_bool()) wrong_type(key, "bool", v);
  return v.as_bool();
}

const Bytes& get_bytes(const Map& body, std::string_view key) {
  const Value& v = field(body, key);
  if (!v.is_bytes()) wrong_type(key, "bytes", v);
  return v.as_bytes();
}

const List& get_list(const Map& body, std::string_view key) {
  const Value& v = field(body, key);
  if (!v.is_list()) wrong_type(key, "list", v);
  return v.as_list();
}

const Map& get_map(const Map& body, std::string_view key) {
  const Value& v = field(body, key);
  if (!v.is_map()) wrong_type(key, "map", v);
  return v.as_map();
}

std::int64_t get_int_or(const Map& body, std::string_view key, std::int64_t fallback) {
  return body.count(std::string(key)) ? get_int(body, key) : fallback;
}

std::string get_string_or(const Map& body, std::string_view key, std::string_view fallback) {
  return body.count(std::string(key)) ? get_string(body, key) : std::string(fallback);
}

std::string checksum(std::string_view bytes) {
  std::uint64_t h = common::fnv1a64(bytes);
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = digits[h & 0xf];
  return out;
}

std::string tcp_endpoint(std::string_view host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == host_port.size()) {
    throw Error("'" + std::string(host_port) + "' is not HOST:PORT");
  }
  int port = 0;
  auto digits = host_port.substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || p != digits.data() + digits.size() || port < 1 || port > 65535) {
    throw Error("'" + std::string(host_port) + "': port must be a number from 1 to 65535");
  }
  return "tcp://" + std::string(host_port);
}

// ---------------------------------------------------------------------------------------------

const WorkerAssignment* Assignment::worker_of(std::int32_t task) const {
  for (const auto& w : workers) {
    if (std::binary_search(w.tasks.begin(), w.tasks.end(), task)) return &w;
  }
  return nullptr;
}

const WorkerAssignment* Assignment::slot(std::string_view host, std::int64_t port) const {
  for (const auto& w : workers) {
    if (w.host == host && w.port == port) return &w;
  }
  return nullptr;
}

void Assignment::set_tenures(const Assignment* previous) {
  if (previous != nullptr && previous->version == version) return;
  for (WorkerAssignment& w : workers) {
    w.since = version;
    if (previous == nullptr) continue;
    for (const WorkerAssignment& p : previous->workers) {
      if (p.supervisor == w.supervisor && p.host == w.host && p.port == w.port &&
          p.tasks == w.tasks) {
        w.since = p.since;
        break;
      }
    }
  }
}

Map Assignment::to_map() const {
  List ws;
  for (const auto& w : workers) {
    List tasks(w.tasks.begin(), w.tasks.end());
    ws.push_back(Map{{"supervisor", w.supervisor},
                     {"host", w.host},
                     {"port", w.port},
                     {"tasks", std::move(tasks)},
                     {"since", w.since}});
  }
  return Map{{"topology_id", topology_id}, {"version", version}, {"workers", std::move(ws)}};
}

Assignment Assignment::from_map(const Map& m) {
  Assignment a;
  a.topology_id = get_string(m, "topology_id");
  a.version = get_int(m, "version");
  for (const Value& wv : get_list(m, "workers")) {
    if (!wv.is_map()) throw ProtocolError("field 'workers': expected a list of maps");
    const Map& wm = wv.as_map();
    WorkerAssignment w;
    w.supervisor = get_string(wm, "supervisor");
    w.host = get_string(wm, "host");
    w.port = get_int(wm, "port");
    for (const Value& t : get_list(wm, "tasks")) {
      if (!t.is_int()) throw ProtocolError("field 'tasks': expected a list of ints");
      // Task numbers are int32: narrowing a larger one would silently name another task.
      if (t.as_int() < std::numeric_limits<std::int32_t>::min() ||
          t.as_int() > std::numeric_limits<std::int32_t>::max()) {
        throw ProtocolError("field 'tasks': task " + std::to_string(t.as_int()) +
                            " is out of range");
      }
      w.tasks.push_back(static_cast<std::int32_t>(t.as_int()));
    }
    std::sort(w.tasks.begin(), w.tasks.end());
    w.since = get_int_or(wm, "since", 0);
    a.workers.push_back(std::move(w));
  }
  return a;
}

const char* status_name(TopologyStatus s) noexcept {
  switch (s) {
    case TopologyStatus::active:
      return "active";
    case TopologyStatus::inactive:
      return "inactive";
    case TopologyStatus::rebalancing:
      return "rebalancing";
    case TopologyStatus::killed:
      return "killed";
  }
  return "unknown";
}

TopologyStatus status_from_name(std::string_view name) {
  for (auto s : {TopologyStatus::active, TopologyStatus::inactive, TopologyStatus::rebalancing,
                 TopologyStatus::killed}) {
    if (name == status_name(s)) return s;
  }
  throw ProtocolError("unknown topology status '" + std::string(name) + "'");
}

}  // namespace gale::cluster
