#include "nimbus/state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "wire/codec.hpp"

namespace gale::nimbus {

namespace fs = std::filesystem;
using cluster::get_int;
using cluster::get_list;
using cluster::get_map;
using cluster::get_string;
using cluster::ProtocolError;

namespace {

constexpr std::int64_t k_meta_format = 1;
constexpr const char* k_meta_file = "meta.msgpack";
constexpr const char* k_plugin_file = "plugin.so";
// A topology directory being built; renamed to its final name once complete.
constexpr const char* k_partial_suffix = ".partial";

[[noreturn]] void io_error(const std::string& what, const fs::path& path, int err) {
  throw Error("nimbus state: cannot " + what + " '" + path.string() + "': " + std::strerror(err));
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) io_error("open directory", dir, errno);
  // Some file systems refuse fsync on directories (EINVAL); the rename is then as durable as
  // they make it, which is all we can do.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int err = errno;
    ::close(fd);
    io_error("fsync directory", dir, err);
  }
  ::close(fd);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) io_error("read", path, errno);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::int32_t> int_list(const Value& v, const char* what) {
  if (!v.is_list()) throw ProtocolError(std::string("field '") + what + "': expected a list");
  std::vector<std::int32_t> out;
  for (const Value& x : v.as_list()) {
    if (!x.is_int()) throw ProtocolError(std::string("field '") + what + "': expected ints");
    out.push_back(static_cast<std::int32_t>(x.as_int()));
  }
  return out;
}

}  // namespace

Map TopologyRecord::to_map() const {
  List execs;
  for (const auto& e : executors) execs.push_back(List(e.begin(), e.end()));
  List components(task_components.begin(), task_components.end());
  return Map{{"format", k_meta_format},
             {"topology_id", id},
             {"name", name},
             {"config", config},
             {"status", cluster::status_name(status)},
             {"executors", std::move(execs)},
             {"task_components", std::move(components)},
             {"assignment", assignment.to_map()},
             {"submitted_ms", submitted_ms},
             {"kill_at_ms", kill_at_ms},
             {"plugin_size", plugin_size},
             {"plugin_checksum", plugin_checksum}};
}

