#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "cluster/assignment_file.hpp"
#include "common/logging.hpp"

namespace gale::supervisor {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t k_ns_per_ms = 1'000'000;
constexpr int k_exit_reassigned = 3;  // a worker whose tasks changed asks to be restarted
// A worker with a stuck executor under topology.executor.stuck.policy = restart; its last log
// line is "exiting with status 5: <what got stuck>". A crash: restarted with backoff.
constexpr int k_exit_stuck = 5;
constexpr std::string_view k_stuck_line = "exiting with status 5: ";
// A worker out of memory (worker/out_of_memory.hpp; the supervisor does not include the runtime).
constexpr int worker_exit_out_of_memory = 6;
constexpr const char* k_killed = "killed";

// "topology/version/status": what tells one assignment file from another (Slot::written).
std::string assignment_stamp(const std::string& topology_id, std::int64_t version,
                             const std::string& status) {
  return topology_id + "/" + std::to_string(version) + "/" + status;
}
// Bytes read from the end of worker.log when looking for its last error line.
constexpr std::size_t k_log_tail = 64 * 1024;
constexpr std::size_t k_max_error_line = 500;

std::int64_t ns(milliseconds ms) { return ms.count() * k_ns_per_ms; }

milliseconds seconds_key(const Config& config, const char* key, milliseconds fallback) {
  const double secs = config.get_double(key, static_cast<double>(fallback.count()) / 1000.0);
  if (!(secs > 0 && secs < 1e7)) {
    throw ConfigError(std::string(key) + " must be a positive number of seconds (got " +
                      std::to_string(secs) + ")");
  }
  return milliseconds(static_cast<std::int64_t>(std::llround(secs * 1000)));
}

// The last line of worker.log logged at level error or critical ("2026-01-02 03:04:05.678 error
// [name] text", the pattern of common::make_logger), or empty.
// Only lines from byte `offset` on count (the log of earlier topologies on the slot does not),
// unless the file is now shorter than that (it was truncated).
std::string last_error_line(const fs::path& log, std::int64_t offset) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  std::streamoff from = size > static_cast<std::streamoff>(k_log_tail)
                            ? size - static_cast<std::streamoff>(k_log_tail)
                            : 0;
  if (offset <= size) from = std::max<std::streamoff>(from, offset);
  in.seekg(from);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t end = tail.size();
  while (end > 0) {
    std::size_t begin = tail.rfind('\n', end - 1);
    begin = begin == std::string::npos ? 0 : begin + 1;
    std::string_view line(tail.data() + begin, end - begin);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    // Third word: the level.
    const std::size_t s1 = line.find(' ');
    const std::size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 != std::string_view::npos) {
      const std::string_view rest = line.substr(s2 + 1);
      if (rest.starts_with("error ") || rest.starts_with("critical ")) {
        return std::string(line.substr(0, k_max_error_line));
      }
    }
    if (begin == 0) break;
    end = begin - 1;
  }
  return "";
}

std::string local_time_text() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buffer;
}

}  // namespace

void SupervisorOptions::apply(const Config& config) {
  heartbeat_period = seconds_key(config, keys::heartbeat_frequency_secs, heartbeat_period);
  worker_timeout = seconds_key(config, keys::worker_timeout_secs, worker_timeout);
  worker_start_timeout = seconds_key(config, keys::worker_start_timeout_secs, worker_start_timeout);
  kill_grace = seconds_key(config, keys::worker_shutdown_secs, kill_grace);
}

// What nimbus wants to run on one slot.
struct Supervisor::Wanted {
  std::string topology_id;
  std::int64_t version = 0;
  cluster::Assignment assignment;
  Config config;
  std::string status;
  std::int64_t plugin_size = 0;
  std::string plugin_checksum;
  bool plugin_ready = false;
};

// One slot: what nimbus wants there and the worker process that runs there.
struct Supervisor::Slot {
  enum class Stop { none, unassigned, stale, shutdown };

  std::int64_t port = 0;
  std::optional<Wanted> wanted;

