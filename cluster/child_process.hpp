#pragma once

// Starting helper processes (daemons, servers, clients) for the tests and the benchmark so that
// none outlives the process that started it, however that process ends: a test that fails, a
// suite killed at its timeout, a benchmark interrupted. Not part of the gale command.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace gale::cluster {

struct ChildOptions {
  // The child's stdout and stderr are appended to this file; empty: this process's.
  std::string output;
  // When >= 0: the child's stdin, stdout and stderr (the latter two instead of `output`).
  // Descriptors opened with O_CLOEXEC are fine: they are duplicated onto 0, 1 and 2 in the child.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // As root (CI), run the child as nobody (uid and gid 65534): PostgreSQL refuses to run as root.
  bool as_nobody_when_root = false;
  // Leave LD_LIBRARY_PATH out of the child's environment (meson test points it into the build
  // tree; the daemons must run as an operator runs them).
  bool without_ld_library_path = false;
};

// Starts argv[0] (a path, or a name looked up in PATH) with `argv` and returns its pid. The child
// is SIGKILLed when this process dies: PR_SET_PDEATHSIG, which fires when the thread that forked
// exits, so every child is forked by one thread that lives as long as the process, whichever
// thread asks. A program that cannot be run exits with 127 (126 when it cannot become nobody).
// Throws std::runtime_error when fork fails. Any thread.
pid_t spawn_child(const std::vector<std::string>& argv, const ChildOptions& options = {});

// Waits at most `limit` for `pid` to end and reaps it: its wait status (0 when it is not a child of
// this process), or nullopt while it runs.
std::optional<int> wait_child(pid_t pid, std::chrono::milliseconds limit);

// SIGKILLs `pid` and reaps it; nothing for pid <= 0.
void kill_child(pid_t pid) noexcept;

}  // namespace gale::cluster