TopologyRecord TopologyRecord::from_map(const Map& m) {
  if (get_int(m, "format") != k_meta_format) {
    throw ProtocolError("meta format " + std::to_string(get_int(m, "format")) + " is not " +
                        std::to_string(k_meta_format));
  }
  TopologyRecord r;
  r.id = get_string(m, "topology_id");
  r.name = get_string(m, "name");
  r.config = get_map(m, "config");
  r.status = cluster::status_from_name(get_string(m, "status"));
  for (const Value& e : get_list(m, "executors")) r.executors.push_back(int_list(e, "executors"));
  for (const Value& c : get_list(m, "task_components")) {
    if (!c.is_string()) throw ProtocolError("field 'task_components': expected strings");
    r.task_components.push_back(c.as_string());
  }
  r.assignment = cluster::Assignment::from_map(get_map(m, "assignment"));
  r.submitted_ms = get_int(m, "submitted_ms");
  r.kill_at_ms = get_int(m, "kill_at_ms");
  r.plugin_size = get_int(m, "plugin_size");
  r.plugin_checksum = get_string(m, "plugin_checksum");
  return r;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error("create", tmp, errno);
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      io_error("write", tmp, err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    io_error("fsync", tmp, err);
  }
  if (::close(fd) != 0) io_error("close", tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) io_error("rename into", path, errno);
  fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

NimbusState::NimbusState(fs::path dir, std::shared_ptr<spdlog::logger> logger)
    : dir_(std::move(dir)),
      topologies_(dir_ / "topologies"),
      scratch_(dir_ / "tmp"),
      logger_(std::move(logger)) {
  std::error_code ec;
  fs::create_directories(topologies_, ec);
  if (ec)
    throw Error("nimbus state: cannot create '" + topologies_.string() + "': " + ec.message());
  // Uploads that were being validated when nimbus stopped are of no use any more.
  fs::remove_all(scratch_, ec);
  fs::create_directories(scratch_, ec);
  if (ec) throw Error("nimbus state: cannot create '" + scratch_.string() + "': " + ec.message());
}

fs::path NimbusState::topology_dir(const std::string& id) const { return topologies_ / id; }

fs::path NimbusState::plugin_path(const std::string& id) const {
  return topology_dir(id) / k_plugin_file;
}

std::vector<TopologyRecord> NimbusState::load_all() {
  std::vector<TopologyRecord> records;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(topologies_, ec)) {
    const fs::path dir = entry.path();
    const std::string base = dir.filename().string();
    if (base.ends_with(k_partial_suffix) || base.ends_with(".deleting")) {
      // A submit or a delete that did not finish: it never was (or no longer is) a topology.
      logger_->warn("removing unfinished topology directory '{}'", dir.string());
      fs::remove_all(dir, ec);
      continue;
    }
    try {
      if (!entry.is_directory()) throw Error("not a directory");
      const std::string bytes = read_file(dir / k_meta_file);
      Values v = wire::decode_values(bytes);
      if (v.size() != 1 || !v[0].is_map()) throw Error("meta is not one map");
      TopologyRecord r = TopologyRecord::from_map(v[0].as_map());
      if (r.id != base) throw Error("meta names topology '" + r.id + "'");
      std::error_code size_ec;
      auto size = fs::file_size(dir / k_plugin_file, size_ec);
      if (size_ec) throw Error("plugin: " + size_ec.message());
      if (static_cast<std::int64_t>(size) != r.plugin_size) {
        throw Error("plugin has " + std::to_string(size) + " bytes, meta says " +
                    std::to_string(r.plugin_size));
      }
      records.push_back(std::move(r));
    } catch (const Error& e) {
      logger_->error("skipping corrupt topology directory '{}': {}", dir.string(), e.what());
    }
  }
  if (ec) logger_->error("cannot list '{}': {}", topologies_.string(), ec.message());
  return records;
}

void NimbusState::create(const TopologyRecord& record, std::string_view plugin_bytes) {
  const fs::path final_dir = topology_dir(record.id);
  fs::path partial = final_dir;
  partial += k_partial_suffix;
  std::error_code ec;
  if (fs::exists(final_dir, ec)) throw Error("nimbus state: '" + final_dir.string() + "' exists");
  fs::remove_all(partial, ec);
  if (!fs::create_directory(partial, ec) || ec) {
    throw Error("nimbus state: cannot create '" + partial.string() + "': " + ec.message());
  }
  write_file_atomic(partial / k_plugin_file, plugin_bytes);
  write_file_atomic(partial / k_meta_file, wire::encode_values({record.to_map()}));
  if (::rename(partial.c_str(), final_dir.c_str()) != 0) io_error("rename into", final_dir, errno);
  fsync_dir(topologies_);
}

void NimbusState::save(const TopologyRecord& record) {
  write_file_atomic(topology_dir(record.id) / k_meta_file, wire::encode_values({record.to_map()}));
}

void NimbusState::remove(const std::string& id) {
  const fs::path dir = topology_dir(id);
  fs::path doomed = dir;
  doomed += ".deleting";
  // Renamed first, so a crash halfway through the delete cannot leave a half topology behind.
  if (::rename(dir.c_str(), doomed.c_str()) != 0) io_error("rename", dir, errno);
  fsync_dir(topologies_);
  std::error_code ec;
  fs::remove_all(doomed, ec);
  if (ec) throw Error("nimbus state: cannot delete '" + doomed.string() + "': " + ec.message());
}

std::string NimbusState::read_plugin(const std::string& id, std::int64_t offset,
                                     std::int64_t length) const {
  const fs::path path = plugin_path(id);
  std::ifstream in(path, std::ios::binary);
  if (!in) io_error("read", path, errno);
  in.seekg(offset);
  std::string out(static_cast<std::size_t>(length), '\0');
  in.read(out.data(), length);
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

}  // namespace gale::nimbus