  // The worker process (pid 0: none), and the topology and assignment version it was started with
  // (kept after it ended, for the reports).
  int pid = 0;
  std::string topology_id;
  std::int64_t version = 0;
  std::int64_t started_ns = 0;
  Stop stop = Stop::none;
  std::int64_t stop_sent_ns = 0;
  bool kill_sent = false;

  // Heartbeat file: its last modification time seen, when that changed last, and whether it
  // changed at all since the worker started.
  std::optional<fs::file_time_type> heartbeat_mtime;
  std::int64_t heartbeat_ns = 0;
  bool heartbeat_seen = false;

  // Restarts of the current topology.
  std::int64_t restarts = 0;
  int starts = 0;
  int crashes_in_a_row = 0;
  std::string last_exit;
  std::int64_t next_start_ns = 0;
  // After an exit 3: wait for an assignment newer than this version (or until wait_until_ns).
  std::int64_t wait_newer_than = -1;
  std::int64_t wait_until_ns = 0;
  // Exited 0 while its topology is killed: not started again for this assignment.
  bool done = false;
  // "topology/version/status" of the assignment file last written.
  std::string written;
  std::string last_problem;          // the last start problem logged, so that it is logged once
  std::int64_t log_offset = 0;       // where the current topology's part of worker.log begins
  std::int64_t run_log_offset = 0;   // where the current worker's part of worker.log begins
  std::int64_t memory_limit_mb = 0;  // the current worker's, 0: none
  bool limit_warned = false;         // that the limit is not enforced in this build
  // The current worker runs in the slot's cgroup, which had seen oom_kills_before OOM kills.
  bool in_cgroup = false;
  std::int64_t oom_kills_before = 0;
};

Supervisor::Supervisor(SupervisorOptions options, RpcCall rpc, ProcessLauncher& launcher,
                       const common::Clock& clock, std::shared_ptr<spdlog::logger> logger,
                       std::unique_ptr<CgroupTree> cgroups)
    : options_(std::move(options)),
      rpc_(std::move(rpc)),
      launcher_(launcher),
      clock_(clock),
      log_(logger ? std::move(logger) : common::make_logger("supervisor", options_.log_file)),
      cgroups_(std::move(cgroups)),
      plugins_(options_.state_dir / "plugins", log_) {
  for (std::int64_t port : options_.ports) {
    auto slot = std::make_unique<Slot>();
    slot->port = port;
    slots_.emplace(port, std::move(slot));
  }
}

Supervisor::~Supervisor() {
  if (!cgroups_) return;
  for (const std::string& problem : cgroups_->remove_all()) log_->warn("{}", problem);
}

fs::path Supervisor::worker_dir(std::int64_t port) const {
  return options_.state_dir / "workers" / std::to_string(port);
}

bool Supervisor::heartbeat_due() const {
  return heartbeat_wanted_ || now_ns() - last_heartbeat_ns_ >= ns(options_.heartbeat_period);
}

bool Supervisor::heartbeat() {
  last_heartbeat_ns_ = now_ns();
  heartbeat_wanted_ = false;
  std::optional<cluster::Reply> reply;
  try {
    reply = rpc_("supervisor_heartbeat", heartbeat_body());
  } catch (const std::exception& e) {
    log_->error("heartbeat: malformed reply from nimbus at {}: {}", options_.nimbus, e.what());
    return false;
  }
  if (!reply) {
    if (nimbus_reachable_) {
      log_->warn("nimbus at {} did not answer; workers keep running on the last assignments",
                 options_.nimbus);
    }
    nimbus_reachable_ = false;
    return false;
  }
  if (!nimbus_reachable_) log_->info("nimbus at {} answers again", options_.nimbus);
  nimbus_reachable_ = true;
  if (!reply->ok) {
    log_->error("heartbeat: nimbus at {} replied: {}", options_.nimbus, reply->error);
    return false;
  }
  try {
    apply_assignments(cluster::get_list(reply->body, "assignments"));
  } catch (const std::exception& e) {
    log_->error("heartbeat: bad assignments from nimbus at {}: {}", options_.nimbus, e.what());
    return false;
  }
  return true;
}

