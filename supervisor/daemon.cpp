#include "supervisor/daemon.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <system_error>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <gale/errors.hpp>

#include "cluster/rpc.hpp"
#include "common/logging.hpp"

namespace gale::supervisor {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds k_round_period{100};  // between rounds of heartbeat and supervise()
constexpr milliseconds k_drain_period{50};   // between rounds while the workers stop

std::string slot_list(const std::vector<std::int64_t>& ports) {
  std::string text;
  for (auto p : ports) text += (text.empty() ? "" : ",") + std::to_string(p);
  return text;
}

// The command line of a process, or empty when it is gone.
std::vector<std::string> command_line(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  return args;
}

// Gone or a zombie (its new parent has not reaped it yet): either way it holds no port.
bool process_ended(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;
  const std::size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
}

// The per-worker cgroups under `mount` (CgroupTree), or null for RLIMIT_AS; one line says which,
// and why, so that the path in use is told from the supervisor's log.
std::unique_ptr<CgroupTree> memory_cgroups(const fs::path& mount, spdlog::logger& log) {
  CgroupTreeOptions options;
  options.mount = mount;
  CgroupTree::SetUp set_up = CgroupTree::set_up(options);
  if (set_up.tree) {
    log.info("memory limits: cgroup v2 memory.max in {}/worker-<port>",
             set_up.tree->workers_dir().string());
  } else {
    log.info("memory limits: RLIMIT_AS ({})", set_up.reason);
  }
  return std::move(set_up.tree);
}

}  // namespace

Daemon::Daemon(SupervisorOptions options, RpcCall rpc, ProcessLauncher& launcher,
               const common::Clock& clock)
    : options_(std::move(options)), rpc_(std::move(rpc)), launcher_(launcher), clock_(clock) {}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::created) {
      if (logger_) logger_->critical("supervisor daemon started twice");
      std::abort();
    }
  }
  // Nothing in the state directory is read or changed before it is ours: a second supervisor on
  // it refuses to start instead of killing the first one's workers as left-overs.
  common::StateLock state_lock = common::StateLock::acquire(options_.state_dir, "supervisor");
  logger_ = common::make_logger("supervisor", options_.log_file);
  if (options_.id.empty()) options_.id = stable_id(std::nullopt, options_.state_dir);
  kill_leftover_workers(options_.state_dir, options_.ports, *logger_);
  supervisor_ = std::make_unique<Supervisor>(options_, rpc_, launcher_, clock_, logger_,
                                             memory_cgroups(options_.cgroup_mount, *logger_));
  lock_.emplace(std::move(state_lock));
  logger_->info("supervisor {} offers {} slots on {} (ports {}) to nimbus at {}; state in {}",
                options_.id, options_.ports.size(), options_.host, slot_list(options_.ports),
                options_.nimbus, options_.state_dir.string());
  {
    std::lock_guard lock(mutex_);
    state_ = State::running;
  }
  thread_ = std::thread([this] { run(); });
}

void Daemon::run() {
  std::unique_lock lock(mutex_);
  while (state_ == State::running) {
    lock.unlock();
    if (supervisor_->heartbeat_due()) supervisor_->heartbeat();
    supervisor_->supervise();
    lock.lock();
    changed_.wait_for(lock, k_round_period, [this] { return state_ != State::running; });
  }
  lock.unlock();
  drain();
}

void Daemon::drain() {
  supervisor_->begin_shutdown();
  // Bounded: SIGKILL goes out after the grace period, and a killed process is reaped at once.
  const auto give_up =
      std::chrono::steady_clock::now() + options_.kill_grace + std::chrono::seconds(5);
  bool killed = false;
  for (;;) {
    supervisor_->supervise();
    if (supervisor_->stopped()) return;
    if (std::chrono::steady_clock::now() >= give_up) {
      logger_->error("supervisor {}: some workers did not stop", options_.id);
      return;
    }
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, k_drain_period, [&] { return state_ == State::killing && !killed; });
    if (state_ == State::killing && !killed) {
      lock.unlock();
      supervisor_->kill_all();
      killed = true;
    }
  }
}

void Daemon::stop() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::running) return;
    state_ = State::stopping;
  }
  changed_.notify_all();
  logger_->info("supervisor {} stopping its workers", options_.id);
  thread_.join();
  supervisor_.reset();
  {
    std::lock_guard lock(mutex_);
    state_ = State::stopped;
  }
  lock_.reset();
  logger_->info("supervisor {} stopped", options_.id);
}

void Daemon::kill_workers() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::stopping) return;
    state_ = State::killing;
  }
  changed_.notify_all();
}

RpcCall nimbus_rpc(const std::string& address) {
  struct Clients {
    explicit Clients(const std::string& endpoint)
        : heartbeats(context, endpoint, milliseconds(2000)),
          fetches(context, endpoint, milliseconds(15000)) {}
    zmq::context_t context{1};
    cluster::RpcClient heartbeats;
    cluster::RpcClient fetches;
  };
  auto clients = std::make_shared<Clients>(cluster::tcp_endpoint(address));
  return [clients](std::string_view verb, const Map& body) {
    return verb == "fetch_plugin" ? clients->fetches.call(verb, body)
                                  : clients->heartbeats.call(verb, body);
  };
}

std::string stable_id(const std::optional<std::string>& given, const fs::path& state_dir) {
  if (given) return *given;
  const fs::path file = state_dir / "supervisor.id";
  std::string id;
  if (std::ifstream in(file); in && std::getline(in, id) && is_safe_topology_id(id)) return id;
  char host[HOST_NAME_MAX + 1] = {};
  gethostname(host, sizeof host - 1);
  std::string base;
  for (char c : std::string(host)) base += is_safe_topology_id(std::string(1, c)) ? c : '-';
  if (base.empty() || base.front() == '.') base = "supervisor" + base;
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
  id = base + "-" + suffix;
  std::ofstream(file, std::ios::trunc) << id << "\n";
  return id;
}

int kill_leftover_workers(const fs::path& state_dir, const std::vector<std::int64_t>& ports,
                          spdlog::logger& log) {
  std::vector<int> killed;
  for (std::int64_t port : ports) {
    const fs::path dir = state_dir / "workers" / std::to_string(port);
    int pid = 0;
    if (!(std::ifstream(dir / "worker.pid") >> pid) || pid <= 1) continue;
    const std::vector<std::string> args = command_line(pid);
    const bool ours = args.size() > 1 && args[1] == "worker" &&
                      std::find(args.begin(), args.end(), dir.string()) != args.end();
    if (ours && !process_ended(pid)) {
      log.warn("port {}: killing worker pid {} left over from an earlier run", port, pid);
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      killed.push_back(pid);
    }
    std::error_code ec;
    fs::remove(dir / "worker.pid", ec);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < give_up &&
         !std::all_of(killed.begin(), killed.end(), process_ended)) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  return static_cast<int>(killed.size());
}

}  // namespace gale::supervisor
