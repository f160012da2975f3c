// Nimbus: the time-driven work of tick(): supervisor expiry, moving lost workers, removing killed
// topologies.

#include "nimbus/nimbus.hpp"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

namespace gale::nimbus {

using cluster::TopologyStatus;
using cluster::WorkerAssignment;

namespace {

constexpr std::int64_t k_ns_per_sec = 1'000'000'000;

}  // namespace

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
  if (!current.damaged.empty()) return;  // no executors or no plugin to move them with
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