void Supervisor::apply_assignments(const List& assignments) {
  // Parse everything first, so that a malformed reply changes nothing.
  std::map<std::int64_t, Wanted> wanted;
  for (const Value& item : assignments) {
    if (!item.is_map()) {
      throw cluster::ProtocolError(std::string("assignments: expected map, got ") +
                                   type_name(item.type()));
    }
    const Map& m = item.as_map();
    Wanted w;
    const std::int64_t port = cluster::get_int(m, "port");
    w.topology_id = cluster::get_string(m, "topology_id");
    if (m.count("keep") && cluster::get_bool(m, "keep")) {
      // Nimbus lost this topology's record: keep what runs here as it is (nothing when the slot
      // runs something else).
      if (!slots_.count(port)) continue;
      const Slot& slot = *slots_.at(port);
      if (slot.wanted && slot.wanted->topology_id == w.topology_id) wanted[port] = *slot.wanted;
      continue;
    }
    w.version = cluster::get_int(m, "version");
    w.assignment = cluster::Assignment::from_map(cluster::get_map(m, "assignment"));
    w.config = cluster::config_from_map(cluster::get_map(m, "config"));
    w.status = cluster::get_string(m, "status");
    cluster::status_from_name(w.status);  // validates
    w.plugin_size = cluster::get_int(m, "plugin_size");
    w.plugin_checksum = cluster::get_string(m, "plugin_checksum");
    if (!is_safe_topology_id(w.topology_id)) {
      throw cluster::ProtocolError("topology id '" + w.topology_id +
                                   "' is not usable as a file name");
    }
    if (!slots_.count(port)) {
      log_->warn("nimbus assigned port {} to topology {}, which is not a slot of this supervisor",
                 port, w.topology_id);
      continue;
    }
    wanted[port] = std::move(w);
  }

  std::set<std::string> keep;
  for (auto& [port, slot_ptr] : slots_) {
    Slot& slot = *slot_ptr;
    auto it = wanted.find(port);
    std::optional<Wanted> next;
    if (it != wanted.end()) next = std::move(it->second);
    if (next) {
      const bool same_topology = slot.wanted ? slot.wanted->topology_id == next->topology_id
                                             : slot.topology_id == next->topology_id;
      if (!same_topology) {
        log_->info("port {}: assigned to topology {} (version {})", port, next->topology_id,
                   next->version);
        slot.restarts = 0;
        slot.crashes_in_a_row = 0;
        slot.last_exit.clear();
        slot.next_start_ns = 0;
        slot.wait_newer_than = -1;
        slot.done = false;
        slot.starts = 0;
        slot.last_problem.clear();
        std::error_code ec;
        const auto size = fs::file_size(worker_dir(port) / "worker.log", ec);
        slot.log_offset = ec ? 0 : static_cast<std::int64_t>(size);
      } else if (slot.wanted && slot.wanted->version != next->version) {
        slot.done = false;
      }
      if (next->status != k_killed) {
        if (auto error = plugins_.ensure(next->topology_id, next->plugin_size,
                                         next->plugin_checksum, rpc_)) {
          // Into worker.log once, so that `gale status` shows why no worker starts.
          if (slot.last_problem != *error) note_error(slot, *error);
          slot.last_problem = *error;
          next->plugin_ready = false;
        } else {
          slot.last_problem.clear();
          next->plugin_ready = true;
        }
      }
      keep.insert(next->topology_id);
    } else if (slot.wanted) {
      log_->info("port {}: no longer assigned (was topology {})", port, slot.wanted->topology_id);
    }
    slot.wanted = std::move(next);
    if (slot.pid != 0) keep.insert(slot.topology_id);
    // A running worker of the same topology keeps running; its file follows the assignment so
    // that a restart reads the current one.
    if (slot.pid != 0 && slot.wanted && slot.wanted->topology_id == slot.topology_id) {
      write_assignment(slot);
    }
  }
  plugins_.remove_except(keep);
}

void Supervisor::write_assignment(Slot& slot) {
  const Wanted& w = *slot.wanted;
  const std::string stamp = assignment_stamp(w.topology_id, w.version, w.status);
  if (slot.written == stamp) return;
  const fs::path dir = worker_dir(slot.port);
  std::error_code ec;
  fs::create_directories(dir, ec);
  cluster::write_assignment_file(dir / "assignment.msgpack", w.assignment, w.config, w.status);
  slot.written = stamp;
}

