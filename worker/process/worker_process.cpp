#include "worker/process/worker_process.hpp"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <exception>
#include <fstream>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cluster/assignment_file.hpp"
#include "common/logging.hpp"

namespace gale::worker {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// The supervisor watches the file's modification time; the content (Unix time in ms) is for
// people. Written aside and renamed, so that nobody reads a half-written file.
void touch_heartbeat(const fs::path& path, spdlog::logger& log) {
  const auto now_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << now_ms << "\n";
    if (!out) {
      log.warn("cannot write {}", tmp.string());
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) log.warn("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
}

milliseconds heartbeat_period_of(const Config& config) {
  const double secs = config.get_double(keys::heartbeat_frequency_secs, 1.0);
  return milliseconds(static_cast<std::int64_t>(std::clamp(secs, 0.05, 60.0) * 1000));
}

std::int64_t micros(double ms) { return static_cast<std::int64_t>(ms * 1000.0 + 0.5); }

std::string join(const std::vector<std::int32_t>& tasks) {
  std::string list;
  for (std::int32_t t : tasks) list += (list.empty() ? "" : ",") + std::to_string(t);
  return list;
}

}  // namespace

WorkerProcess::WorkerProcess(WorkerProcessOptions options, cluster::RpcCall nimbus,
                             const common::Clock& clock, SlotRuntimeFactory open_slot)
    : options_(std::move(options)),
      nimbus_(std::move(nimbus)),
      clock_(clock),
      open_slot_(std::move(open_slot)),
      log_(options_.logger ? options_.logger
                           : common::make_logger("worker-" + std::to_string(options_.port),
                                                 (options_.dir / "worker.log").string())) {}

WorkerProcess::~WorkerProcess() {
  try {
    stop();
  } catch (const std::exception& e) {
    log_->error("stopping the worker failed: {}", e.what());
  }
}

const cluster::WorkerAssignment* WorkerProcess::find_slot(
    const cluster::Assignment& assignment) const {
  // By supervisor and port (the supervisor's id is stable, its host name might be spelled
  // differently), else by host and port.
  for (const auto& w : assignment.workers) {
    if (w.supervisor == options_.supervisor && w.port == options_.port) return &w;
  }
  return assignment.slot(options_.host, options_.port);
}

void WorkerProcess::start() {
  assert(state_ == State::created && runtime_ == nullptr);
  started_ns_ = clock_.now_ns();
  cluster::AssignmentFile file = cluster::read_assignment_file(options_.dir / "assignment.msgpack");
  const cluster::WorkerAssignment* slot = find_slot(file.assignment);
  if (slot == nullptr || slot->tasks.empty()) {
    throw Error("slot " + options_.supervisor + " " + options_.host + ":" +
                std::to_string(options_.port) + " has no tasks in assignment version " +
                std::to_string(file.assignment.version) + " of topology " +
                file.assignment.topology_id);
  }

  SlotSpec spec;
  spec.plugin_path = options_.plugin;
  spec.config = file.config;
  spec.assignment = file.assignment;
  spec.tasks = slot->tasks;
  spec.tenure = slot->since;
  spec.host = options_.host;
  spec.port = options_.port;
  spec.name = "worker-" + std::to_string(options_.port);
  spec.log_file = (options_.dir / "worker.log").string();
  spec.logger = log_;
  std::unique_ptr<SlotRuntime> runtime = open_slot_(spec);
  heartbeat_period_ = heartbeat_period_of(runtime->config());
  restart_stuck_ = runtime->config().get_string(gale::keys::topology_executor_stuck_policy,
                                                "restart") == "restart";
  runtime->start();  // spouts start active

  runtime_ = std::move(runtime);
  tasks_ = std::move(spec.tasks);
  assignment_ = std::move(file.assignment);
  state_ = State::running;
  status_ = "active";
  follow_status(file.status);
  log_->info("worker for topology {} (assignment version {}) runs tasks {} on {}",
             assignment_.topology_id, assignment_.version, join(tasks_), runtime_->endpoint());
  next_heartbeat_ns_ = clock_.now_ns();
}

bool WorkerProcess::tick() {
  if (state_ != State::running) return false;
  if (clock_.now_ns() >= next_heartbeat_ns_) {
    stuck_ = runtime_->check_progress();
    heartbeat();
    if (restart_stuck_ && !stuck_.empty() && state_ == State::running) {
      const StuckExecutor& s = stuck_.front();
      stuck_reason_ = "executor of " + s.kind + " '" + s.component + "' (" +
                      (s.tasks.size() == 1 ? "task " : "tasks ") + join(s.tasks) + ") stuck for " +
                      std::to_string(s.secs) + " s inside " + s.inside;
      log_->error("{}; exiting for a restart (topology.executor.stuck.policy = restart)",
                  stuck_reason_);
      end(StopReason::stuck);
    }
    next_heartbeat_ns_ += std::chrono::nanoseconds(heartbeat_period_).count();
    // A slow call must not cause a burst of heartbeats to catch up.
    next_heartbeat_ns_ = std::max(next_heartbeat_ns_, clock_.now_ns());
  } else if (peer_runs_newer()) {
    heartbeat();  // early; the regular ones keep their schedule
  }
  return state_ == State::running;
}

std::chrono::nanoseconds WorkerProcess::until_next_heartbeat() const {
  return std::chrono::nanoseconds(std::max<std::int64_t>(next_heartbeat_ns_ - clock_.now_ns(), 0));
}

void WorkerProcess::run(const std::function<bool(std::chrono::nanoseconds)>& wait_for_stop) {
  while (tick()) {
    if (wait_for_stop(std::min<std::chrono::nanoseconds>(until_next_heartbeat(),
                                                         options_.peer_version_check))) {
      // Asked to stop (SIGTERM) with a heartbeat due, e.g. a process that was frozen while its
      // supervisor was declared dead, and stopped by that supervisor as soon as both resumed: the
      // heartbeat goes first, so that a superseded worker fences its spouts instead of acking
      // beside its replacement during the drain. At most one RPC timeout more when nimbus is down.
      if (until_next_heartbeat().count() == 0) (void)tick();
      return;
    }
  }
}

bool WorkerProcess::peer_runs_newer() {
  const std::int64_t peer = runtime_->newest_peer_version();
  if (peer <= assignment_.version || peer <= early_heartbeat_for_) return false;
  // Once per version: while nimbus does not answer, or has not stored that version for this
  // worker's reply yet, the regular heartbeats go on.
  early_heartbeat_for_ = peer;
  log_->info("a peer runs assignment version {} (this worker runs {}): heartbeating now", peer,
             assignment_.version);
  return true;
}

void WorkerProcess::heartbeat() {
  runtime_->heartbeat_started();
  // After follow_reply: a superseded worker has fenced its spouts by now. A heartbeat nimbus did
  // not answer (or answered with an error) confirms nothing: a worker holding after a stall keeps
  // holding, up to its cap, rather than act on what queued up while a slow nimbus may already
  // have moved its tasks.
  if (heartbeat_exchange()) runtime_->heartbeat_confirmed();
}

bool WorkerProcess::heartbeat_exchange() {
  touch_heartbeat(options_.dir / "heartbeat", *log_);
  std::optional<cluster::Reply> reply;
  try {
    reply = nimbus_("worker_heartbeat", heartbeat_body());
  } catch (const std::exception& e) {
    log_->warn("nimbus sent a malformed reply: {}", e.what());
  }
  if (!reply) {
    if (nimbus_reachable_) log_->warn("nimbus {} does not answer; running on", options_.nimbus);
    nimbus_reachable_ = false;
    return false;
  }
  if (!reply->ok) {
    if (reply->error.rfind("unknown topology", 0) == 0) {
      log_->info("nimbus does not know topology {} any more: stopping", assignment_.topology_id);
      end(StopReason::topology_gone);
      return true;
    }
    if (reply->error != last_nimbus_error_) log_->warn("nimbus: {}", reply->error);
    last_nimbus_error_ = reply->error;
    return false;
  }
  if (!nimbus_reachable_) log_->info("nimbus {} answers again", options_.nimbus);
  nimbus_reachable_ = true;
  last_nimbus_error_.clear();
  try {
    follow_reply(reply->body);
  } catch (const cluster::ProtocolError& e) {
    log_->warn("nimbus sent a malformed heartbeat reply: {}", e.what());
    return false;
  }
  return true;
}

void WorkerProcess::follow_reply(const Map& body) {
  const std::string status = cluster::get_string(body, "status");
  (void)cluster::status_from_name(status);
  cluster::Assignment newer = cluster::Assignment::from_map(cluster::get_map(body, "assignment"));
  // Storm's kill order: the spouts stop now and the worker goes on processing what is in flight
  // until nimbus drops the topology after the kill's wait ("unknown topology") or the supervisor
  // stops the worker.
  follow_status(status == "killed" ? "inactive" : status);
  if (newer.topology_id != assignment_.topology_id || newer.version <= assignment_.version) return;
  const cluster::WorkerAssignment* mine = find_slot(newer);
  if (mine == nullptr || mine->tasks != tasks_) {
    // Before anything else: the spout tasks may already run in another worker, and every
    // ack()/fail() here would duplicate what that one does (docs/cluster.md, "Fencing").
    runtime_->fence_spouts();
    log_->info(
        "assignment version {} changes this slot's tasks: spouts fenced, exiting for a "
        "restart",
        newer.version);
    end(StopReason::reassigned);
    return;
  }
  runtime_->set_routes(newer);
  log_->info("assignment version {}: peers updated", newer.version);
  assignment_ = std::move(newer);
}

void WorkerProcess::follow_status(const std::string& status) {
  if (status == status_) return;
  // Storm deactivates spouts while a topology rebalances too.
  if (status == "active") {
    runtime_->activate();
  } else {
    runtime_->deactivate();
  }
  log_->info("topology status {} -> {}", status_, status);
  status_ = status;
}

void WorkerProcess::end(StopReason reason) {
  if (!reason_) reason_ = reason;
  if (state_ == State::running) state_ = State::ended;
}

void WorkerProcess::stop() {
  if (state_ == State::created || state_ == State::stopped) return;
  end(StopReason::requested);
  state_ = State::stopped;
  // A thread inside user code can neither be stopped nor joined: the owner exits instead.
  if (*reason_ == StopReason::stuck) return;
  const milliseconds drain =
      *reason_ == StopReason::reassigned ? options_.drain_on_reassign : options_.drain_on_stop;
  runtime_->stop(drain, options_.transport_flush);
}

Map WorkerProcess::heartbeat_body() {
  // Where the worker runs, and per component its counters, its rates over the last interval and
  // (spouts with acking on) the complete latency since the worker started: what nimbus stores
  // and `gale status` shows.
  Map stats;
  std::string last_error;
  const std::int64_t now_ns = clock_.now_ns();
  for (const ComponentStats& c : runtime_->stats().components) {
    Map s{{"kind", c.is_spout   ? "spout"
                   : c.is_acker ? "acker"
                                : "bolt"},
          {"tasks", static_cast<std::int64_t>(c.tasks)},
          {"emitted", static_cast<std::int64_t>(c.emitted)},
          {"transferred", static_cast<std::int64_t>(c.transferred)},
          {"acked", static_cast<std::int64_t>(c.acked)},
          {"failed", static_cast<std::int64_t>(c.failed)},
          {"executed", static_cast<std::int64_t>(c.executed)},
          {"errors", static_cast<std::int64_t>(c.errors)},
          {"emitted_per_s", rates_.rate(c.component + "/emitted", c.emitted, now_ns)},
          {"executed_per_s", rates_.rate(c.component + "/executed", c.executed, now_ns)}};
    if (c.complete_latency.count > 0) {
      s.emplace("latency_count", static_cast<std::int64_t>(c.complete_latency.count));
      s.emplace("latency_p50_us", micros(c.complete_latency.p50_ms));
      s.emplace("latency_p99_us", micros(c.complete_latency.p99_ms));
    }
    List stuck;
    for (const StuckExecutor& e : stuck_) {
      if (e.component != c.component) continue;
      stuck.emplace_back(Map{{"tasks", List(e.tasks.begin(), e.tasks.end())},
                             {"secs", e.secs},
                             {"queued", static_cast<std::int64_t>(e.queued)},
                             {"inside", e.inside}});
    }
    if (!stuck.empty()) s.emplace("stuck", Value(std::move(stuck)));
    stats.emplace(c.component, Value(std::move(s)));
    if (!c.last_error.empty()) last_error = c.component + ": " + c.last_error;
  }
  const std::int64_t uptime_secs = (now_ns - started_ns_) / 1'000'000'000;
  return Map{{"topology_id", assignment_.topology_id},
             {"supervisor", options_.supervisor},
             {"host", options_.host},
             {"port", static_cast<std::int64_t>(options_.port)},
             {"version", assignment_.version},
             // With the uptime, tells nimbus a restarted worker from the one before it.
             {"pid", static_cast<std::int64_t>(::getpid())},
             {"uptime_secs", uptime_secs},
             {"stats", Value(std::move(stats))},
             {"last_error", last_error}};
}

}  // namespace gale::worker
