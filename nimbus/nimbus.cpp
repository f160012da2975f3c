#include "nimbus/nimbus.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>

#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

#include "nimbus/plugin_check.hpp"

namespace gale::nimbus {

namespace fs = std::filesystem;
using cluster::Assignment;
using cluster::get_bool;
using cluster::get_bytes;
using cluster::get_int;
using cluster::get_int_or;
using cluster::get_list;
using cluster::get_map;
using cluster::get_string;
using cluster::get_string_or;
using cluster::ProtocolError;
using cluster::status_name;
using cluster::TopologyStatus;
using cluster::WorkerAssignment;

namespace {

constexpr std::int64_t k_ns_per_sec = 1'000'000'000;
constexpr std::int64_t k_ns_per_ms = 1'000'000;

std::int64_t positive_key(const Config& config, const char* key, std::int64_t fallback) {
  std::int64_t v = config.get_int(key, fallback);
  if (v < 1) {
    throw ConfigError("'" + std::string(key) + "' must be an integer >= 1, got " +
                      std::to_string(v));
  }
  return v;
}

// Names become directory names and topology ids: keep them to a safe alphabet.
void check_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128 && name.front() != '.' && name.front() != '-';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    throw ProtocolError("invalid topology name '" + name +
                        "': use up to 128 letters, digits, '.', '_' and '-', not starting with "
                        "'.' or '-'");
  }
}

bool get_bool_or(const Map& body, std::string_view key, bool fallback) {
  return body.count(std::string(key)) ? get_bool(body, key) : fallback;
}

const Map& get_map_or_empty(const Map& body, std::string_view key) {
  static const Map empty;
  return body.count(std::string(key)) ? get_map(body, key) : empty;
}

std::int64_t port_of(const Value& v, const char* what) {
  if (!v.is_int() || v.as_int() < 1 || v.as_int() > 65535) {
    throw ProtocolError(std::string("field '") + what + "': expected ports from 1 to 65535, got " +
                        v.to_string());
  }
  return v.as_int();
}

std::int64_t workers_of(const Map& config) {
  auto it = config.find(gale::keys::topology_workers);
  return it != config.end() && it->second.is_int() ? it->second.as_int() : 1;
}

std::int64_t message_timeout_secs(const Map& config) {
  auto it = config.find(gale::keys::topology_message_timeout_secs);
  return it != config.end() && it->second.is_int() ? it->second.as_int() : 30;
}

}  // namespace

Nimbus::Nimbus(NimbusOptions options, const common::Clock& clock,
               std::shared_ptr<spdlog::logger> logger)
    : clock_(clock),
      logger_(std::move(logger)),
      supervisor_timeout_ns_(positive_key(options.config, keys::supervisor_timeout_secs, 60) *
                             k_ns_per_sec),
      plugin_check_timeout_(
          std::chrono::seconds(positive_key(options.config, keys::plugin_check_timeout_secs, 30))),
      started_ns_(clock.now_ns()),
      started_wall_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()),
      state_(options.state_dir, logger_) {
  for (auto& record : state_.load_all()) {
    logger_->info("recovered topology '{}' ({}, {}, assignment version {}, {} workers)",
                  record.name, record.id, status_name(record.status), record.assignment.version,
                  record.assignment.workers.size());
    std::string id = record.id;
    topologies_.emplace(std::move(id), std::move(record));
  }
}

Nimbus::~Nimbus() = default;

std::int64_t Nimbus::wall_ms() const {
  return started_wall_ms_ + (clock_.now_ns() - started_ns_) / k_ns_per_ms;
}

bool Nimbus::in_grace() const { return clock_.now_ns() - started_ns_ < supervisor_timeout_ns_; }

std::string Nimbus::handle(std::string_view request_bytes) {
  std::string verb = "?";
  try {
    cluster::Request request = cluster::decode_request(request_bytes);
    verb = request.verb;
    return cluster::encode_ok(dispatch(request));
  } catch (const std::exception& e) {
    // Heartbeats for topologies that are gone are routine (workers exit on this answer).
    bool routine = (verb == "worker_heartbeat" || verb == "fetch_plugin") &&
                   std::string_view(e.what()).starts_with("unknown topology");
    if (routine) {
      logger_->debug("{}: {}", verb, e.what());
    } else {
      logger_->warn("request '{}' refused: {}", verb, e.what());
    }
    return cluster::encode_error(e.what());
  }
}

