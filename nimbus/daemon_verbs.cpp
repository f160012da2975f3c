// Nimbus: the verbs of the other daemons (supervisor and worker heartbeats, plugin fetches).

#include "nimbus/nimbus.hpp"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include "nimbus/request_fields.hpp"

namespace gale::nimbus {

using cluster::get_int;
using cluster::get_int_or;
using cluster::get_list;
using cluster::get_string;
using cluster::get_string_or;
using cluster::ProtocolError;
using cluster::status_name;

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
  adopt_reported_slots(id, info);
  supervisors_[id] = std::move(info);

  List assignments;
  for (const auto& [tid, r] : topologies_) {
    for (const auto& w : r.assignment.workers) {
      if (w.supervisor != id) continue;
      if (r.assignment.version == 0) {
        // A damaged topology whose assignment nimbus lost: the supervisor keeps what it runs.
        assignments.push_back(Map{{"port", w.port}, {"topology_id", r.id}, {"keep", true}});
        continue;
      }
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

void Nimbus::adopt_reported_slots(const std::string& supervisor, const SupervisorInfo& info) {
  for (auto& [tid, r] : topologies_) {
    if (r.damaged.empty() || r.assignment.version != 0) continue;
    auto& workers = r.assignment.workers;
    std::erase_if(workers, [&](const auto& w) { return w.supervisor == supervisor; });
    for (const auto& [port, slot] : info.slots) {
      if (slot.topology_id != r.id) continue;
      workers.push_back(cluster::WorkerAssignment{supervisor, info.host, port, {}});
      logger_->debug("damaged topology {}: runs on {}:{} ('{}')", r.id, info.host, port,
                     supervisor);
    }
  }
}

Map Nimbus::on_fetch_plugin(const Map& body) {
  const TopologyRecord& r = by_id(get_string(body, "topology_id"));
  refuse_if_damaged(r);
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
  beat.pid = get_int_or(body, "pid", 0);
  beat.uptime_secs = get_int_or(body, "uptime_secs", 0);
  beat.stats = get_map_or_empty(body, "stats");
  beat.last_error = get_string_or(body, "last_error", "");
  beat.seen_ns = clock_.now_ns();
  const TopologyRecord& r = by_id(id);
  auto [it, fresh] = worker_beats_.try_emplace({supervisor, port});
  if (!fresh && new_incarnation(it->second, beat)) fold_counters(it->second);
  it->second = std::move(beat);
  // Without an assignment there is nothing to tell the worker: an error that is not "unknown
  // topology" keeps it running on the one it has.
  if (r.assignment.version == 0) refuse_if_damaged(r);
  return Map{{"status", status_name(r.status)},
             {"version", r.assignment.version},
             {"assignment", r.assignment.to_map()}};
}

void Nimbus::fold_counters(const WorkerBeat& ended) {
  auto it = topologies_.find(ended.topology_id);
  if (it == topologies_.end() || ended.stats.empty()) return;
  TopologyRecord changed = it->second;
  add_stats(changed.earlier_counters, ended.stats);
  try {
    commit(std::move(changed));
  } catch (const std::exception& e) {
    // The heartbeat of the new incarnation is still taken; only these counters are lost.
    logger_->error("topology '{}': cannot store the counters of an ended worker: {}",
                   it->second.name, e.what());
  }
}

}  // namespace gale::nimbus