void Supervisor::check_assignment_file(Slot& slot) {
  if (slot.written.empty()) return;  // not written yet: written afresh anyway
  const fs::path file = worker_dir(slot.port) / "assignment.msgpack";
  std::string problem;
  try {
    // Compared with what this supervisor wrote last, not with what it wants now: a slot that
    // moves on to another topology or version still holds the previous file until the write.
    const cluster::AssignmentFile found = cluster::read_assignment_file(file);
    if (assignment_stamp(found.assignment.topology_id, found.assignment.version, found.status) !=
        slot.written) {
      problem = "it holds topology " + found.assignment.topology_id + " version " +
                std::to_string(found.assignment.version) + " (" + found.status + ")";
    }
  } catch (const std::exception& e) {
    problem = e.what();
  }
  if (problem.empty()) return;
  // An error of the slot, shown by `gale status`: something damages the files of this node.
  note_error(slot, file.string() + " is damaged (" + problem + "): writing it again");
  slot.written.clear();
}

void Supervisor::note_error(const Slot& slot, const std::string& text) const {
  log_->error("port {}: {}", slot.port, text);
  // Into the worker's log too: its last error line is what `gale status` shows for the slot.
  const fs::path dir = worker_dir(slot.port);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream out(dir / "worker.log", std::ios::app);
  out << local_time_text() << " error [supervisor] " << text << "\n";
}

