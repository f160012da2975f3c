#include "supervisor/cgroup_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gale::supervisor {

namespace fs = std::filesystem;

namespace {

std::string describe(int err) { return std::strerror(err); }

// Whether the space-separated `list` (cgroup.controllers, cgroup.subtree_control) names `word`.
bool names(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string item;
  while (in >> item) {
    if (item == word) return true;
  }
  return false;
}

// The value of `key` in a flat-keyed file ("oom_kill 2\n..."), or nullopt.
std::optional<std::int64_t> flat_key(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string name;
  std::int64_t value = 0;
  while (in >> name >> value) {
    if (name == key) return value;
  }
  return std::nullopt;
}

}  // namespace

CgroupFiles::~CgroupFiles() = default;

int CgroupFiles::write(const fs::path& file, const std::string& text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno;
  // cgroupfs takes one value per write(2) and reports a refusal (EBUSY, EINVAL) from it.
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = n < 0 ? errno : (static_cast<std::size_t>(n) == text.size() ? 0 : EIO);
  ::close(fd);
  return err;
}

std::optional<std::string> CgroupFiles::read(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

int CgroupFiles::make_dir(const fs::path& dir) {
  return ::mkdir(dir.c_str(), 0755) == 0 ? 0 : errno;
}

int CgroupFiles::remove_dir(const fs::path& dir) { return ::rmdir(dir.c_str()) == 0 ? 0 : errno; }

std::optional<std::string> cgroup_v2_path(const std::string& proc_self_cgroup) {
  std::istringstream in(proc_self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("0::/")) return line.substr(3);
  }
  return std::nullopt;
}

CgroupTree::CgroupTree(fs::path workers, std::unique_ptr<CgroupFiles> files)
    : workers_(std::move(workers)), files_(std::move(files)) {}

CgroupTree::SetUp CgroupTree::set_up(const CgroupTreeOptions& options,
                                     std::unique_ptr<CgroupFiles> files) {
  if (!files) files = std::make_unique<CgroupFiles>();
  const auto fallback = [](std::string why) { return SetUp{nullptr, std::move(why)}; };
  if (options.mount.empty()) return fallback("no cgroup mount point configured");
  const fs::path mount = options.mount;
  if (!files->read(mount / "cgroup.controllers")) {
    return fallback("no cgroup v2 at " + mount.string());
  }
  std::string own = options.own;
  if (own.empty()) {
    const auto self = files->read("/proc/self/cgroup");
    const auto path = self ? cgroup_v2_path(*self) : std::nullopt;
    if (!path) return fallback("no cgroup v2 line in /proc/self/cgroup");
    own = *path;
  }
  const fs::path own_dir = mount / fs::path(own).relative_path();
  const auto controllers = files->read(own_dir / "cgroup.controllers");
  if (!controllers) return fallback("cannot read " + (own_dir / "cgroup.controllers").string());
  if (!names(*controllers, "memory")) {
    return fallback("the memory controller is not available in " + own_dir.string());
  }

  const auto enable_memory = [&](const fs::path& dir) -> int {
    const auto enabled = files->read(dir / "cgroup.subtree_control");
    if (enabled && names(*enabled, "memory")) return 0;
    return files->write(dir / "cgroup.subtree_control", "+memory");
  };
  int err = enable_memory(own_dir);
  if (err == EBUSY) {
    // <own> has processes (the supervisor at least): a leaf for them first.
    const fs::path leaf = own_dir / "supervisor";
    const int made = files->make_dir(leaf);
    if (made != 0 && made != EEXIST) {
      return fallback("cannot create " + leaf.string() + ": " + describe(made));
    }
    const int pid = options.pid > 0 ? options.pid : static_cast<int>(::getpid());
    if (const int moved = files->write(leaf / "cgroup.procs", std::to_string(pid))) {
      return fallback("cannot move the supervisor into " + leaf.string() + ": " + describe(moved));
    }
    err = enable_memory(own_dir);
    if (err == EBUSY) {
      return fallback("cannot enable memory in " + (own_dir / "cgroup.subtree_control").string() +
                      ": other processes than the supervisor are in " + own_dir.string());
    }
  }
  if (err != 0) {
    return fallback(own_dir.string() + " is not writable by the supervisor (+memory to " +
                    (own_dir / "cgroup.subtree_control").string() + ": " + describe(err) + ")");
  }
  const fs::path workers = own_dir / "workers";
  if (const int made = files->make_dir(workers); made != 0 && made != EEXIST) {
    return fallback("cannot create " + workers.string() + ": " + describe(made));
  }
  if (const int enabled = enable_memory(workers)) {
    return fallback("cannot enable memory in " + (workers / "cgroup.subtree_control").string() +
                    ": " + describe(enabled));
  }
  return SetUp{std::unique_ptr<CgroupTree>(new CgroupTree(workers, std::move(files))), ""};
}

fs::path CgroupTree::slot_dir(std::int64_t port) const {
  return workers_ / ("worker-" + std::to_string(port));
}

std::optional<std::string> CgroupTree::prepare(std::int64_t port, std::int64_t limit_mb) {
  const fs::path dir = slot_dir(port);
  if (const int made = files_->make_dir(dir); made != 0 && made != EEXIST) {
    return "cannot create cgroup " + dir.string() + ": " + describe(made);
  }
  prepared_.insert(port);
  const std::string bytes = std::to_string(limit_mb << 20);
  if (const int err = files_->write(dir / "memory.max", bytes)) {
    return "cannot write " + bytes + " to " + (dir / "memory.max").string() + ": " + describe(err);
  }
  const fs::path swap = dir / "memory.swap.max";
  if (files_->read(swap)) {
    if (const int err = files_->write(swap, "0")) {
      return "cannot write 0 to " + swap.string() + ": " + describe(err);
    }
  }
  // The OOM killer takes the whole worker (every process in its cgroup: the worker and anything a
  // bolt started), not one process of it, which would leave a half worker running (Linux 4.19+).
  const fs::path group = dir / "memory.oom.group";
  if (files_->read(group)) {
    if (const int err = files_->write(group, "1")) {
      return "cannot write 1 to " + group.string() + ": " + describe(err);
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> CgroupTree::oom_kills(std::int64_t port) {
  const auto events = files_->read(slot_dir(port) / "memory.events");
  if (!events) return std::nullopt;
  const auto kills = flat_key(*events, "oom_kill");
  const auto group_kills = flat_key(*events, "oom_group_kill");
  if (!kills && !group_kills) return std::nullopt;
  return kills.value_or(0) + group_kills.value_or(0);
}

std::optional<std::string> CgroupTree::remove(std::int64_t port) {
  const fs::path dir = slot_dir(port);
  const int err = files_->remove_dir(dir);
  if (err != 0 && err != ENOENT)
    return "cannot remove cgroup " + dir.string() + ": " + describe(err);
  prepared_.erase(port);
  return std::nullopt;
}

std::vector<std::string> CgroupTree::remove_all() {
  std::vector<std::string> problems;
  const std::set<std::int64_t> ports = prepared_;
  for (std::int64_t port : ports) {
    if (auto problem = remove(port)) problems.push_back(std::move(*problem));
  }
  if (problems.empty()) {
    const int err = files_->remove_dir(workers_);
    if (err != 0 && err != ENOENT) {
      problems.push_back("cannot remove cgroup " + workers_.string() + ": " + describe(err));
    }
  }
  return problems;
}

}  // namespace gale::supervisor
