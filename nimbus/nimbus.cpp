// Nimbus: construction, recovery, request dispatch and the lookups the verbs share. The verbs
// live in client_verbs.cpp and daemon_verbs.cpp, the time-driven work in timed_work.cpp.

#include "nimbus/nimbus.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include <spdlog/spdlog.h>

#include <gale/config.hpp>
#include <gale/errors.hpp>

namespace gale::nimbus {

namespace fs = std::filesystem;
using cluster::ProtocolError;
using cluster::status_name;

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
    if (!record.damaged.empty()) {
      std::string id = record.id;
      topologies_.emplace(std::move(id), std::move(record));
      continue;
    }
    // A record written without the deployment id in its config gets the one it stands for.
    record.config.try_emplace(gale::keys::topology_id, record.id);
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
    // So are a damaged topology's worker heartbeats (logged once at start).
    const std::string_view what = e.what();
    bool routine = (verb == "worker_heartbeat" || verb == "fetch_plugin") &&
                   (what.starts_with("unknown topology") || what.find(k_damaged_text) != what.npos);
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

void Nimbus::refuse_if_damaged(const TopologyRecord& r) {
  if (r.damaged.empty()) return;
  throw ProtocolError("topology '" + r.name + "'" + k_damaged_text + ": " + r.damaged +
                      "; only `gale kill` works on it");
}

const TopologyRecord* Nimbus::find_by_name(std::string_view name) const {
  for (const auto& [id, record] : topologies_) {
    if (record.name == name) return &record;
  }
  return nullptr;
}

void Nimbus::commit(TopologyRecord changed) {
  // Every new assignment version is fenced here, whatever changed it (submit, rebalance, moves).
  auto old = topologies_.find(changed.id);
  changed.assignment.set_tenures(old == topologies_.end() ? nullptr : &old->second.assignment);
  // A damaged topology's record is not rewritten: its meta is gone or its plugin is, and a record
  // made of what nimbus still knows would pass for a whole one at the next start.
  if (changed.damaged.empty()) state_.save(changed);
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

}  // namespace gale::nimbus
