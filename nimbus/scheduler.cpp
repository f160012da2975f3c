#include "nimbus/scheduler.hpp"

#include <algorithm>

namespace gale::nimbus {

std::size_t count_slots(const std::vector<SupervisorSlots>& free) {
  std::size_t n = 0;
  for (const auto& s : free) n += s.ports.size();
  return n;
}

std::vector<Slot> spread_slots(std::vector<SupervisorSlots> free, std::size_t count) {
  for (auto& s : free) std::sort(s.ports.begin(), s.ports.end());
  std::stable_sort(free.begin(), free.end(),
                   [](const SupervisorSlots& a, const SupervisorSlots& b) {
                     if (a.ports.size() != b.ports.size()) return a.ports.size() > b.ports.size();
                     return a.supervisor < b.supervisor;
                   });
  std::vector<Slot> picked;
  for (std::size_t round = 0; picked.size() < count; ++round) {
    bool any = false;
    for (const auto& s : free) {
      if (picked.size() == count) break;
      if (round >= s.ports.size()) continue;
      picked.push_back(Slot{s.supervisor, s.host, s.ports[round]});
      any = true;
    }
    if (!any) break;  // every supervisor is exhausted
  }
  return picked;
}

std::vector<cluster::WorkerAssignment> deal_executors(
    const std::vector<std::vector<std::int32_t>>& executors, const std::vector<Slot>& slots) {
  std::vector<cluster::WorkerAssignment> workers;
  for (const auto& slot : slots) {
    workers.push_back(cluster::WorkerAssignment{slot.supervisor, slot.host, slot.port, {}});
  }
  if (workers.empty()) return workers;
  for (std::size_t i = 0; i < executors.size(); ++i) {
    auto& tasks = workers[i % workers.size()].tasks;
    tasks.insert(tasks.end(), executors[i].begin(), executors[i].end());
  }
  for (auto& w : workers) std::sort(w.tasks.begin(), w.tasks.end());
  return workers;
}

std::size_t workers_to_use(std::int64_t requested, std::size_t executors) {
  std::size_t n = requested < 1 ? 1 : static_cast<std::size_t>(requested);
  return std::max<std::size_t>(1, std::min(n, executors));
}

}  // namespace gale::nimbus
