// Nimbus: the client verbs (submit, kill, activate, deactivate, rebalance, list, status).

#include "nimbus/nimbus.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include <spdlog/spdlog.h>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "nimbus/plugin_check.hpp"
#include "nimbus/request_fields.hpp"

namespace gale::nimbus {

namespace fs = std::filesystem;
using cluster::get_bytes;
using cluster::get_int;
using cluster::get_int_or;
using cluster::get_string;
using cluster::ProtocolError;
using cluster::status_name;
using cluster::TopologyStatus;

namespace {

constexpr std::int64_t k_ns_per_sec = 1'000'000'000;

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

std::int64_t workers_of(const Map& config) {
  auto it = config.find(gale::keys::topology_workers);
  return it != config.end() && it->second.is_int() ? it->second.as_int() : 1;
}

std::int64_t message_timeout_secs(const Map& config) {
  auto it = config.find(gale::keys::topology_message_timeout_secs);
  return it != config.end() && it->second.is_int() ? it->second.as_int() : 30;
}

// "damaged" for a damaged topology that is not being killed: its own status is unknown or moot.
std::string shown_status(const TopologyRecord& r) {
  if (!r.damaged.empty() && r.status != TopologyStatus::killed) return "damaged";
  return status_name(r.status);
}

}  // namespace

std::int64_t Nimbus::uptime_secs(const TopologyRecord& r) const {
  return r.submitted_ms > 0 ? (wall_ms() - r.submitted_ms) / 1000 : 0;  // 0: unknown
}

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
  // The deployment's id for the tasks (keys::topology_id); kept with the record, so restarted
  // workers and a restarted nimbus hand out the same one.
  record.config[gale::keys::topology_id] = record.id;
  record.status = TopologyStatus::active;
  record.executors = std::move(check.executors);
  record.task_components = std::move(check.task_components);
  record.assignment.topology_id = record.id;
  record.assignment.version = 1;
  record.assignment.workers = deal_executors(record.executors, spread_slots(free, needed));
  record.assignment.set_tenures(nullptr);
  record.submitted_ms = wall_ms();
  record.plugin_size = static_cast<std::int64_t>(plugin_bytes.size());
  record.plugin_checksum = cluster::checksum(plugin_bytes);
  state_.create(record, plugin_bytes);
  logger_->info("submitted topology '{}' as {}: {} executors, {} tasks on {} workers", name,
                record.id, record.executors.size(), record.task_components.size(),
                record.assignment.workers.size());
  List warnings;
  for (const std::string& w : check.warnings) {
    logger_->warn("topology '{}': {}", name, w);
    warnings.push_back(w);
  }
  std::string id = record.id;
  topologies_.emplace(id, std::move(record));
  return Map{{"topology_id", id}, {"warnings", std::move(warnings)}};
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
  logger_->info("killing topology '{}' ({}{}): removed in {} s", changed.name, changed.id,
                changed.damaged.empty() ? "" : ", damaged", wait_secs);
  commit(std::move(changed));
  return Map{};
}

Map Nimbus::on_set_active(const Map& body, bool active) {
  TopologyRecord changed = by_name(get_string(body, "name"));
  refuse_if_damaged(changed);
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
  refuse_if_damaged(changed);
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
    Map entry{{"name", r->name},
              {"topology_id", r->id},
              {"status", shown_status(*r)},
              {"workers", static_cast<std::int64_t>(r->assignment.workers.size())},
              {"tasks", static_cast<std::int64_t>(r->task_components.size())},
              {"uptime_secs", uptime_secs(*r)}};
    if (!r->damaged.empty()) entry["damaged"] = r->damaged;
    out.push_back(std::move(entry));
  }
  return Map{{"topologies", std::move(out)}};
}

