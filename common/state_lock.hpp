#pragma once

// The exclusive lock a daemon holds on its state directory while it runs, so that a second
// daemon started on the same directory refuses to start instead of taking over the first one's
// files, ports and workers (DESIGN.md, "Operating principles").

#include <sys/types.h>

#include <filesystem>
#include <string>

#include <gale/export.hpp>

namespace gale::common {

// Thread: owned by the thread that took it (a daemon's controlling thread); the lock belongs to
// the process and is released when the StateLock is destroyed or the process ends (even by
// SIGKILL: the kernel drops a flock with its last file descriptor).
class GALE_API StateLock {
 public:
  // Creates `dir` when missing, then takes an exclusive flock on dir/lock (created when missing,
  // never deleted) and writes this process's pid into it. `daemon` names the daemon in the
  // error ("nimbus", "supervisor"). Never blocks. Throws gale::Error with one line naming the
  // directory and the pid holding it when another process holds the lock, or naming the file and
  // the system error when the directory or the file cannot be used. The descriptor is
  // close-on-exec: workers the daemon starts do not inherit the lock.
  static StateLock acquire(const std::filesystem::path& dir, const std::string& daemon);

  StateLock(StateLock&& other) noexcept;
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();  // releases the lock (the file stays)

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  StateLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_ = -1;
};

// The pid written in the lock file at `lock_path`, or 0 when it holds none (yet).
GALE_API pid_t state_lock_holder(const std::filesystem::path& lock_path);

}  // namespace gale::common
