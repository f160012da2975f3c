#include "supervisor/plugin_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

namespace gale::supervisor {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes `bytes` to `path` so that a crash leaves either the old file or the complete new one.
std::optional<std::string> write_atomically(const fs::path& path, std::string_view bytes) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write " + tmp.string() + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp.string() + ": " + why;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot write " + tmp.string() + ": " + why;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot rename " + tmp.string() + " to " + path.string() + ": " + why;
  }
  // The rename itself must reach the disk too.
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return std::nullopt;
}

}  // namespace

bool is_safe_topology_id(std::string_view id) {
  if (id.empty() || id.size() > 200 || id.front() == '.') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

PluginCache::PluginCache(fs::path dir, std::shared_ptr<spdlog::logger> log)
    : dir_(std::move(dir)), log_(std::move(log)) {}

void PluginCache::forget(const std::string& topology_id) { verified_.erase(topology_id); }

fs::path PluginCache::path_of(const std::string& topology_id) const {
  return dir_ / (topology_id + ".so");
}

std::optional<std::string> PluginCache::ensure(const std::string& topology_id, std::int64_t size,
                                               const std::string& checksum, const RpcCall& rpc) {
  if (!is_safe_topology_id(topology_id)) {
    return "refusing topology id '" + topology_id + "': not usable as a file name";
  }
  const fs::path path = path_of(topology_id);
  std::error_code ec;
  // What the cached copy looks like now (size 0 and no time when it is missing).
  const auto stat_now = [&](std::string sum) {
    Verified v{std::move(sum), 0, {}};
    std::error_code stat_ec;
    v.size = fs::file_size(path, stat_ec);
    if (!stat_ec) v.mtime = fs::last_write_time(path, stat_ec);
    if (stat_ec) v.size = 0;
    return v;
  };
  if (auto it = verified_.find(topology_id); it != verified_.end()) {
    const Verified now = stat_now(checksum);
    if (it->second.checksum == checksum && it->second.size == now.size &&
        it->second.mtime == now.mtime && now.size > 0) {
      return std::nullopt;
    }
    verified_.erase(it);
  }
  std::string damage;  // when a cached copy exists but is not the plugin: what it is instead
  if (auto cached = read_file(path)) {
    const std::string actual = cluster::checksum(*cached);
    if (actual == checksum && static_cast<std::int64_t>(cached->size()) == size) {
      verified_[topology_id] = stat_now(checksum);
      return std::nullopt;
    }
    damage = std::to_string(cached->size()) + " bytes with checksum " + actual + ", expected " +
             std::to_string(size) + " bytes with checksum " + checksum;
  }

  std::string data;
  std::int64_t total = size;
  std::string announced;
  const std::string what = "plugin of topology " + topology_id;
  while (static_cast<std::int64_t>(data.size()) < total || (total == 0 && announced.empty())) {
    Map request;
    request["topology_id"] = topology_id;
    request["offset"] = static_cast<std::int64_t>(data.size());
    request["length"] =
        std::min(k_max_plugin_chunk, total - static_cast<std::int64_t>(data.size()));
    std::optional<cluster::Reply> reply;
    try {
      reply = rpc("fetch_plugin", request);
    } catch (const std::exception& e) {
      return "fetching the " + what + ": " + e.what();
    }
    if (!reply) return "fetching the " + what + ": nimbus did not answer";
    if (!reply->ok) return "fetching the " + what + ": nimbus: " + reply->error;
    try {
      const Bytes& chunk = cluster::get_bytes(reply->body, "data");
      const std::int64_t reply_total = cluster::get_int(reply->body, "total");
      announced = cluster::get_string(reply->body, "checksum");
      if (reply_total != size) {
        return "fetching the " + what + ": nimbus has " + std::to_string(reply_total) +
               " bytes, the assignment says " + std::to_string(size);
      }
      if (chunk.empty() && static_cast<std::int64_t>(data.size()) < total) {
        return "fetching the " + what + ": nimbus sent an empty chunk at offset " +
               std::to_string(data.size()) + " of " + std::to_string(total);
      }
      if (static_cast<std::int64_t>(data.size() + chunk.size()) > total) {
        return "fetching the " + what + ": nimbus sent more than " + std::to_string(total) +
               " bytes";
      }
      data.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    } catch (const std::exception& e) {
      return "fetching the " + what + ": " + e.what();
    }
  }
  const std::string actual = cluster::checksum(data);
  if (actual != checksum || announced != checksum) {
    return "fetching the " + what + ": checksum mismatch (expected " + checksum + ", received " +
           actual + ")";
  }
  fs::create_directories(dir_, ec);
  if (ec) return "cannot create " + dir_.string() + ": " + ec.message();
  if (auto error = write_atomically(path, data)) return error;
  verified_[topology_id] = stat_now(checksum);
  if (!damage.empty() && log_) {
    log_->warn("plugin cache: {} was damaged ({}): fetched it again from nimbus", path.string(),
               damage);
  }
  return std::nullopt;
}

void PluginCache::remove_except(const std::set<std::string>& keep) {
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".so" || keep.count(p.stem().string())) continue;
    fs::remove(p, ec);
    ec.clear();
  }
}

}  // namespace gale::supervisor
