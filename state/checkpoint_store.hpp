#pragma once

// Where the snapshots of exactly-once checkpoints go: a store that outlives every worker. Each
// task puts its snapshot of checkpoint N; once every task's is in, the coordinator records N
// complete; a restore reads the last complete checkpoint's snapshots. Snapshots are opaque bytes
// here (what a task's state backend and its spout or sink wrote).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gale/errors.hpp>
#include <gale/export.hpp>

namespace gale::state {

// A snapshot that cannot be stored or read back whole, or a store that cannot be used; the
// message names the store and the snapshot.
class GALE_API CheckpointError : public Error {
 public:
  using Error::Error;
};

// The snapshot of `task` in checkpoint `checkpoint` of the deployment `topology_id`.
struct SnapshotKey {
  std::string topology_id;
  std::int64_t checkpoint = 0;
  std::int32_t task = 0;
};

// Thread: any; one writer per key (each task puts only its own snapshots), and complete() from the
// coordinator alone.
class GALE_API CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  // A checkpoint id for `topology_id` above every id this store handed out for it before, recorded
  // durably before it is returned: a coordinator that restarts never triggers an id twice, so a
  // sink's pre-commit under id N is never mistaken for another attempt's. The first is 1.
  [[nodiscard]] virtual std::int64_t next_checkpoint_id(const std::string& topology_id) = 0;
  // Stores `snapshot` under `key`, replacing an earlier one (a task that snapshots checkpoint N
  // again after a restart); durable when it returns.
  virtual void put(const SnapshotKey& key, std::string_view snapshot) = 0;
  // The snapshot under `key`, or nothing when there is none. A damaged one throws
  // CheckpointError: a restore must never load half a state.
  [[nodiscard]] virtual std::optional<std::string> get(const SnapshotKey& key) = 0;
  // Records checkpoint `checkpoint` of `topology_id` complete (every task's snapshot is in).
  // Only ever moves forward: completing an older or the same checkpoint again changes nothing,
  // so a coordinator that repeats itself after a crash is harmless.
  virtual void complete(const std::string& topology_id, std::int64_t checkpoint) = 0;
  // The last checkpoint recorded complete, or nothing before the first.
  [[nodiscard]] virtual std::optional<std::int64_t> last_complete(
      const std::string& topology_id) = 0;
  // Drops the snapshots of the checkpoints of `topology_id` older than `checkpoint`.
  virtual void drop_before(const std::string& topology_id, std::int64_t checkpoint) = 0;
  // "directory /var/lib/gale/checkpoints": what error messages call the store.
  [[nodiscard]] virtual std::string describe() const = 0;
};

// A store in a directory (local mode, or a mount every node shares):
// <root>/<topology_id>/<checkpoint>/<task>.snapshot, each framed with its length and checksum,
// and <root>/<topology_id>/complete and .../last-id, written atomically. Creates `root` when
// missing; throws CheckpointError when it cannot.
[[nodiscard]] GALE_API std::unique_ptr<CheckpointStore> open_directory_store(
    std::filesystem::path root);

}  // namespace gale::state
