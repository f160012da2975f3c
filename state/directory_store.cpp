// The checkpoint store in a directory: one file per task snapshot, one marker per deployment.

#include <algorithm>
#include <charconv>
#include <system_error>
#include <vector>

#include "common/durable_file.hpp"
#include "state/checkpoint_store.hpp"
#include "state/snapshot_frame.hpp"

namespace gale::state {

namespace {

namespace fs = std::filesystem;

// A checkpoint id written as text (a marker file, a directory's name), or nothing when `text` is
// not one.
std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = -1;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (err != std::errc() || end != text.data() + text.size() || id < 0) return std::nullopt;
  return id;
}

// Thread: any (see CheckpointStore); keeps no state but its root.
class DirectoryStore final : public CheckpointStore {
 public:
  explicit DirectoryStore(fs::path root) : root_(std::move(root)) {
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec || !fs::is_directory(root_)) {
      throw CheckpointError(describe() + ": cannot create it" +
                            (ec ? ": " + ec.message() : std::string(": not a directory")));
    }
  }

  std::int64_t next_checkpoint_id(const std::string& topology_id) override {
    const fs::path path = topology_dir(topology_id) / "last-id";
    const std::int64_t id =
        read_id(path, "the last checkpoint id of " + topology_id).value_or(0) + 1;
    make_durable_dir(path.parent_path());
    write_frame(path, std::to_string(id),
                "record checkpoint id " + std::to_string(id) + " of " + topology_id);
    return id;
  }

  void put(const SnapshotKey& key, std::string_view snapshot) override {
    const fs::path path = snapshot_path(key);
    make_durable_dir(path.parent_path().parent_path());
    make_durable_dir(path.parent_path());
    write_frame(path, snapshot, "store " + name(key));
  }

  std::optional<std::string> get(const SnapshotKey& key) override {
    return read_frame(snapshot_path(key), name(key));
  }

  void complete(const std::string& topology_id, std::int64_t checkpoint) override {
    check_checkpoint(checkpoint);
    const std::optional<std::int64_t> last = last_complete(topology_id);
    if (last && *last >= checkpoint) return;
    make_durable_dir(topology_dir(topology_id));
    write_frame(
        complete_path(topology_id), std::to_string(checkpoint),
        "record checkpoint " + std::to_string(checkpoint) + " of " + topology_id + " complete");
  }

  std::optional<std::int64_t> last_complete(const std::string& topology_id) override {
    return read_id(complete_path(topology_id), "the complete checkpoint of " + topology_id);
  }

  void drop_before(const std::string& topology_id, std::int64_t checkpoint) override {
    // Never the last complete checkpoint: a restore needs it whatever the caller asks.
    if (const std::optional<std::int64_t> last = last_complete(topology_id)) {
      checkpoint = std::min(checkpoint, *last);
    }
    const fs::path dir = topology_dir(topology_id);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    std::vector<fs::path> old;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
      const std::optional<std::int64_t> id = parse_id(entry.path().filename().string());
      if (id && *id < checkpoint && entry.is_directory()) old.push_back(entry.path());
    }
    if (ec)
      throw CheckpointError(describe() + ": cannot list " + dir.string() + ": " + ec.message());
    for (const fs::path& p : old) {
      fs::remove_all(p, ec);
      if (ec)
        throw CheckpointError(describe() + ": cannot remove " + p.string() + ": " + ec.message());
    }
  }

  std::string describe() const override { return "checkpoint store directory " + root_.string(); }

 private:
  // A deployment's id names a directory: one path component, nothing that climbs out of root_.
  fs::path topology_dir(const std::string& topology_id) const {
    if (topology_id.empty() || topology_id == "." || topology_id == ".." ||
        topology_id.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      throw CheckpointError(describe() + ": '" + topology_id +
                            "' cannot name a deployment's directory");
    }
    return root_ / topology_id;
  }
  static void check_checkpoint(std::int64_t checkpoint) {
    if (checkpoint < 0) {
      throw CheckpointError("checkpoint ids are 0 or more, not " + std::to_string(checkpoint));
    }
  }
  fs::path checkpoint_dir(const std::string& topology_id, std::int64_t checkpoint) const {
    check_checkpoint(checkpoint);
    return topology_dir(topology_id) / std::to_string(checkpoint);
  }
  fs::path snapshot_path(const SnapshotKey& key) const {
    if (key.task < 0)
      throw CheckpointError("task ids are 0 or more, not " + std::to_string(key.task));
    return checkpoint_dir(key.topology_id, key.checkpoint) /
           (std::to_string(key.task) + ".snapshot");
  }
  fs::path complete_path(const std::string& topology_id) const {
    return topology_dir(topology_id) / "complete";
  }
  // The payload of the framed file at `path`, or nothing when there is none; `label` names it in
  // errors.
  std::optional<std::string> read_frame(const fs::path& path, const std::string& label) const {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (ec) {
        throw CheckpointError(describe() + ": cannot look for " + label + ": " + ec.message());
      }
      return std::nullopt;
    }
    std::string frame;
    try {
      frame = common::read_whole_file(path);
    } catch (const Error& e) {
      throw CheckpointError(describe() + ": cannot read " + label + ": " + e.what());
    }
    return unframe_snapshot(frame, describe() + ": " + label + " (" + path.string() + ")");
  }
  // Replaces the file at `path` with `payload`, framed, durably; `action` says in errors what
  // could not be done.
  void write_frame(const fs::path& path, std::string_view payload,
                   const std::string& action) const {
    try {
      common::write_atomically(path, frame_snapshot(payload));
    } catch (const Error& e) {
      throw CheckpointError(describe() + ": cannot " + action + ": " + e.what());
    }
  }
  // The checkpoint id a marker file at `path` holds, or nothing when there is none; `label`
  // names it in errors.
  std::optional<std::int64_t> read_id(const fs::path& path, const std::string& label) const {
    const std::optional<std::string> text = read_frame(path, label);
    if (!text) return std::nullopt;
    const std::optional<std::int64_t> id = parse_id(*text);
    if (!id) {
      throw CheckpointError(describe() + ": " + path.string() + " names no checkpoint: '" + *text +
                            "'");
    }
    return id;
  }
  static std::string name(const SnapshotKey& key) {
    return "the snapshot of task " + std::to_string(key.task) + " in checkpoint " +
           std::to_string(key.checkpoint) + " of " + key.topology_id;
  }
  // Creates `dir` when missing; a new directory is made durable in its parent at once, so that
  // a snapshot stored in it survives a crash of the machine.
  void make_durable_dir(const fs::path& dir) const {
    std::error_code ec;
    if (fs::create_directory(dir, ec)) {
      try {
        common::sync_directory(dir.parent_path());
      } catch (const Error& e) {
        throw CheckpointError(describe() + ": " + e.what());
      }
      return;
    }
    if (ec || !fs::is_directory(dir)) {
      throw CheckpointError(describe() + ": cannot create " + dir.string() +
                            (ec ? ": " + ec.message() : std::string(": not a directory")));
    }
  }

  const fs::path root_;
};

}  // namespace

std::unique_ptr<CheckpointStore> open_directory_store(fs::path root) {
  return std::make_unique<DirectoryStore>(std::move(root));
}

}  // namespace gale::state