void Supervisor::start_worker(Slot& slot) {
  const Wanted& w = *slot.wanted;
  const fs::path dir = worker_dir(slot.port);
  const auto backoff_after_failure = [&] {
    ++slot.crashes_in_a_row;
    // Never in a tight loop: a start that failed will most likely fail again at once.
    const milliseconds delay = std::max(milliseconds(1000), backoff(slot.crashes_in_a_row));
    slot.next_start_ns = now_ns() + ns(delay);
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  // What the worker reads is verified first: a damaged plugin or assignment file is fetched or
  // written again, never handed to a worker that would crash on it in a loop.
  if (auto error = plugins_.ensure(w.topology_id, w.plugin_size, w.plugin_checksum, rpc_)) {
    note_error(slot, *error);
    backoff_after_failure();
    return;
  }
  check_assignment_file(slot);
  try {
    write_assignment(slot);
  } catch (const std::exception& e) {
    note_error(slot, "cannot write " + (dir / "assignment.msgpack").string() + ": " + e.what());
    backoff_after_failure();
    return;
  }
  LaunchSpec spec;
  spec.program = options_.executable;
  spec.args = {"worker",
               "--nimbus",
               options_.nimbus,
               "--supervisor",
               options_.id,
               "--host",
               options_.host,
               "--port",
               std::to_string(slot.port),
               "--dir",
               dir.string(),
               "--plugin",
               plugins_.path_of(w.topology_id).string()};
  spec.output_path = (dir / "worker.out").string();
  try {
    spec.memory_limit_mb = w.config.get_int(gale::keys::topology_worker_memory_limit_mb, 0);
  } catch (const ConfigError& e) {
    note_error(slot, e.what());  // not an integer: no worker starts on a limit it cannot apply
    backoff_after_failure();
    return;
  }
  limit_in_cgroup(slot, spec);
  if (spec.memory_limit_mb > 0 && spec.cgroup_dir.empty() && !memory_limit_supported() &&
      !slot.limit_warned) {
    log_->warn("port {}: {} = {} is not enforced: this build runs under a sanitizer",
               slot.port, gale::keys::topology_worker_memory_limit_mb, spec.memory_limit_mb);
    slot.limit_warned = true;
  }
  const LaunchResult launched = launcher_.launch(spec);
  if (launched.pid <= 0) {
    note_error(slot, launched.error);
    backoff_after_failure();
    return;
  }
  slot.pid = launched.pid;
  slot.memory_limit_mb = spec.memory_limit_mb;
  slot.in_cgroup = !spec.cgroup_dir.empty();
  slot.topology_id = w.topology_id;
  slot.version = w.version;
  slot.started_ns = now_ns();
  slot.stop = Slot::Stop::none;
  slot.kill_sent = false;
  slot.wait_newer_than = -1;
  ++slot.starts;
  // A heartbeat file left by the previous worker does not count: only a change does.
  const auto mtime = fs::last_write_time(dir / "heartbeat", ec);
  slot.heartbeat_mtime = ec ? std::nullopt : std::optional(mtime);
  slot.heartbeat_ns = slot.started_ns;
  slot.heartbeat_seen = false;
  const auto log_size = fs::file_size(dir / "worker.log", ec);
  slot.run_log_offset = ec ? 0 : static_cast<std::int64_t>(log_size);
  std::ofstream(dir / "worker.pid", std::ios::trunc) << slot.pid << "\n";
  log_->info("port {}: started worker pid {} for topology {} (version {})", slot.port, slot.pid,
             w.topology_id, w.version);
}

void Supervisor::limit_in_cgroup(Slot& slot, LaunchSpec& spec) {
  if (!cgroups_ || spec.memory_limit_mb <= 0) return;
  if (auto problem = cgroups_->prepare(slot.port, spec.memory_limit_mb)) {
    log_->warn("port {}: {}; limiting the worker with RLIMIT_AS instead", slot.port, *problem);
    return;
  }
  spec.cgroup_dir = cgroups_->slot_dir(slot.port).string();
  // The cgroup may be an earlier worker's that could not be removed: only new kills count.
  slot.oom_kills_before = cgroups_->oom_kills(slot.port).value_or(0);
}

bool Supervisor::killed_out_of_memory(Slot& slot) {
  if (!slot.in_cgroup) return false;
  slot.in_cgroup = false;
  const std::optional<std::int64_t> kills = cgroups_->oom_kills(slot.port);
  if (!kills) {
    log_->warn("port {}: cannot read {}: whether the OOM killer ended the worker is unknown",
               slot.port, (cgroups_->slot_dir(slot.port) / "memory.events").string());
  }
  if (auto problem = cgroups_->remove(slot.port)) log_->warn("port {}: {}", slot.port, *problem);
  return kills && *kills > slot.oom_kills_before;
}

milliseconds Supervisor::backoff(int crashes_in_a_row) const {
  // None after the first crash (a killed worker should be back at once), then 1 s, 2 s, 4 s ...
  if (crashes_in_a_row <= 1) return milliseconds(0);
  return std::min(options_.max_backoff,
                  milliseconds(1000) * (std::int64_t{1} << std::min(crashes_in_a_row - 2, 20)));
}

void Supervisor::stop_worker(Slot& slot, const char* why) {
  log_->info("port {}: stopping worker pid {} ({})", slot.port, slot.pid, why);
  launcher_.signal(slot.pid, SIGTERM);
  slot.stop_sent_ns = now_ns();
  slot.kill_sent = false;
}

void Supervisor::on_exit(Slot& slot, const ExitStatus& status) {
  const std::int64_t now = now_ns();
  const std::int64_t uptime_ns = now - slot.started_ns;
  const Slot::Stop stop = slot.stop;
  const int pid = slot.pid;
  slot.pid = 0;
  slot.stop = Slot::Stop::none;
  slot.kill_sent = false;
  slot.last_exit = status.describe();
  const bool oom_killed = killed_out_of_memory(slot);
  std::error_code ec;
  fs::remove(worker_dir(slot.port) / "worker.pid", ec);

  const auto crashed = [&](const char* what) {
    if (uptime_ns >= ns(options_.stable_uptime)) slot.crashes_in_a_row = 0;
    ++slot.crashes_in_a_row;
    ++slot.restarts;
    const milliseconds delay = backoff(slot.crashes_in_a_row);
    slot.next_start_ns = now + ns(delay);
    log_->warn("port {}: worker pid {} of topology {} {} ({}); restart {} in {} ms", slot.port, pid,
               slot.topology_id, what, slot.last_exit, slot.restarts, delay.count());
  };

  switch (stop) {
    case Slot::Stop::unassigned:
    case Slot::Stop::shutdown:
      log_->info("port {}: worker pid {} stopped ({})", slot.port, pid, slot.last_exit);
      return;
    case Slot::Stop::stale:
      crashed("was killed for not heartbeating");
      return;
    case Slot::Stop::none:
      break;
  }
  if (!status.signaled && status.code == k_exit_reassigned) {
    // Its tasks changed: restart it on the new assignment, which this supervisor may not have
    // yet; ask nimbus now rather than start it on the old one.
    log_->info("port {}: worker pid {} exited for a new assignment; restarting it", slot.port, pid);
    slot.crashes_in_a_row = 0;
    slot.wait_newer_than = slot.wanted ? slot.version : -1;
    slot.wait_until_ns = now + 3 * ns(options_.heartbeat_period);
    slot.next_start_ns = now;
    heartbeat_wanted_ = true;
    return;
  }
  if (!status.signaled && status.code == 0) {
    if (!slot.wanted || slot.wanted->status == k_killed) {
      log_->info("port {}: worker pid {} finished (topology {} killed)", slot.port, pid,
                 slot.topology_id);
      slot.done = true;
      return;
    }
    // A clean exit of an assigned worker: restart it, without calling it a crash, but not in a
    // tight loop.
    log_->info("port {}: worker pid {} exited ({}); restarting it", slot.port, pid, slot.last_exit);
    slot.next_start_ns = now + ns(milliseconds(1000));
    return;
  }
  if (!status.signaled && status.code == k_exit_stuck) {
    crashed("exited with a stuck executor");
    const std::string own =
        last_error_line(worker_dir(slot.port) / "worker.log", slot.run_log_offset);
    const std::size_t at = own.find(k_stuck_line);
    note_error(slot, at == std::string::npos
                         ? "worker pid " + std::to_string(pid) + " exited (" + slot.last_exit +
                               "): an executor was stuck"
                         : "worker exited: " + own.substr(at + k_stuck_line.size()));
    return;
  }
  crashed("ended");
  // A crash may come from a damaged plugin file: the restart checks its bytes, not its stat.
  plugins_.forget(slot.topology_id);
  // Into worker.log, so that `gale status` shows the crash even when the worker could not say
  // anything (a segfault), with the worker's own last error of this run when it had one.
  std::string text = "worker pid " + std::to_string(pid) + " ended (" + slot.last_exit + ")";
  if (oom_killed || (!status.signaled && status.code == worker_exit_out_of_memory)) {
    text += ": out of memory";
    if (slot.memory_limit_mb > 0) {
      text += " (limit " + std::to_string(slot.memory_limit_mb) + " MB)";
    }
  }
  const std::string own =
      last_error_line(worker_dir(slot.port) / "worker.log", slot.run_log_offset);
  if (!own.empty()) text += "; its last error: " + own;
  note_error(slot, text);
}

void Supervisor::check_heartbeat(Slot& slot) {
  std::error_code ec;
  const auto mtime = fs::last_write_time(worker_dir(slot.port) / "heartbeat", ec);
  const std::int64_t now = now_ns();
  if (!ec && (!slot.heartbeat_mtime || *slot.heartbeat_mtime != mtime)) {
    slot.heartbeat_mtime = mtime;
    slot.heartbeat_ns = now;
    slot.heartbeat_seen = true;
    return;
  }
  const milliseconds limit =
      slot.heartbeat_seen ? options_.worker_timeout : options_.worker_start_timeout;
  if (now - slot.heartbeat_ns <= ns(limit)) return;
  const std::string secs = std::to_string(limit.count() / 1000) + " s";
  note_error(slot,
             "worker pid " + std::to_string(slot.pid) + " wrote no heartbeat " +
                 (slot.heartbeat_seen ? "for " + secs : "in the " + secs + " since its start") +
                 "; killing it");
  slot.stop = Slot::Stop::stale;
  stop_worker(slot, "no heartbeat");
}

void Supervisor::supervise() {
  for (auto& [port, slot_ptr] : slots_) {
    Slot& slot = *slot_ptr;
    if (slot.pid != 0) {
      if (auto status = launcher_.reap(slot.pid)) on_exit(slot, *status);
    }
    if (slot.pid != 0 && slot.stop == Slot::Stop::none) {
      if (!slot.wanted) {
        slot.stop = Slot::Stop::unassigned;
        stop_worker(slot, "its slot is no longer assigned");
      } else if (slot.wanted->topology_id != slot.topology_id) {
        slot.stop = Slot::Stop::unassigned;
        stop_worker(slot, "its slot now belongs to another topology");
      } else {
        check_heartbeat(slot);
      }
    }
    if (slot.pid != 0 && slot.stop != Slot::Stop::none && !slot.kill_sent &&
        now_ns() - slot.stop_sent_ns >= ns(options_.kill_grace)) {
      log_->warn("port {}: worker pid {} still runs {} ms after SIGTERM; sending SIGKILL", port,
                 slot.pid, options_.kill_grace.count());
      launcher_.signal(slot.pid, SIGKILL);
      slot.kill_sent = true;
    }
    if (slot.pid == 0 && !shutting_down_ && slot.wanted && slot.wanted->status != k_killed &&
        !slot.done && slot.wanted->plugin_ready && now_ns() >= slot.next_start_ns &&
        (slot.wait_newer_than < 0 || slot.wanted->version > slot.wait_newer_than ||
         now_ns() >= slot.wait_until_ns)) {
      start_worker(slot);
    }
  }
}

void Supervisor::begin_shutdown() {
  shutting_down_ = true;
  for (auto& [port, slot] : slots_) {
    if (slot->pid == 0) continue;
    if (slot->stop == Slot::Stop::none) stop_worker(*slot, "the supervisor stops");
    slot->stop = Slot::Stop::shutdown;
  }
}

void Supervisor::kill_all() {
  for (auto& [port, slot] : slots_) {
    if (slot->pid == 0 || slot->kill_sent) continue;
    launcher_.signal(slot->pid, SIGKILL);
    slot->kill_sent = true;
  }
}

bool Supervisor::stopped() const {
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const auto& entry) { return entry.second->pid == 0; });
}

