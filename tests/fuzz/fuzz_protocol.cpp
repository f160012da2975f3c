// libFuzzer target: the control protocol decoders (cluster/protocol.hpp) that nimbus, supervisors
// and workers run on every received message. For any bytes:
// - decode_request and decode_reply return or throw ProtocolError (nothing else);
// - a decoded request or reply encodes again to bytes that decode to the same message;
// - the typed field accessors, Assignment::from_map and status_from_name, run on the decoded body
//   the way the daemons run them, return or throw ProtocolError;
// - wire::decode_values, which both decoders rest on, returns or throws gale::Error, and what it
//   returns encodes to bytes that decode to the same values.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gale/errors.hpp>
#include <gale/value.hpp>

#include "cluster/assignment_file.hpp"
#include "cluster/protocol.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "wire/codec.hpp"

namespace {

namespace cluster = gale::cluster;
using gale::Map;
using gale::Value;

// Runs `f`; a ProtocolError is an accepted outcome, anything else propagates (a finding).
template <class F>
void tolerate_protocol_error(F&& f) {
  try {
    f();
  } catch (const cluster::ProtocolError&) {
  }
}

// Runs `f` when `body` has `key` (a present field of the wrong type still throws ProtocolError).
// Absent keys are left to one probe per body: a throw per absent key made the target several
// times slower without reaching new code.
template <class F>
void if_present(const Map& body, const char* key, F&& f) {
  if (body.count(key) != 0) tolerate_protocol_error(f);
}

// Reads `m` as an Assignment; what it accepts survives a round trip and can be looked up.
void read_assignment(const Map& m) {
  const cluster::Assignment a = cluster::Assignment::from_map(m);
  FUZZ_CHECK(cluster::Assignment::from_map(a.to_map()) == a);
  // Every task keeps its number: none is silently narrowed to another task's.
  const gale::List& workers = cluster::get_list(m, "workers");
  FUZZ_CHECK(workers.size() == a.workers.size());
  for (std::size_t i = 0; i < workers.size(); ++i) {
    std::vector<std::int64_t> given;
    for (const Value& t : cluster::get_list(workers[i].as_map(), "tasks")) {
      given.push_back(t.as_int());
    }
    std::sort(given.begin(), given.end());
    FUZZ_CHECK(std::equal(given.begin(), given.end(), a.workers[i].tasks.begin(),
                          a.workers[i].tasks.end()));
  }
  for (const auto& w : a.workers) {
    for (std::int32_t t : w.tasks) FUZZ_CHECK(a.worker_of(t) != nullptr);
    FUZZ_CHECK(a.slot(w.host, w.port) != nullptr);
  }
}

// What the daemons do with a body: typed fields, nested assignments, statuses, configs.
void read_body(const Map& body) {
  tolerate_protocol_error([&] { (void)cluster::field(body, "no such field"); });
  for (const char* key : {"name", "topology_id", "supervisor", "host", "status", "last_error"}) {
    if_present(body, key, [&] { (void)cluster::get_string(body, key); });
    if_present(body, key, [&] { (void)cluster::get_string_or(body, key, "x"); });
  }
  for (const char* key : {"version", "port", "workers", "offset", "length", "wait_secs"}) {
    if_present(body, key, [&] { (void)cluster::get_int(body, key); });
    if_present(body, key, [&] { (void)cluster::get_int_or(body, key, 0); });
  }
  if_present(body, "running", [&] { (void)cluster::get_bool(body, "running"); });
  if_present(body, "plugin", [&] { (void)cluster::get_bytes(body, "plugin"); });
  if_present(body, "tasks", [&] { (void)cluster::get_list(body, "tasks"); });
  if_present(body, "status",
             [&] { (void)cluster::status_from_name(cluster::get_string(body, "status")); });
  if_present(body, "config",
             [&] { (void)cluster::config_from_map(cluster::get_map(body, "config")); });
  // The body read as an assignment, and the assignment a reply carries.
  if_present(body, "workers", [&] { read_assignment(body); });
  if_present(body, "assignment",
             [&] { read_assignment(cluster::get_map(body, "assignment")); });
  if_present(body, "assignments", [&] {
    for (const Value& v : cluster::get_list(body, "assignments")) {
      if (v.is_map()) read_body(v.as_map());
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  tolerate_protocol_error([&] {
    const cluster::Request r = cluster::decode_request(bytes);
    const cluster::Request again = cluster::decode_request(cluster::encode_request(r.verb, r.body));
    FUZZ_CHECK(again.verb == r.verb);
    FUZZ_CHECK(again.body == r.body);
    read_body(r.body);
  });

  tolerate_protocol_error([&] {
    const cluster::Reply r = cluster::decode_reply(bytes);
    const cluster::Reply again = cluster::decode_reply(r.ok ? cluster::encode_ok(r.body)
                                                             : cluster::encode_error(r.error));
    FUZZ_CHECK(again.ok == r.ok);
    FUZZ_CHECK(again.error == r.error);
    FUZZ_CHECK(again.body == r.body);
    if (r.ok) read_body(r.body);
  });

  try {
    const gale::Values values = gale::wire::decode_values(bytes);
    FUZZ_CHECK(gale::wire::decode_values(gale::wire::encode_values(values)) == values);
  } catch (const gale::Error&) {
  }
  return 0;
}
