#include "worker/process/routes.hpp"

#include <string>

namespace gale::worker {

std::vector<transport::TaskRoute> routes_of(const cluster::Assignment& assignment) {
  std::vector<transport::TaskRoute> routes;
  for (const cluster::WorkerAssignment& w : assignment.workers) {
    routes.push_back({"tcp://" + w.host + ":" + std::to_string(w.port), w.tasks, w.since});
  }
  return routes;
}

}  // namespace gale::worker
