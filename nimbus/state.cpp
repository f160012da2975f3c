#include "nimbus/state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
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

// The name in a topology id "name-N-unixsecs" (the id itself when it has another form).
std::string name_of_id(const std::string& id) {
  std::string name = id;
  for (int part = 0; part < 2; ++part) {
    const std::size_t dash = name.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == name.size() ||
        name.find_first_not_of("0123456789", dash + 1) != std::string::npos) {
      return id;
    }
    name.resize(dash);
  }
  return name;
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
             {"plugin_checksum", plugin_checksum},
             {"counters", counters_to_map(earlier_counters)}};
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
  // Absent from the metas of earlier versions: their counters start afresh.
  if (m.count("counters")) r.earlier_counters = counters_from_map(get_map(m, "counters"));
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

std::string NimbusState::quarantine(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return "";
  const std::int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  fs::path aside = file;
  aside += ".damaged-" + std::to_string(secs);
  for (int n = 2; fs::exists(aside, ec); ++n) {
    aside = file;
    aside += ".damaged-" + std::to_string(secs) + "-" + std::to_string(n);
  }
  if (::rename(file.c_str(), aside.c_str()) != 0) {
    logger_->error("cannot move the damaged '{}' aside: {}", file.string(), std::strerror(errno));
    return "";
  }
  return aside.filename().string();
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
    if (!entry.is_directory()) {
      logger_->error("skipping '{}': not a topology directory", dir.string());
      continue;
    }
    const fs::path meta = dir / k_meta_file;
    const fs::path plugin = dir / k_plugin_file;
    std::string plugin_bytes;
    std::optional<std::string> plugin_problem;
    try {
      plugin_bytes = read_file(plugin);
    } catch (const Error& e) {
      plugin_problem = "plugin.so cannot be read";
    }
    TopologyRecord r;
    try {
      const std::string bytes = read_file(meta);
      Values v = wire::decode_values(bytes);
      if (v.size() != 1 || !v[0].is_map()) throw Error("meta is not one map");
      r = TopologyRecord::from_map(v[0].as_map());
      if (r.id != base) throw Error("meta names topology '" + r.id + "'");
    } catch (const Error& e) {
      // The record is damaged, not the topology: keep it, with what the directory still tells.
      const std::string aside = quarantine(meta);
      r = TopologyRecord{};
      r.id = base;
      r.name = name_of_id(base);
      r.assignment.topology_id = base;
      r.assignment.version = 0;  // unknown: nimbus learns where it runs from the supervisors
      r.plugin_size = static_cast<std::int64_t>(plugin_bytes.size());
      r.plugin_checksum = plugin_problem ? "" : cluster::checksum(plugin_bytes);
      r.damaged = std::string(k_meta_file) + " is damaged (" + e.what() + ")" +
                  (aside.empty() ? "" : "; kept as " + aside);
      logger_->error("topology {}: {}; its workers keep running, only kill is taken", base,
                     r.damaged);
      records.push_back(std::move(r));
      continue;
    }
    if (!plugin_problem) {
      const std::string actual = cluster::checksum(plugin_bytes);
      if (static_cast<std::int64_t>(plugin_bytes.size()) != r.plugin_size ||
          actual != r.plugin_checksum) {
        plugin_problem = "plugin.so has " + std::to_string(plugin_bytes.size()) +
                         " bytes with checksum " + actual + ", meta says " +
                         std::to_string(r.plugin_size) + " bytes with checksum " +
                         r.plugin_checksum;
      }
    }
    if (plugin_problem) {
      const std::string aside = quarantine(plugin);
      r.damaged = *plugin_problem + (aside.empty() ? "" : "; kept as " + aside);
      logger_->error("topology {}: {}; its workers keep running, only kill is taken", base,
                     r.damaged);
    }
    records.push_back(std::move(r));
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
