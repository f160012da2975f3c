#include "cluster/local_cluster.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "cluster/child_process.hpp"

namespace gale::cluster {

namespace {

using namespace std::chrono_literals;

std::string read_cmdline(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

// Every process whose command line mentions `needle` (our temporary directory).
std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == getpid()) continue;
    if (read_cmdline(static_cast<pid_t>(pid)).find(needle) != std::string::npos) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(proc);
  return out;
}

void kill_all_mentioning(const std::string& needle) {
  for (int round = 0; round < 3; ++round) {
    auto pids = processes_mentioning(needle);
    if (pids.empty()) return;
    for (pid_t p : pids) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error(std::string("cannot pick a free port: ") + std::strerror(error));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
}

CommandResult run_program(const std::vector<std::string>& full, std::chrono::milliseconds timeout) {
  int pipe_fds[2];
  // Close-on-exec: a program started concurrently from another thread must not inherit the write
  // end, or this one's output would not end when it exits.
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  ChildOptions child;
  child.stdout_fd = pipe_fds[1];
  child.stderr_fd = pipe_fds[1];
  pid_t pid = -1;
  try {
    pid = spawn_child(full, child);
  } catch (...) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw;
  }
  ::close(pipe_fds[1]);
  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      result.output +=
          "\n[harness: " + full.front() + " did not finish within the timeout; killed]";
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<long>(left, 200))) > 0) {
      ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      result.output.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

LocalCluster::LocalCluster(LocalClusterOptions options)
    : gale_(std::move(options.gale)), config_(std::move(options.config)) {
  char tmpl[] = "/tmp/gale-cluster-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // The reaper outlives a killed owning process and then kills whatever still runs from our dir.
  const pid_t parent = ::getpid();
  reaper_ = ::fork();
  if (reaper_ == 0) {
    ::setsid();
    while (::getppid() == parent) std::this_thread::sleep_for(200ms);
    kill_all_mentioning(dir_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    ::_exit(0);
  }
  config_.try_emplace("nimbus.supervisor.timeout.secs", "3");
  config_.try_emplace("supervisor.worker.timeout.secs", "5");
  nimbus_port_ = free_port();
  start_nimbus();
  for (int i = 0; i < options.supervisors; ++i) {
    std::vector<int> ports;
    for (int s = 0; s < options.slots; ++s) ports.push_back(free_port());
    supervisor_ports_.push_back(ports);
    supervisors_.push_back(-1);
    start_supervisor(i);
  }
}

LocalCluster::~LocalCluster() {
  // Daemons first (SIGKILL: a test must not wait on a clean shutdown), then anything they left.
  if (nimbus_ > 0) ::kill(nimbus_, SIGKILL);
  for (pid_t s : supervisors_) {
    if (s > 0) ::kill(s, SIGKILL);
  }
  kill_all_mentioning(dir_);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (reaper_ > 0) {
    ::kill(reaper_, SIGKILL);
    ::waitpid(reaper_, nullptr, 0);
  }
  if (std::getenv("GALE_KEEP_TEST_DIR") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string LocalCluster::nimbus_address() const {
  return "127.0.0.1:" + std::to_string(nimbus_port_);
}

std::vector<std::string> LocalCluster::config_args() const {
  std::vector<std::string> args;
  for (const auto& [k, v] : config_) {
    args.push_back("-c");
    args.push_back(k + "=" + v);
  }
  return args;
}

pid_t LocalCluster::spawn(const std::vector<std::string>& args, const std::string& log) {
  ChildOptions child;
  child.output = log;
  // The daemons run as an operator runs them: without the test runner's LD_LIBRARY_PATH (meson
  // test points it into the build tree), so a plugin that needs more than libgale fails here as it
  // would on a real cluster, where nimbus and the supervisors keep their own copy of it.
  child.without_ld_library_path = true;
  return spawn_child(args, child);
}

void LocalCluster::start_nimbus() {
  std::vector<std::string> args{gale_,         "nimbus",        "--host",
                                "127.0.0.1",   "--port",        std::to_string(nimbus_port_),
                                "--state-dir", dir_ + "/nimbus"};
  auto extra = config_args();
  args.insert(args.end(), extra.begin(), extra.end());
  nimbus_ = spawn(args, dir_ + "/nimbus.out");
}

void LocalCluster::kill_nimbus() {
  if (nimbus_ > 0) {
    ::kill(nimbus_, SIGKILL);
    ::waitpid(nimbus_, nullptr, 0);
    nimbus_ = -1;
  }
}

void LocalCluster::start_supervisor(int index) {
  std::string ports;
  for (int p : supervisor_ports_[static_cast<std::size_t>(index)]) {
    ports += (ports.empty() ? "" : ",") + std::to_string(p);
  }
  std::string id = "sup" + std::to_string(index);
  std::vector<std::string> args{gale_,    "supervisor", "--nimbus",    nimbus_address(),
                                "--host", "127.0.0.1",  "--ports",     ports,
                                "--id",   id,           "--state-dir", dir_ + "/" + id};
  auto extra = config_args();
  args.insert(args.end(), extra.begin(), extra.end());
  supervisors_[static_cast<std::size_t>(index)] = spawn(args, dir_ + "/" + id + ".out");
}

void LocalCluster::kill_node(int supervisor) {
  pid_t& pid = supervisors_[static_cast<std::size_t>(supervisor)];
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  kill_all_mentioning(dir_ + "/sup" + std::to_string(supervisor) + "/");
}

std::vector<pid_t> LocalCluster::signal_node(int supervisor, int signal) {
  const pid_t pid = supervisors_[static_cast<std::size_t>(supervisor)];
  if (pid > 0) ::kill(pid, signal);
  std::vector<pid_t> workers;
  for (pid_t worker : processes_mentioning(dir_ + "/sup" + std::to_string(supervisor) + "/")) {
    if (worker == pid) continue;
    ::kill(worker, signal);
    workers.push_back(worker);
  }
  return workers;
}

std::vector<std::pair<pid_t, int>> LocalCluster::workers() const {
  std::vector<std::pair<pid_t, int>> out;
  for (pid_t pid : processes_mentioning(dir_)) {
    std::istringstream words(read_cmdline(pid));
    std::vector<std::string> args;
    for (std::string w; words >> w;) args.push_back(w);
    if (args.size() < 2 || args[1] != "worker") continue;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--port") out.emplace_back(pid, std::atoi(args[i + 1].c_str()));
    }
  }
  return out;
}

CommandResult LocalCluster::submit(const std::string& plugin, const std::string& name,
                                   std::vector<std::string> args) {
  std::vector<std::string> full{plugin, "--name", name};
  full.insert(full.end(), args.begin(), args.end());
  CommandResult result;
  eventually(
      [&] {
        result = gale("submit", full, std::chrono::seconds(60));
        // "needs 2 worker slots, 1 is free" / "0 are free": supervisors still registering.
        return result.exit_code == 0 || result.output.find(" free") == std::string::npos;
      },
      std::chrono::seconds(30));
  return result;
}

CommandResult LocalCluster::gale(const std::string& verb, std::vector<std::string> args,
                                 std::chrono::milliseconds timeout) {
  std::vector<std::string> full{gale_, verb, "--nimbus", nimbus_address()};
  full.insert(full.end(), args.begin(), args.end());
  return run_program(full, timeout);
}

}  // namespace gale::cluster
