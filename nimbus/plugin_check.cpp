#include "nimbus/plugin_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cluster/protocol.hpp"
#include "nimbus/nimbus.hpp"
#include "plugin/loader.hpp"
#include "topology/src/plan.hpp"
#include "wire/codec.hpp"

namespace gale::nimbus {

namespace {

using Clock = std::chrono::steady_clock;

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
}

// The loader names the file it loaded; the user knows it as the topology they submitted.
std::string user_message(std::string message, const std::string& path, const std::string& name) {
  replace_all(message, "plugin '" + path + "'", "plugin of topology '" + name + "'");
  replace_all(message, path, "the plugin");
  return message;
}

// Runs in the child: everything is caught, the answer goes to `fd`, and the child _exit()s
// without running the parent's atexit handlers or destructors.
[[noreturn]] void child_main(int fd, const std::string& path, const std::string& name,
                             const Map& overrides) {
  Values answer;
  try {
    Config given;
    for (const auto& [key, value] : overrides) given.set(key, value);
    plugin::LoadedPlugin plugin = plugin::load_plugin(path, given);
    List warnings;
    for (const auto& [key, value] : plugin.config.entries()) {
      if (overrides.contains(key)) continue;
      if (auto warning = gale::keys::unknown_key_warning(key)) warnings.push_back(*warning);
    }
    Config config = plugin.config;
    for (const auto& [key, value] : overrides) config.set(key, value);
    config.set(gale::keys::topology_name, name);
    config.validate();
    detail::Plan plan(plugin.topology, config);
    List executors;
    for (const auto& e : plan.executors())
      executors.push_back(List(e.tasks.begin(), e.tasks.end()));
    List components;
    const TaskLayout& layout = plan.layout();
    for (std::int32_t t = 1; t <= layout.task_count(); ++t) {
      components.push_back(layout.component_of(t));
    }
    Map merged;
    for (const auto& [key, value] : config.entries()) merged.emplace(key, value);
    answer = {"ok", Map{{"executors", std::move(executors)},
                        {"task_components", std::move(components)},
                        {"config", std::move(merged)},
                        {"warnings", std::move(warnings)}}};
  } catch (const std::exception& e) {
    answer = {"error", user_message(e.what(), path, name)};
  }
  std::string bytes = wire::encode_values(answer);
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  ::_exit(0);
}

PluginCheck failure(std::string message) {
  PluginCheck c;
  c.error = std::move(message);
  return c;
}

PluginCheck parse_answer(const std::string& bytes) {
  Values v = wire::decode_values(bytes);
  if (v.size() != 2 || !v[0].is_string()) throw Error("malformed answer");
  if (v[0].as_string() == "error") {
    if (!v[1].is_string()) throw Error("malformed error answer");
    return failure(v[1].as_string());
  }
  if (v[0].as_string() != "ok" || !v[1].is_map()) throw Error("malformed answer");
  const Map& m = v[1].as_map();
  PluginCheck c;
  c.ok = true;
  for (const Value& e : cluster::get_list(m, "executors")) {
    std::vector<std::int32_t> tasks;
    for (const Value& t : e.as_list()) tasks.push_back(static_cast<std::int32_t>(t.as_int()));
    c.executors.push_back(std::move(tasks));
  }
  for (const Value& s : cluster::get_list(m, "task_components")) {
    c.task_components.push_back(s.as_string());
  }
  c.config = cluster::get_map(m, "config");
  for (const Value& w : cluster::get_list(m, "warnings")) c.warnings.push_back(w.as_string());
  return c;
}

}  // namespace

PluginCheck check_plugin(const std::string& path, const std::string& name, const Map& overrides,
                         std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw Error(std::string("cannot create a pipe for the plugin check: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(std::string("cannot fork the plugin check: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Dies with nimbus: a SIGKILLed nimbus must not leave a check running (a plugin that hangs
    // would hold the state directory's lock, inherited through fork, for ever). The signal
    // comes when the forking thread ends; the daemon's thread outlives every check it runs.
    // Should nimbus have died before prctl, the child is an orphan already: it leaves at once.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(4);
    ::close(fds[0]);
    // The parent blocks SIGINT/SIGTERM for sigtimedwait; the child should die of them normally.
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_UNBLOCK, &all, nullptr);
    child_main(fds[1], path, name, overrides);
  }
  ::close(fds[1]);

  // Both the answer and the child's end are bounded by the deadline: a child that closes the
  // pipe and then hangs is killed too.
  std::string bytes;
  bool timed_out = false;
  const auto deadline = Clock::now() + timeout;
  const auto time_left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  char buffer[65536];
  for (;;) {
    const auto left = time_left();
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd item{fds[0], POLLIN, 0};
    int r = ::poll(&item, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // time-out: the deadline check above ends the loop
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (or error): the child is done writing
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  for (;;) {
    const pid_t done = timed_out ? 0 : ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (timed_out || time_left().count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the child is exiting
  }
  if (timed_out) {
    return failure("plugin check of topology '" + name + "' did not finish within " +
                   std::to_string(timeout.count() / 1000) + " s (" +
                   nimbus::keys::plugin_check_timeout_secs + "); the check was killed");
  }
  if (WIFSIGNALED(status)) {
    return failure("plugin crashed while loading (signal " + std::to_string(WTERMSIG(status)) +
                   ")");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return failure("plugin check exited with status " + std::to_string(WEXITSTATUS(status)) +
                   " while loading the plugin of topology '" + name + "'");
  }
  try {
    return parse_answer(bytes);
  } catch (const std::exception& e) {
    return failure(std::string("plugin check gave a malformed answer: ") + e.what());
  }
}

}  // namespace gale::nimbus