SlotView Supervisor::view(const Slot& slot) const {
  SlotView v;
  v.port = slot.port;
  v.topology_id = slot.wanted ? slot.wanted->topology_id : slot.topology_id;
  v.version = slot.wanted ? slot.wanted->version : slot.version;
  const bool ours = slot.pid != 0 && slot.topology_id == v.topology_id;
  v.pid = ours ? slot.pid : 0;
  v.running = ours && slot.stop == Slot::Stop::none;
  v.stopping = slot.pid != 0 && slot.stop != Slot::Stop::none;
  v.restarts = slot.restarts;
  v.starts = slot.starts;
  v.last_exit = slot.last_exit;
  v.last_error = last_error_line(worker_dir(slot.port) / "worker.log", slot.log_offset);
  v.uptime_secs = ours ? (now_ns() - slot.started_ns) / 1'000'000'000 : 0;
  return v;
}

std::optional<SlotView> Supervisor::slot(std::int64_t port) const {
  auto it = slots_.find(port);
  if (it == slots_.end()) return std::nullopt;
  return view(*it->second);
}

Map Supervisor::heartbeat_body() const {
  List ports;
  List workers;
  for (const auto& [port, slot] : slots_) {
    ports.emplace_back(port);
    if (!slot->wanted && slot->topology_id.empty()) continue;
    const SlotView v = view(*slot);
    Map w;
    w["port"] = v.port;
    w["topology_id"] = v.topology_id;
    w["version"] = v.version;
    w["pid"] = static_cast<std::int64_t>(v.pid);
    w["running"] = v.running;
    w["restarts"] = v.restarts;
    w["last_exit"] = v.last_exit;
    w["last_error"] = v.last_error;
    w["uptime_secs"] = v.uptime_secs;
    workers.emplace_back(std::move(w));
  }
  Map body;
  body["supervisor"] = options_.id;
  body["host"] = options_.host;
  body["ports"] = std::move(ports);
  body["workers"] = std::move(workers);
  return body;
}

}  // namespace gale::supervisor
