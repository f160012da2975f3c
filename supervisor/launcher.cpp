#include "supervisor/launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace gale::supervisor {

std::string ExitStatus::describe() const {
  return (signaled ? "signal " : "exit ") + std::to_string(code);
}

ProcessLauncher::~ProcessLauncher() = default;
PosixLauncher::~PosixLauncher() = default;

LaunchResult PosixLauncher::launch(const LaunchSpec& spec) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, spec.output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Its own process group, so that stopping a worker reaches whatever it started and a Ctrl-C in
  // the supervisor's terminal does not reach the workers before the supervisor stops them. The
  // gale command blocks SIGINT/SIGTERM in every thread; the child must not inherit that mask.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(spec.program.c_str()));
  for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, spec.program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return {-1, "cannot start " + spec.program + ": " + std::strerror(rc)};
  // Kills and reaps the process that cannot be limited, with the error to report.
  const auto abandon = [&](const std::string& error) -> LaunchResult {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return {-1, error};
  };
  if (!spec.cgroup_dir.empty()) {
    const std::string procs = spec.cgroup_dir + "/cgroup.procs";
    const int fd = ::open(procs.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    const std::string text = std::to_string(pid);
    const bool moved =
        fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    if (fd >= 0) ::close(fd);
    if (!moved) {
      return abandon("cannot move " + spec.program + " (pid " + text + ") into the cgroup " +
                     spec.cgroup_dir + ": " + std::strerror(err));
    }
    return {pid, ""};
  }
  if (spec.memory_limit_mb > 0 && memory_limit_supported()) {
    const rlim_t bytes = static_cast<rlim_t>(spec.memory_limit_mb + k_address_space_margin_mb)
                         << 20;
    const struct rlimit limit { bytes, bytes };
    if (::prlimit(pid, RLIMIT_AS, &limit, nullptr) != 0) {
      const int err = errno;
      return abandon("cannot limit the memory of " + spec.program + " to " +
                     std::to_string(spec.memory_limit_mb) + " MB: " + std::strerror(err));
    }
  }
  return {pid, ""};
}

bool memory_limit_supported() noexcept {
  // AddressSanitizer and ThreadSanitizer reserve terabytes of shadow address space.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

std::optional<ExitStatus> PosixLauncher::reap(int pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  // ECHILD: someone else reaped it (cannot happen in the gale command); report it as gone rather
  // than watching a pid that no longer exists forever.
  if (r < 0) return ExitStatus::exited(-1);
  if (WIFSIGNALED(status)) return ExitStatus::killed_by(WTERMSIG(status));
  if (WIFEXITED(status)) return ExitStatus::exited(WEXITSTATUS(status));
  return std::nullopt;  // stopped or continued: still there
}

void PosixLauncher::signal(int pid, int signal) {
  if (pid <= 0) return;
  if (::kill(-pid, signal) != 0 && errno == ESRCH) ::kill(pid, signal);
}

}  // namespace gale::supervisor
