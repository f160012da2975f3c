#pragma once

// What nimbus keeps on disk (docs/cluster.md, "State on disk"): one directory per topology,
// D/topologies/<id>/ with plugin.so and meta.msgpack. Every file is written to a temporary file,
// fsynced and renamed, and a new topology's directory appears by one rename, so a crash at any
// point leaves either the old state or the new one.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/value.hpp>

#include "cluster/protocol.hpp"
#include "nimbus/counters.hpp"

namespace spdlog {
class logger;
}

namespace gale::nimbus {

// Everything nimbus knows about one submitted topology (the plugin bytes stay on disk).
struct TopologyRecord {
  std::string id;
  std::string name;
  Map config;  // merged: plugin's config, then the submit overrides
  cluster::TopologyStatus status = cluster::TopologyStatus::active;
  std::vector<std::vector<std::int32_t>> executors;  // task lists, as Plan::executors()
  std::vector<std::string> task_components;          // component of task t at [t - 1]
  cluster::Assignment assignment;
  std::int64_t submitted_ms = 0;  // wall clock, ms since the Unix epoch
  std::int64_t kill_at_ms = 0;    // when killed: when the topology is removed; 0 otherwise
  std::int64_t plugin_size = 0;
  std::string plugin_checksum;
  // Per component, the counters of the worker incarnations that ended (each one's last
  // heartbeat): `status` adds those of the running workers (nimbus/counters.hpp).
  CounterTotals earlier_counters;
  // Not empty when the topology's record or plugin on disk was found damaged at start: why, and
  // where the damaged bytes were kept. Kept in memory only (a damaged topology is damaged again
  // after a restart, since its meta or plugin is gone). Nimbus keeps such a topology's workers
  // running and takes only `kill` for it.
  std::string damaged;

  // The meta.msgpack map (without `damaged`) and back. from_map throws ProtocolError naming a
  // missing or bad field.
  Map to_map() const;
  static TopologyRecord from_map(const Map& m);
  friend bool operator==(const TopologyRecord&, const TopologyRecord&) = default;
};

// Writes `bytes` to `path` atomically: a temporary file next to it, fsync, rename, fsync of the
// directory. Throws gale::Error naming the path and the system error.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// The topologies under a state directory. Thread: one owner (the nimbus loop).
class NimbusState {
 public:
  // Creates D/topologies when missing. Throws gale::Error when it cannot.
  NimbusState(std::filesystem::path dir, std::shared_ptr<spdlog::logger> logger);

  // Every topology on disk. Damage never drops a topology (its workers may be running): a meta
  // that is missing, unreadable, malformed or names another topology is renamed to
  // meta.msgpack.damaged-<unix secs> and the topology comes back with only what its directory
  // tells (id, name from the id, the plugin's size and checksum) and `damaged` set; a plugin
  // whose size or checksum differs from the meta's (or that is missing) is renamed to
  // plugin.so.damaged-<unix secs> and the topology comes back from its meta with `damaged` set.
  // Each is logged as one line naming the file. Unfinished submits and deletes are removed.
  std::vector<TopologyRecord> load_all();

  // Stores a new topology: its plugin and meta appear together. Throws gale::Error on IO failure
  // or when the topology exists already.
  void create(const TopologyRecord& record, std::string_view plugin_bytes);
  // Rewrites a topology's meta. Throws gale::Error on IO failure.
  void save(const TopologyRecord& record);
  // Deletes a topology's directory (with any damaged files kept in it). Throws gale::Error on IO
  // failure.
  void remove(const std::string& id);

  // Up to `length` bytes of a topology's plugin from `offset`. Throws gale::Error when the file
  // cannot be read.
  std::string read_plugin(const std::string& id, std::int64_t offset, std::int64_t length) const;

  std::filesystem::path plugin_path(const std::string& id) const;
  // A scratch directory for uploads being validated (emptied at start).
  const std::filesystem::path& scratch_dir() const noexcept { return scratch_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path topology_dir(const std::string& id) const;
  // Renames `file` aside as <file>.damaged-<unix secs>; returns the new name, or empty when
  // `file` does not exist or cannot be renamed (logged).
  std::string quarantine(const std::filesystem::path& file);

  std::filesystem::path dir_;
  std::filesystem::path topologies_;
  std::filesystem::path scratch_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace gale::nimbus
