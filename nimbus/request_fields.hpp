#pragma once

// Reading the optional and port fields of request bodies, beyond what cluster/protocol.hpp offers:
// the parts of nimbus's request handlers that the client and daemon verbs share. Each throws
// cluster::ProtocolError naming the field for a value of the wrong type.

#include <cstdint>
#include <string>
#include <string_view>

#include <gale/value.hpp>

#include "cluster/protocol.hpp"

namespace gale::nimbus {

inline bool get_bool_or(const Map& body, std::string_view key, bool fallback) {
  return body.count(std::string(key)) ? cluster::get_bool(body, key) : fallback;
}

// The map under `key`, or an empty map when the field is absent.
inline const Map& get_map_or_empty(const Map& body, std::string_view key) {
  static const Map empty;
  return body.count(std::string(key)) ? cluster::get_map(body, key) : empty;
}

// A port number (1 to 65535); `what` names the field in the error.
inline std::int64_t port_of(const Value& v, const char* what) {
  if (!v.is_int() || v.as_int() < 1 || v.as_int() > 65535) {
    throw cluster::ProtocolError(std::string("field '") + what +
                                 "': expected ports from 1 to 65535, got " + v.to_string());
  }
  return v.as_int();
}

}  // namespace gale::nimbus
