#include "cluster/assignment_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <gale/errors.hpp>

#include "wire/codec.hpp"

namespace gale::cluster {

namespace {

[[noreturn]] void throw_os_error(const std::string& what, const std::filesystem::path& path) {
  throw Error(what + " " + path.string() + ": " + std::strerror(errno));
}

void write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_os_error("cannot write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

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
    throw ProtocolError("checksum mismatch (the file says " +
                        values[1].as_string() + ", its content has " + actual + ")");
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

  // The pid keeps two writers (an old and a new supervisor) off each other's temporary file.
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_os_error("cannot create", tmp);
  try {
    write_all(fd, bytes, tmp);
    if (::fsync(fd) != 0) throw_os_error("cannot fsync", tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw_os_error("cannot close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw_os_error("cannot rename into", path);
  }
  // The rename is durable only once the directory is.
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

AssignmentFile read_assignment_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_os_error("cannot read", path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw_os_error("cannot read", path);

  try {
    return decode_assignment_file(bytes);
  } catch (const ProtocolError& e) {
    throw ProtocolError(path.string() + ": " + e.what());
  }
}

}  // namespace gale::cluster