Map Nimbus::worker_status(const TopologyRecord& r, const cluster::WorkerAssignment& w) const {
  const std::int64_t now = clock_.now_ns();
  List tasks(w.tasks.begin(), w.tasks.end());
  List components;
  std::set<std::string> seen;
  for (auto t : w.tasks) {
    if (t < 1 || static_cast<std::size_t>(t) > r.task_components.size()) continue;
    const std::string& c = r.task_components[static_cast<std::size_t>(t - 1)];
    if (seen.insert(c).second) components.emplace_back(c);
  }
  const WorkerBeat* beat = nullptr;
  if (auto it = worker_beats_.find({w.supervisor, w.port});
      it != worker_beats_.end() && it->second.topology_id == r.id) {
    beat = &it->second;
  }
  const SupervisorInfo* sup = nullptr;
  if (auto it = supervisors_.find(w.supervisor); it != supervisors_.end()) sup = &it->second;
  const SlotReport* slot = nullptr;
  if (sup != nullptr) {
    auto it = sup->slots.find(w.port);
    if (it != sup->slots.end() && it->second.topology_id == r.id) slot = &it->second;
  }
  const std::string state =
      worker_state(sup != nullptr, slot, beat, r.status == TopologyStatus::killed);
  const bool running = state == k_state_running;

  std::int64_t uptime = 0;
  if (running) uptime = slot->uptime_secs + (now - sup->last_seen_ns) / k_ns_per_sec;
  // The supervisor's line (a crash, a plugin it could not verify) is fresher than the worker's
  // own last error, which the worker can no longer update once it died.
  std::string last_error = beat != nullptr ? beat->last_error : "";
  if (slot != nullptr && !slot->last_error.empty()) last_error = slot->last_error;
  // The worker's counters as it last told them; its rates only while it runs.
  Map stats;
  if (beat != nullptr) {
    for (const auto& [component, value] : beat->stats) {
      if (running || !value.is_map()) {
        stats.emplace(component, value);
        continue;
      }
      Map s = value.as_map();
      for (const char* rate : {"emitted_per_s", "executed_per_s"}) {
        if (s.count(rate)) s[rate] = std::int64_t{0};
      }
      stats.emplace(component, Value(std::move(s)));
    }
  }
  return Map{{"supervisor", w.supervisor},
             {"host", w.host},
             {"port", w.port},
             {"tasks", std::move(tasks)},
             {"components", std::move(components)},
             {"state", state},
             {"alive", running},
             {"pid", slot != nullptr ? slot->pid : std::int64_t{0}},
             {"uptime_secs", uptime},
             {"restarts", slot != nullptr ? slot->restarts : std::int64_t{0}},
             {"last_exit", slot != nullptr ? slot->last_exit : std::string()},
             {"last_error", last_error},
             {"stats", std::move(stats)}};
}

Map Nimbus::component_status(const TopologyRecord& r, const List& workers) const {
  // Counters: the ended incarnations' (earlier_counters), plus the last word of every worker of
  // the topology that nimbus heard from, on any slot (a worker moved away counts until it ends).
  CounterTotals totals = r.earlier_counters;
  for (const auto& [key, beat] : worker_beats_) {
    if (beat.topology_id == r.id) add_stats(totals, beat.stats);
  }
  // Rates and latencies: only the workers running now (`workers`, from worker_status()).
  struct Live {
    std::int64_t rate = 0, p50_us = 0, p99_us = 0;
  };
  std::map<std::string, Live> live;
  for (const Value& item : workers) {
    const Map& w = item.as_map();
    if (!w.at("alive").as_bool()) continue;
    for (const auto& [component, value] : w.at("stats").as_map()) {
      if (!value.is_map()) continue;
      const Map& s = value.as_map();
      const auto number = [&](const char* key) {
        auto it = s.find(key);
        return it != s.end() && it->second.is_int() ? it->second.as_int() : 0;
      };
      Live& l = live[component];
      const bool spout = totals[component].kind == "spout";
      l.rate += number(spout ? "emitted_per_s" : "executed_per_s");
      l.p50_us = std::max(l.p50_us, number("latency_p50_us"));
      l.p99_us = std::max(l.p99_us, number("latency_p99_us"));
    }
  }
  std::map<std::string, std::int64_t> tasks;
  for (const std::string& c : r.task_components) ++tasks[c];
  Map counters = counters_to_map(totals);
  Map out;
  for (const auto& [component, value] : counters) {
    Map m = value.as_map();
    m["tasks"] = tasks[component];
    const Live& l = live[component];
    m["rate_per_s"] = l.rate;
    m["latency_p50_us"] = l.p50_us;
    m["latency_p99_us"] = l.p99_us;
    out.emplace(component, Value(std::move(m)));
  }
  return out;
}

Map Nimbus::on_status(const Map& body) {
  const TopologyRecord& r = by_name(get_string(body, "name"));
  List workers;
  for (const auto& w : r.assignment.workers) workers.emplace_back(worker_status(r, w));
  Map components = component_status(r, workers);
  Map reply{{"name", r.name},
            {"topology_id", r.id},
            {"status", shown_status(r)},
            {"uptime_secs", uptime_secs(r)},
            {"version", r.assignment.version},
            {"workers", std::move(workers)},
            {"components", std::move(components)}};
  if (!r.damaged.empty()) reply["damaged"] = r.damaged;
  return reply;
}

}  // namespace gale::nimbus
