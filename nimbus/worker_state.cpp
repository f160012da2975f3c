#include "nimbus/worker_state.hpp"

namespace gale::nimbus {

const char* worker_state(bool supervisor_live, const SlotReport* slot, const WorkerBeat* beat,
                         bool topology_killed) {
  if (!supervisor_live) return k_state_unknown;
  if (slot == nullptr) return k_state_starting;
  if (slot->running) {
    const bool heard = beat != nullptr && (beat->pid == 0 || beat->pid == slot->pid);
    return heard ? k_state_running : k_state_starting;
  }
  if (topology_killed) return k_state_stopped;
  return slot->last_exit.empty() ? k_state_starting : k_state_restarting;
}

bool new_incarnation(const WorkerBeat& before, const WorkerBeat& next) {
  if (before.topology_id != next.topology_id) return true;
  if (before.pid != 0 && next.pid != 0 && before.pid != next.pid) return true;
  return next.uptime_secs < before.uptime_secs;
}

}  // namespace gale::nimbus
