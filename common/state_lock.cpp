#include "common/state_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>

#include <gale/errors.hpp>

namespace gale::common {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_lock_file = "lock";

[[noreturn]] void os_error(const std::string& what, const fs::path& path, int err) {
  throw Error("cannot " + what + " '" + path.string() + "': " + std::strerror(err));
}

}  // namespace

pid_t state_lock_holder(const fs::path& lock_path) {
  long pid = 0;
  std::ifstream in(lock_path);
  if (!(in >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

StateLock StateLock::acquire(const fs::path& dir, const std::string& daemon) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create the state directory '" + dir.string() + "': " + ec.message());
  const fs::path path = dir / k_lock_file;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) os_error("open the lock file", path, errno);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) os_error("lock", path, err);
    // The holder writes its pid right after it locks: give it a moment when we are in between.
    pid_t holder = state_lock_holder(path);
    for (int i = 0; holder == 0 && i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      holder = state_lock_holder(path);
    }
    throw Error("state directory '" + dir.string() + "' is in use by " +
                (holder > 0 ? "pid " + std::to_string(holder) : std::string("another process")) +
                " (it holds " + path.string() + "); not starting a second " + daemon + " on it");
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    const int err = errno;
    ::close(fd);
    os_error("write the pid into", path, err);
  }
  return StateLock(path, fd);
}

StateLock::StateLock(StateLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace gale::common
