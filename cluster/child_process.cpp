#include "cluster/child_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace gale::cluster {

namespace {

// Everything the child needs, made before fork: between fork and exec the child of a
// multithreaded process may only make system calls (another thread may have held malloc's lock).
struct Prepared {
  std::vector<std::string> argv_strings;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> env;
  const ChildOptions* options = nullptr;
  pid_t parent = 0;
};

pid_t fork_exec(Prepared& p) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const ChildOptions& o = *p.options;
  if (o.as_nobody_when_root && ::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
    ::_exit(126);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it
  if (::getppid() != p.parent) ::_exit(0);  // the parent died before the prctl
  if (o.stdin_fd >= 0) ::dup2(o.stdin_fd, 0);
  const int file =
      o.output.empty() ? -1 : ::open(o.output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int out = o.stdout_fd >= 0 ? o.stdout_fd : file;
  const int err = o.stderr_fd >= 0 ? o.stderr_fd : file;
  if (out >= 0) ::dup2(out, 1);
  if (err >= 0) ::dup2(err, 2);
  ::execvpe(p.argv[0], p.argv.data(), p.env.data());
  ::_exit(127);
}

// The thread that forks every child, started on first use and never ended (the object is never
// destroyed, so no exit-time destructor joins it).
class Spawner {
 public:
  Spawner() { std::thread([this] { serve(); }).detach(); }

  // The child's pid, or -1 with the fork's errno in `error`.
  pid_t spawn(Prepared& p, int& error) {
    std::unique_lock lock(mutex_);
    wanted_.wait(lock, [&] { return request_ == nullptr; });  // one request at a time
    request_ = &p;
    done_ = false;
    wanted_.notify_all();
    wanted_.wait(lock, [&] { return done_; });
    const pid_t pid = answer_;
    error = error_;
    request_ = nullptr;
    wanted_.notify_all();
    return pid;
  }

 private:
  void serve() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wanted_.wait(lock, [&] { return request_ != nullptr && !done_; });
      answer_ = fork_exec(*request_);
      error_ = answer_ < 0 ? errno : 0;
      done_ = true;
      wanted_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wanted_;
  Prepared* request_ = nullptr;
  bool done_ = false;
  pid_t answer_ = -1;
  int error_ = 0;
};

// The process's spawner. Spawners are never destroyed: their thread must outlive every child. A
// process forked without exec (a test's child process) has no spawner thread, so the fork's
// child forgets the parent's and makes its own on first use.
std::atomic<Spawner*> g_spawner{nullptr};

Spawner& spawner() {
  static const bool forget_on_fork = [] {
    ::pthread_atfork(nullptr, nullptr, [] { g_spawner.store(nullptr, std::memory_order_relaxed); });
    return true;
  }();
  (void)forget_on_fork;
  Spawner* s = g_spawner.load(std::memory_order_acquire);
  if (s != nullptr) return *s;
  auto* fresh = new Spawner();
  if (g_spawner.compare_exchange_strong(s, fresh, std::memory_order_acq_rel)) return *fresh;
  return *s;  // another thread's won the race; `fresh` stays idle
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

pid_t spawn_child(const std::vector<std::string>& argv, const ChildOptions& options) {
  if (argv.empty()) throw std::runtime_error("spawn_child: no program given");
  Prepared p;
  p.argv_strings = argv;
  for (char** e = environ; *e != nullptr; ++e) {
    if (options.without_ld_library_path && std::string_view(*e).rfind("LD_LIBRARY_PATH=", 0) == 0) {
      continue;
    }
    p.env_strings.emplace_back(*e);
  }
  p.argv = pointers(p.argv_strings);
  p.env = pointers(p.env_strings);
  p.options = &options;
  p.parent = ::getpid();
  int error = 0;
  const pid_t pid = spawner().spawn(p, error);
  if (pid < 0) {
    throw std::runtime_error("cannot start " + argv.front() + ": fork failed: " +
                             std::strerror(error));
  }
  return pid;
}

std::optional<int> wait_child(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // not a child of this process: nothing to wait for
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void kill_child(pid_t pid) noexcept {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace gale::cluster