Map Nimbus::dispatch(const cluster::Request& request) {
  const std::string& verb = request.verb;
  const Map& body = request.body;
  if (verb == "supervisor_heartbeat") return on_supervisor_heartbeat(body);
  if (verb == "worker_heartbeat") return on_worker_heartbeat(body);
  if (verb == "fetch_plugin") return on_fetch_plugin(body);
  if (verb == "submit") return on_submit(body);
  if (verb == "kill") return on_kill(body);
  if (verb == "activate") return on_set_active(body, true);
  if (verb == "deactivate") return on_set_active(body, false);
  if (verb == "rebalance") return on_rebalance(body);
  if (verb == "list") return on_list(body);
  if (verb == "status") return on_status(body);
  throw ProtocolError("unknown verb '" + verb + "'");
}

TopologyRecord& Nimbus::by_name(const std::string& name) {
  for (auto& [id, record] : topologies_) {
    if (record.name == name) return record;
  }
  throw ProtocolError("unknown topology '" + name + "'");
}

TopologyRecord& Nimbus::by_id(const std::string& id) {
  auto it = topologies_.find(id);
  if (it == topologies_.end()) throw ProtocolError("unknown topology '" + id + "'");
  return it->second;
}

const TopologyRecord* Nimbus::find_by_name(std::string_view name) const {
  for (const auto& [id, record] : topologies_) {
    if (record.name == name) return &record;
  }
  return nullptr;
}

void Nimbus::commit(TopologyRecord changed) {
  state_.save(changed);
  std::string id = changed.id;
  topologies_[id] = std::move(changed);
}

bool Nimbus::slot_alive(const std::string& supervisor, std::int64_t port) const {
  auto it = supervisors_.find(supervisor);
  if (it == supervisors_.end()) return false;
  const auto& ports = it->second.ports;
  return std::find(ports.begin(), ports.end(), port) != ports.end();
}

std::vector<SupervisorSlots> Nimbus::free_slots() const {
  std::set<SlotKey> used;
  for (const auto& [id, record] : topologies_) {
    for (const auto& w : record.assignment.workers) used.emplace(w.supervisor, w.port);
  }
  std::vector<SupervisorSlots> free;
  for (const auto& [id, info] : supervisors_) {
    SupervisorSlots s{id, info.host, {}};
    for (auto port : info.ports) {
      if (!used.count({id, port})) s.ports.push_back(port);
    }
    if (!s.ports.empty()) free.push_back(std::move(s));
  }
  return free;
}

std::string Nimbus::new_topology_id(const std::string& name) const {
  // Storm's form, name-counter-seconds; the counter keeps ids unique within one second.
  const std::string secs = std::to_string(wall_ms() / 1000);
  for (int n = 1;; ++n) {
    std::string id = name + "-" + std::to_string(n) + "-" + secs;
    if (!topologies_.count(id) && !fs::exists(state_.plugin_path(id).parent_path())) return id;
  }
}

// ---------------------------------------------------------------------------------------------
// Client verbs

