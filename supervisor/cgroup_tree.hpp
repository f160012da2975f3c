#pragma once

// The cgroup v2 path of topology.worker.memory.limit.mb (docs/cluster.md, "Memory limit"): a
// cgroup per worker slot, <own>/workers/worker-<port>, whose memory.max bounds the resident
// memory of the worker exactly, and whose memory.events tells that the kernel's OOM killer ended
// it. The mount point, the supervisor's own cgroup and the file operations are injected, so that
// tests run it against an ordinary directory that mimics cgroupfs.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gale::supervisor {

// The operations on cgroupfs the tree makes. The base class makes them for real; tests derive
// from it to mimic the kernel's rules (EBUSY for a controller enabled in a cgroup that has
// processes, an rmdir that ignores interface files) in an ordinary directory.
// Thread: the supervisor's thread.
class CgroupFiles {
 public:
  virtual ~CgroupFiles();
  // Writes `text` to `file` (an existing interface file on cgroupfs). Returns 0 or an errno.
  virtual int write(const std::filesystem::path& file, const std::string& text);
  // The content of `file`, or nullopt when it cannot be read (absent, no permission).
  virtual std::optional<std::string> read(const std::filesystem::path& file);
  // mkdir(2) and rmdir(2): 0 or an errno (EEXIST, ENOENT included).
  virtual int make_dir(const std::filesystem::path& dir);
  virtual int remove_dir(const std::filesystem::path& dir);
};

struct CgroupTreeOptions {
  std::filesystem::path mount = "/sys/fs/cgroup";  // where cgroup v2 is mounted
  // The supervisor's cgroup below the mount, e.g. "/system.slice/gale-supervisor.service";
  // empty: the `0::` line of /proc/self/cgroup.
  std::string own;
  // The supervisor's pid, moved into <own>/supervisor when <own> has processes; 0: getpid().
  int pid = 0;
};

// The per-worker cgroups of one supervisor. Thread: the supervisor's thread.
class CgroupTree {
 public:
  // What set_up() decided: a tree, or why memory limits use RLIMIT_AS instead.
  struct SetUp {
    std::unique_ptr<CgroupTree> tree;  // null: RLIMIT_AS
    std::string reason;                // when `tree` is null: why, e.g. "no cgroup v2 at /x"
  };

  // Makes <mount><own>/workers a cgroup whose children can have memory limits: requires cgroup
  // v2 at `mount` (its cgroup.controllers), the memory controller among those of <own>, and
  // <own> writable. Enables memory in <own>/cgroup.subtree_control; when that fails with EBUSY
  // (the "no internal processes" rule: <own> has processes), moves the supervisor into
  // <own>/supervisor first, as systemd-delegated services do, and tries again. Never throws;
  // `files` null: the real files.
  static SetUp set_up(const CgroupTreeOptions& options, std::unique_ptr<CgroupFiles> files = {});

  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  // <own>/workers, and the cgroup of the worker on `port` below it.
  const std::filesystem::path& workers_dir() const noexcept { return workers_; }
  std::filesystem::path slot_dir(std::int64_t port) const;

  // Creates (or reuses) the cgroup of `port` with memory.max = limit_mb MB and, when the kernel
  // has swap accounting, memory.swap.max = 0 (swapping out would let the worker exceed its limit
  // in effect, slowly), and memory.oom.group = 1 where the kernel has it (an OOM kill takes every
  // process of the worker). Returns nullopt, or the problem naming the file.
  std::optional<std::string> prepare(std::int64_t port, std::int64_t limit_mb);
  // The OOM kills in the cgroup of `port` so far (oom_kill plus oom_group_kill of its
  // memory.events), or nullopt when it cannot be read.
  std::optional<std::int64_t> oom_kills(std::int64_t port);
  // Removes the cgroup of `port` (rmdir: it must hold no process). Returns nullopt (removed, or
  // there was none), or the problem.
  std::optional<std::string> remove(std::int64_t port);
  // Removes the cgroup of every port prepared, then workers_dir(). Returns the problems.
  std::vector<std::string> remove_all();

 private:
  CgroupTree(std::filesystem::path workers, std::unique_ptr<CgroupFiles> files);

  // Constant after construction.
  const std::filesystem::path workers_;
  const std::unique_ptr<CgroupFiles> files_;

  std::set<std::int64_t> prepared_;  // ports whose cgroup may exist
};

// The cgroup v2 path of this process from the text of /proc/self/cgroup (its `0::/path` line), or
// nullopt when it has none (a cgroup v1 only system).
std::optional<std::string> cgroup_v2_path(const std::string& proc_self_cgroup);

}  // namespace gale::supervisor
