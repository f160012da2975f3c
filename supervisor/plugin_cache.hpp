#pragma once

// The supervisor's local copies of topology plugins: D/plugins/<topology_id>.so, fetched from
// nimbus in chunks and kept only when their checksum matches the one nimbus announced.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <gale/value.hpp>

#include "cluster/protocol.hpp"

namespace spdlog {
class logger;
}

namespace gale::supervisor {

using cluster::RpcCall;

// The largest chunk a fetch_plugin request asks for (docs/cluster.md).
inline constexpr std::int64_t k_max_plugin_chunk = std::int64_t{4} << 20;

// True for ids that are safe as a file name: letters, digits, '.', '_', '-', not starting with '.'.
bool is_safe_topology_id(std::string_view id);

// Thread: the supervisor's thread.
class PluginCache {
 public:
  // `dir` is D/plugins; it is created when needed. Repairs are logged to `log` (none when null).
  explicit PluginCache(std::filesystem::path dir, std::shared_ptr<spdlog::logger> log = nullptr);

  // D/plugins/<topology_id>.so
  std::filesystem::path path_of(const std::string& topology_id) const;

  // Makes sure path_of(topology_id) holds the plugin of `size` bytes with `checksum`: keeps a
  // cached copy whose checksum matches (a copy verified before is re-read only when its size or
  // modification time changed, or after forget()), else fetches it from nimbus with fetch_plugin
  // requests of at most k_max_plugin_chunk bytes, checks size and checksum, and stores it
  // atomically (temporary file, fsync, rename). Returns nullopt on success, else one line saying
  // what went wrong (nimbus did not answer, an error reply, a size or checksum mismatch, a write
  // error); nothing is stored then. A cached copy found damaged and fetched again is logged as one
  // line naming the file.
  [[nodiscard]] std::optional<std::string> ensure(const std::string& topology_id, std::int64_t size,
                                                  const std::string& checksum, const RpcCall& rpc);

  // Deletes cached plugins whose topology id is not in `keep`.
  void remove_except(const std::set<std::string>& keep);

  // Makes the next ensure() of `topology_id` read and checksum the cached copy again (after a
  // worker crash, which a damaged plugin can cause).
  void forget(const std::string& topology_id);

 private:
  // What a cached copy looked like when its checksum was verified.
  struct Verified {
    std::string checksum;
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime;
  };

  std::filesystem::path dir_;
  std::shared_ptr<spdlog::logger> log_;
  // Copies verified since this supervisor started, by topology id: not re-read while their size
  // and modification time stay the same.
  std::map<std::string, Verified> verified_;
};

}  // namespace gale::supervisor
