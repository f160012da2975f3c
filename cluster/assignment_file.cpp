#include "cluster/assignment_file.hpp"

#include <gale/errors.hpp>

#include "common/durable_file.hpp"
#include "wire/codec.hpp"

namespace gale::cluster {

namespace {

// msgpack's one-byte headers of arrays of one and two elements.
constexpr char k_array_of_one = '\x91';
constexpr char k_array_of_two = '\x92';

// The encoding of the array [string] without its array header.
std::string encoded_string(const std::string& text) {
  return wire::encode_values(Values{Value(text)}).substr(1);
}

// [map] -> [map, checksum([map])]: the map's bytes stay as they are.
std::string with_checksum(const std::string& one_map) {
  return k_array_of_two + one_map.substr(1) + encoded_string(checksum(one_map));
}

// Checks the checksum of a decoded [map, checksum] file; throws ProtocolError when it does not
// match the map's bytes.
void verify_checksum(std::string_view bytes, const Values& values) {
  if (!values[1].is_string()) {
    throw ProtocolError("the second value is not a checksum");
  }
  const std::string tail = encoded_string(values[1].as_string());
  if (bytes.empty() || bytes.front() != k_array_of_two || bytes.size() < 1 + tail.size() ||
      !bytes.ends_with(tail)) {
    throw ProtocolError("not a map followed by its checksum");
  }
  const std::string map_bytes =
      k_array_of_one + std::string(bytes.substr(1, bytes.size() - 1 - tail.size()));
  const std::string actual = checksum(map_bytes);
  if (actual != values[1].as_string()) {
    throw ProtocolError("checksum mismatch (the file says " + values[1].as_string() +
                        ", its content has " + actual + ")");
  }
}

}  // namespace

Map config_to_map(const Config& config) {
  Map m;
  for (const auto& [key, value] : config.entries()) m.emplace(key, value);
  return m;
}

Config config_from_map(const Map& map) {
  Config config;
  for (const auto& [key, value] : map) config.set(key, value);
  return config;
}

std::string encode_assignment_file(const Assignment& assignment, const Config& config,
                                   std::string_view status) {
  (void)status_from_name(status);  // refuses an unknown status
  Map file;
  file.emplace("assignment", Value(assignment.to_map()));
  file.emplace("config", Value(config_to_map(config)));
  file.emplace("status", Value(std::string(status)));
  return with_checksum(wire::encode_values(Values{Value(std::move(file))}));
}

AssignmentFile decode_assignment_file(std::string_view bytes) {
  Values values;
  try {
    values = wire::decode_values(bytes);
  } catch (const Error& e) {
    throw ProtocolError(e.what());
  }
  if (values.empty() || values.size() > 2 || values[0].type() != Value::Type::map) {
    throw ProtocolError("expected a map {assignment, config, status} and its checksum");
  }
  if (values.size() == 2) verify_checksum(bytes, values);
  const Map& file = values[0].as_map();
  AssignmentFile out;
  out.assignment = Assignment::from_map(get_map(file, "assignment"));
  out.config = config_from_map(get_map(file, "config"));
  out.status = get_string(file, "status");
  (void)status_from_name(out.status);
  return out;
}

void write_assignment_file(const std::filesystem::path& path, const Assignment& assignment,
                           const Config& config, std::string_view status) {
  const std::string bytes = encode_assignment_file(assignment, config, status);

  // The pid in the temporary file's name keeps two writers (an old and a new supervisor) off
  // each other's.
  common::write_atomically(path, bytes);
}

AssignmentFile read_assignment_file(const std::filesystem::path& path) {
  const std::string bytes = common::read_whole_file(path);
  try {
    return decode_assignment_file(bytes);
  } catch (const ProtocolError& e) {
    throw ProtocolError(path.string() + ": " + e.what());
  }
}

}  // namespace gale::cluster