Map Nimbus::on_submit(const Map& body) {
  const std::string name = get_string(body, "name");
  check_name(name);
  const Bytes& plugin = get_bytes(body, "plugin");
  const Map& overrides = get_map_or_empty(body, "config");
  if (const TopologyRecord* existing = find_by_name(name)) {
    if (existing->status == TopologyStatus::killed) {
      throw ProtocolError("topology '" + name +
                          "' is being killed; submit it again once it is gone");
    }
    throw ProtocolError("topology '" + name + "' is already running (" + existing->id + ")");
  }
  const std::string_view plugin_bytes(reinterpret_cast<const char*>(plugin.data()), plugin.size());

  // The child process dlopens a file: give it the bytes under a name of our own.
  const fs::path upload = state_.scratch_dir() / ("upload-" + std::to_string(++uploads_) + ".so");
  {
    std::ofstream out(upload, std::ios::binary | std::ios::trunc);
    out.write(plugin_bytes.data(), static_cast<std::streamsize>(plugin_bytes.size()));
    if (!out.flush()) throw Error("cannot write the uploaded plugin to '" + upload.string() + "'");
  }
  PluginCheck check;
  try {
    check = check_plugin(upload.string(), name, overrides, plugin_check_timeout_);
  } catch (...) {
    std::error_code ec;
    fs::remove(upload, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(upload, ec);
  if (!check.ok) throw Error(check.error);

  const std::size_t needed = workers_to_use(workers_of(check.config), check.executors.size());
  std::vector<SupervisorSlots> free = free_slots();
  const std::size_t available = count_slots(free);
  if (available < needed) {
    throw Error("topology '" + name + "' needs " + std::to_string(needed) + " worker slots, " +
                std::to_string(available) + (available == 1 ? " is" : " are") + " free");
  }

  TopologyRecord record;
  record.id = new_topology_id(name);
  record.name = name;
  record.config = std::move(check.config);
  record.status = TopologyStatus::active;
  record.executors = std::move(check.executors);
  record.task_components = std::move(check.task_components);
  record.assignment.topology_id = record.id;
  record.assignment.version = 1;
  record.assignment.workers = deal_executors(record.executors, spread_slots(free, needed));
  record.submitted_ms = wall_ms();
  record.plugin_size = static_cast<std::int64_t>(plugin_bytes.size());
  record.plugin_checksum = cluster::checksum(plugin_bytes);
  state_.create(record, plugin_bytes);
  logger_->info("submitted topology '{}' as {}: {} executors, {} tasks on {} workers", name,
                record.id, record.executors.size(), record.task_components.size(),
                record.assignment.workers.size());
  std::string id = record.id;
  topologies_.emplace(id, std::move(record));
  return Map{{"topology_id", id}};
}

Map Nimbus::on_kill(const Map& body) {
  TopologyRecord changed = by_name(get_string(body, "name"));
  const std::int64_t wait_secs =
      get_int_or(body, "wait_secs", message_timeout_secs(changed.config));
  if (wait_secs < 0 || wait_secs > 86400) {
    throw ProtocolError("field 'wait_secs': expected 0 to 86400 seconds, got " +
                        std::to_string(wait_secs));
  }
  std::int64_t kill_at = wall_ms() + wait_secs * 1000;
  if (changed.status == TopologyStatus::killed) kill_at = std::min(kill_at, changed.kill_at_ms);
  changed.status = TopologyStatus::killed;
  changed.kill_at_ms = kill_at;
  logger_->info("killing topology '{}' ({}): removed in {} s", changed.name, changed.id, wait_secs);
  commit(std::move(changed));
  return Map{};
}

Map Nimbus::on_set_active(const Map& body, bool active) {
  TopologyRecord changed = by_name(get_string(body, "name"));
  if (changed.status == TopologyStatus::killed) {
    throw ProtocolError("topology '" + changed.name + "' is killed");
  }
  changed.status = active ? TopologyStatus::active : TopologyStatus::inactive;
  logger_->info("topology '{}' is now {}", changed.name, status_name(changed.status));
  commit(std::move(changed));
  return Map{};
}

Map Nimbus::on_rebalance(const Map& body) {
  const std::string name = get_string(body, "name");
  const std::int64_t requested = get_int(body, "workers");
  if (requested < 1 || requested > 100000) {
    throw ProtocolError("field 'workers': expected 1 to 100000 workers, got " +
                        std::to_string(requested));
  }
  TopologyRecord changed = by_name(name);
  if (changed.status == TopologyStatus::killed) {
    throw ProtocolError("topology '" + changed.name + "' is killed");
  }
  // The topology's own live slots are free for its new assignment.
  std::vector<SupervisorSlots> available = free_slots();
  for (const auto& w : changed.assignment.workers) {
    if (!slot_alive(w.supervisor, w.port)) continue;
    auto it = std::find_if(available.begin(), available.end(),
                           [&](const SupervisorSlots& s) { return s.supervisor == w.supervisor; });
    if (it == available.end()) {
      available.push_back(SupervisorSlots{w.supervisor, supervisors_.at(w.supervisor).host, {}});
      it = available.end() - 1;
    }
    it->ports.push_back(w.port);
  }
  const std::size_t needed = workers_to_use(requested, changed.executors.size());
  const std::size_t count = count_slots(available);
  if (count < needed) {
    throw Error("topology '" + changed.name + "' needs " + std::to_string(needed) +
                " worker slots, " + std::to_string(count) + (count == 1 ? " is" : " are") +
                " free");
  }
  changed.config[gale::keys::topology_workers] = requested;
  changed.assignment.workers = deal_executors(changed.executors, spread_slots(available, needed));
  changed.assignment.version += 1;
  logger_->info("rebalanced topology '{}' to {} workers (assignment version {})", changed.name,
                changed.assignment.workers.size(), changed.assignment.version);
  starved_.erase(changed.id);
  commit(std::move(changed));
  return Map{};
}

Map Nimbus::on_list(const Map&) {
  std::vector<const TopologyRecord*> sorted;
  for (const auto& [id, record] : topologies_) sorted.push_back(&record);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  List out;
  for (const TopologyRecord* r : sorted) {
    out.push_back(Map{{"name", r->name},
                      {"topology_id", r->id},
                      {"status", status_name(r->status)},
                      {"workers", static_cast<std::int64_t>(r->assignment.workers.size())},
                      {"tasks", static_cast<std::int64_t>(r->task_components.size())},
                      {"uptime_secs", (wall_ms() - r->submitted_ms) / 1000}});
  }
  return Map{{"topologies", std::move(out)}};
}

Map Nimbus::on_status(const Map& body) {
  const TopologyRecord& r = by_name(get_string(body, "name"));
  const std::int64_t now = clock_.now_ns();
  List workers;
  for (const auto& w : r.assignment.workers) {
    List tasks(w.tasks.begin(), w.tasks.end());
    List components;
    std::set<std::string> seen;
    for (auto t : w.tasks) {
      if (t < 1 || static_cast<std::size_t>(t) > r.task_components.size()) continue;
      const std::string& c = r.task_components[static_cast<std::size_t>(t - 1)];
      if (seen.insert(c).second) components.push_back(c);
    }
    bool alive = false;
    std::int64_t uptime = 0;
    std::int64_t restarts = 0;
    std::string last_error;
    Map stats;
    auto beat = worker_beats_.find({w.supervisor, w.port});
    if (beat != worker_beats_.end() && beat->second.topology_id == r.id) {
      alive = now - beat->second.seen_ns <= supervisor_timeout_ns_;
      if (alive) uptime = beat->second.uptime_secs + (now - beat->second.seen_ns) / k_ns_per_sec;
      last_error = beat->second.last_error;
      stats = beat->second.stats;
    }
    auto sup = supervisors_.find(w.supervisor);
    if (sup != supervisors_.end()) {
      auto slot = sup->second.slots.find(w.port);
      if (slot != sup->second.slots.end() && slot->second.topology_id == r.id) {
        restarts = slot->second.restarts;
        // A crash the supervisor saw says more than the last error of the restarted worker.
        if (!slot->second.last_error.empty()) last_error = slot->second.last_error;
        if (!alive && slot->second.running) uptime = slot->second.uptime_secs;
      }
    }
    workers.push_back(Map{{"supervisor", w.supervisor},
                          {"host", w.host},
                          {"port", w.port},
                          {"tasks", std::move(tasks)},
                          {"components", std::move(components)},
                          {"alive", alive},
                          {"uptime_secs", uptime},
                          {"restarts", restarts},
                          {"last_error", last_error},
                          {"stats", std::move(stats)}});
  }
  return Map{{"name", r.name},
             {"topology_id", r.id},
             {"status", status_name(r.status)},
             {"uptime_secs", (wall_ms() - r.submitted_ms) / 1000},
             {"version", r.assignment.version},
             {"workers", std::move(workers)}};
}

// ---------------------------------------------------------------------------------------------
// Daemon verbs

Map Nimbus::on_supervisor_heartbeat(const Map& body) {
  // Everything is parsed before anything changes, so a malformed heartbeat changes nothing.
  const std::string id = get_string(body, "supervisor");
  if (id.empty()) throw ProtocolError("field 'supervisor': empty");
  SupervisorInfo info;
  info.host = get_string(body, "host");
  if (info.host.empty()) throw ProtocolError("field 'host': empty");
  for (const Value& p : get_list(body, "ports")) info.ports.push_back(port_of(p, "ports"));
  std::sort(info.ports.begin(), info.ports.end());
  info.ports.erase(std::unique(info.ports.begin(), info.ports.end()), info.ports.end());
  if (body.count("workers")) {
    for (const Value& wv : get_list(body, "workers")) {
      if (!wv.is_map()) throw ProtocolError("field 'workers': expected a list of maps");
      const Map& wm = wv.as_map();
      SlotReport s;
      const std::int64_t port = port_of(cluster::field(wm, "port"), "port");
      s.topology_id = get_string(wm, "topology_id");
      s.version = get_int_or(wm, "version", 0);
      s.pid = get_int_or(wm, "pid", 0);
      s.running = get_bool_or(wm, "running", false);
      s.restarts = get_int_or(wm, "restarts", 0);
      s.last_exit = get_string_or(wm, "last_exit", "");
      s.last_error = get_string_or(wm, "last_error", "");
      s.uptime_secs = get_int_or(wm, "uptime_secs", 0);
      info.slots[port] = std::move(s);
    }
  }
  info.last_seen_ns = clock_.now_ns();

  auto it = supervisors_.find(id);
  if (it == supervisors_.end()) {
    logger_->info("supervisor '{}' on {} joined with {} slots", id, info.host, info.ports.size());
  } else if (it->second.ports != info.ports || it->second.host != info.host) {
    logger_->info("supervisor '{}' now on {} with {} slots", id, info.host, info.ports.size());
  }
  supervisors_[id] = std::move(info);

  List assignments;
  for (const auto& [tid, r] : topologies_) {
    for (const auto& w : r.assignment.workers) {
      if (w.supervisor != id) continue;
      assignments.push_back(Map{{"port", w.port},
                                {"topology_id", r.id},
                                {"version", r.assignment.version},
                                {"assignment", r.assignment.to_map()},
                                {"config", r.config},
                                {"status", status_name(r.status)},
                                {"plugin_size", r.plugin_size},
                                {"plugin_checksum", r.plugin_checksum}});
    }
  }
  return Map{{"assignments", std::move(assignments)}};
}

Map Nimbus::on_fetch_plugin(const Map& body) {
  const TopologyRecord& r = by_id(get_string(body, "topology_id"));
  const std::int64_t offset = get_int(body, "offset");
  const std::int64_t length = get_int(body, "length");
  if (offset < 0 || offset > r.plugin_size) {
    throw ProtocolError("field 'offset': " + std::to_string(offset) + " is outside the plugin (" +
                        std::to_string(r.plugin_size) + " bytes)");
  }
  if (length < 1 || length > k_max_fetch_length) {
    throw ProtocolError("field 'length': expected 1 to " + std::to_string(k_max_fetch_length) +
                        ", got " + std::to_string(length));
  }
  const std::string data = state_.read_plugin(r.id, offset, length);
  return Map{{"data", Bytes(data.begin(), data.end())},
             {"total", r.plugin_size},
             {"checksum", r.plugin_checksum}};
}

Map Nimbus::on_worker_heartbeat(const Map& body) {
  const std::string id = get_string(body, "topology_id");
  WorkerBeat beat;
  const std::string supervisor = get_string(body, "supervisor");
  get_string(body, "host");  // required by the contract; slots are keyed by supervisor and port
  const std::int64_t port = port_of(cluster::field(body, "port"), "port");
  beat.topology_id = id;
  beat.version = get_int(body, "version");
  beat.uptime_secs = get_int_or(body, "uptime_secs", 0);
  beat.stats = get_map_or_empty(body, "stats");
  beat.last_error = get_string_or(body, "last_error", "");
  beat.seen_ns = clock_.now_ns();
  const TopologyRecord& r = by_id(id);
  worker_beats_[{supervisor, port}] = std::move(beat);
  return Map{{"status", status_name(r.status)},
             {"version", r.assignment.version},
             {"assignment", r.assignment.to_map()}};
}

// ---------------------------------------------------------------------------------------------
// Time-driven work

void Nimbus::tick() {
  try {
    if (!in_grace()) {
      expire_supervisors();
      std::vector<std::string> ids;
      for (const auto& [id, r] : topologies_) ids.push_back(id);
      for (const auto& id : ids) move_lost_workers(id);
    }
    remove_killed();
  } catch (const std::exception& e) {
    logger_->error("nimbus housekeeping failed (retried next time): {}", e.what());
  }
}

void Nimbus::expire_supervisors() {
  const std::int64_t now = clock_.now_ns();
  for (auto it = supervisors_.begin(); it != supervisors_.end();) {
    if (now - it->second.last_seen_ns > supervisor_timeout_ns_) {
      logger_->warn("supervisor '{}' on {} sent no heartbeat for {} s: dead", it->first,
                    it->second.host, (now - it->second.last_seen_ns) / k_ns_per_sec);
      it = supervisors_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = worker_beats_.begin(); it != worker_beats_.end();) {
    // Kept for `status` (alive = false) while its topology lives; forgotten with it.
    it = topologies_.count(it->second.topology_id) ? std::next(it) : worker_beats_.erase(it);
  }
}

void Nimbus::move_lost_workers(const std::string& id) {
  const TopologyRecord& current = topologies_.at(id);
  if (current.status == TopologyStatus::killed) return;  // its workers are going away anyway
  std::vector<std::size_t> lost;
  for (std::size_t i = 0; i < current.assignment.workers.size(); ++i) {
    const auto& w = current.assignment.workers[i];
    if (!slot_alive(w.supervisor, w.port)) lost.push_back(i);
  }
  if (lost.empty()) {
    starved_.erase(id);
    return;
  }
  TopologyRecord changed = current;
  auto& workers = changed.assignment.workers;
  std::vector<Slot> slots = spread_slots(free_slots(), lost.size());
  std::size_t moved = 0;
  for (; moved < slots.size(); ++moved) {
    auto& w = workers[lost[moved]];
    logger_->warn("topology '{}': moving the worker of {}:{} (supervisor '{}') to {}:{} ('{}')",
                  changed.name, w.host, w.port, w.supervisor, slots[moved].host, slots[moved].port,
                  slots[moved].supervisor);
    w.supervisor = slots[moved].supervisor;
    w.host = slots[moved].host;
    w.port = slots[moved].port;
  }
  if (moved < lost.size()) {
    // No free slot for the rest: their executors join the topology's live workers (which then
    // restart with more tasks) rather than stay stopped. With no live worker at all, wait.
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (std::find(lost.begin() + static_cast<std::ptrdiff_t>(moved), lost.end(), i) ==
          lost.end()) {
        live.push_back(i);
      }
    }
    if (live.empty()) {
      if (starved_.insert(id).second) {
        logger_->warn("topology '{}': {} workers wait for a free slot", changed.name,
                      lost.size() - moved);
      }
    } else {
      std::vector<WorkerAssignment> kept;
      std::vector<std::int32_t> orphans;
      for (std::size_t i = 0; i < workers.size(); ++i) {
        if (std::find(live.begin(), live.end(), i) != live.end()) {
          kept.push_back(workers[i]);
        } else {
          orphans.insert(orphans.end(), workers[i].tasks.begin(), workers[i].tasks.end());
        }
      }
      std::sort(orphans.begin(), orphans.end());
      std::size_t next = 0;
      for (const auto& executor : changed.executors) {
        if (executor.empty() ||
            !std::binary_search(orphans.begin(), orphans.end(), executor.front())) {
          continue;
        }
        // The live worker with the fewest tasks takes the next executor.
        auto target = std::min_element(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
          return a.tasks.size() < b.tasks.size();
        });
        target->tasks.insert(target->tasks.end(), executor.begin(), executor.end());
        std::sort(target->tasks.begin(), target->tasks.end());
        ++next;
      }
      logger_->warn(
          "topology '{}': no free slot for {} lost workers; their {} executors join "
          "the {} live workers",
          changed.name, lost.size() - moved, next, kept.size());
      workers = std::move(kept);
      moved = lost.size();
      starved_.erase(id);
    }
  }
  if (moved == 0) return;
  changed.assignment.version += 1;
  commit(std::move(changed));
}

void Nimbus::remove_killed() {
  const std::int64_t now = wall_ms();
  std::vector<std::string> due;
  for (const auto& [id, r] : topologies_) {
    if (r.status == TopologyStatus::killed && r.kill_at_ms <= now) due.push_back(id);
  }
  for (const auto& id : due) {
    state_.remove(id);
    logger_->info("removed killed topology '{}' ({})", topologies_.at(id).name, id);
    topologies_.erase(id);
    starved_.erase(id);
  }
}

}  // namespace gale::nimbus
