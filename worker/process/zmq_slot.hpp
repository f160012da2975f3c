#pragma once

#include <memory>

#include "worker/process/slot_runtime.hpp"

namespace gale::worker {

// The real runtime of a slot: loads spec.plugin_path (the library stays loaded as long as the
// runtime), merges spec.config over the plugin's config, binds a ZeroMQ data transport at
// tcp://spec.host:spec.port routed by spec.assignment, and builds a Worker hosting spec.tasks that
// logs to spec.log_file. Throws plugin::PluginError, TopologyError or ConfigError for a bad plugin
// or config, and gale::Error naming the endpoint when the data port cannot be bound. The caller
// owns the result. Thread: any; the result belongs to the thread that starts it.
std::unique_ptr<SlotRuntime> open_zmq_slot(const SlotSpec& spec);

}  // namespace gale::worker
