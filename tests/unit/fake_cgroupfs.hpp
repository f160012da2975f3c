#pragma once

// An ordinary temporary directory that behaves like cgroupfs for supervisor::CgroupTree: mkdir
// creates the interface files, cgroup.procs moves a pid (out of every other cgroup), "+memory" in
// cgroup.subtree_control fails with EBUSY while the cgroup has processes (the "no internal
// processes" rule), rmdir ignores the interface files but refuses a cgroup with processes.

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "supervisor/cgroup_tree.hpp"

namespace gale::testing {

// Thread: the test's.
class FakeCgroupFiles final : public supervisor::CgroupFiles {
 public:
  // `root`: the fake mount point; `swap`: whether new cgroups get a memory.swap.max.
  FakeCgroupFiles(std::filesystem::path root, bool swap) : root_(std::move(root)), swap_(swap) {}

  int write(const std::filesystem::path& file, const std::string& text) override {
    if (denied(file.parent_path())) return EACCES;
    if (!std::filesystem::exists(file)) return ENOENT;
    const std::string name = file.filename().string();
    if (name == "cgroup.subtree_control") {
      if (!text_of(file.parent_path() / "cgroup.procs").empty()) return EBUSY;
      std::ofstream(file, std::ios::app) << text.substr(1) << "\n";
      return 0;
    }
    if (name == "cgroup.procs") {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(root_)) {
        if (entry.path().filename() == "cgroup.procs") remove_line(entry.path(), text);
      }
      std::ofstream(file, std::ios::app) << text << "\n";
      return 0;
    }
    std::ofstream(file, std::ios::trunc) << text << "\n";
    return 0;
  }

  int make_dir(const std::filesystem::path& dir) override {
    if (denied(dir.parent_path())) return EACCES;
    if (const int err = CgroupFiles::make_dir(dir)) return err;
    std::ofstream(dir / "cgroup.controllers")
        << text_of(dir.parent_path() / "cgroup.subtree_control");
    for (const char* name : {"cgroup.subtree_control", "cgroup.procs"}) std::ofstream(dir / name);
    std::ofstream(dir / "memory.max") << "max\n";
    std::ofstream(dir / "memory.events") << "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n";
    if (swap_) std::ofstream(dir / "memory.swap.max") << "max\n";
    std::ofstream(dir / "memory.oom.group") << "0\n";
    return 0;
  }

  int remove_dir(const std::filesystem::path& dir) override {
    if (!std::filesystem::exists(dir)) return ENOENT;
    if (!text_of(dir / "cgroup.procs").empty()) return EBUSY;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_directory()) return ENOTEMPTY;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return ec ? ec.value() : 0;
  }

  // Writes and mkdirs in `dir` fail with EACCES from now on (the tests run as root, for whom a
  // chmod would not).
  void deny(const std::filesystem::path& dir) { denied_.insert(dir.lexically_normal()); }

  static std::string text_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  bool denied(const std::filesystem::path& dir) const {
    return denied_.count(dir.lexically_normal()) > 0;
  }
  static void remove_line(const std::filesystem::path& file, const std::string& line) {
    std::istringstream in(text_of(file));
    std::string kept;
    for (std::string l; std::getline(in, l);) {
      if (l != line) kept += l + "\n";
    }
    std::ofstream(file, std::ios::trunc) << kept;
  }

  const std::filesystem::path root_;
  const bool swap_;
  std::set<std::filesystem::path> denied_;
};

// A fake cgroupfs: a temporary directory holding a cgroup v2 root with the cpu, memory and pids
// controllers, and the supervisor's cgroup `own` ("/gale.service") with `procs` (one pid a line)
// and its available `controllers`. Removed with everything below it on destruction.
struct FakeCgroupfs {
  explicit FakeCgroupfs(const std::string& controllers = "cpu memory pids",
                        const std::string& procs = "") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gale-cgroupfs-XXXXXX").string();
    root = mkdtemp(pattern.data());
    own_dir = root / "gale.service";
    std::filesystem::create_directories(own_dir);
    std::ofstream(root / "cgroup.controllers") << "cpu memory pids\n";
    std::ofstream(own_dir / "cgroup.controllers") << controllers << "\n";
    std::ofstream(own_dir / "cgroup.subtree_control");
    std::ofstream(own_dir / "cgroup.procs") << procs;
  }
  ~FakeCgroupfs() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  supervisor::CgroupTreeOptions options(int pid = 4242) const {
    supervisor::CgroupTreeOptions o;
    o.mount = root;
    o.own = "/gale.service";
    o.pid = pid;
    return o;
  }
  std::filesystem::path root;
  std::filesystem::path own_dir;
};

}  // namespace gale::testing
