#include "topology/src/plan.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <gale/errors.hpp>
#include <gale/streams.hpp>

#include "topology/src/window/window_spec.hpp"

namespace gale::detail {

int ComponentPlan::stream_index(std::string_view stream) const noexcept {
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (streams[i].meta.stream == stream) return static_cast<int>(i);
  }
  return -1;
}

int acker_task_count(const Config& config) {
  const Value* guarantee = config.find(keys::topology_processing_guarantee);
  if (guarantee != nullptr && guarantee->is_string() && guarantee->as_string() == "at_most_once") {
    return 0;
  }
  return static_cast<int>(config.get_int(keys::topology_acker_executors, 1));
}

RuntimeSettings RuntimeSettings::from(const Config& config) {
  RuntimeSettings s;
  s.acker_tasks = acker_task_count(config);
  s.message_timeout_ns = config.get_int(keys::topology_message_timeout_secs, 30) * 1'000'000'000;
  s.timeouts_enabled = config.get_bool(keys::topology_enable_message_timeouts, true);
  const Value* pending = config.find(keys::topology_max_spout_pending);
  s.max_spout_pending = (pending == nullptr || pending->is_null()) ? 0 : pending->as_int();
  s.queue_capacity =
      static_cast<std::size_t>(config.get_int(keys::topology_executor_receive_buffer_size, 16384));
  s.batch_size = static_cast<std::size_t>(config.get_int(keys::topology_producer_batch_size, 64));
  s.spout_sleep_ns =
      config.get_int(keys::topology_sleep_spout_wait_strategy_time_ms, 1) * 1'000'000;
  s.spout_sleep_max_ns = std::max<std::int64_t>(
      config.get_int(keys::topology_spout_wait_max_ms, 100) * 1'000'000, s.spout_sleep_ns);
  s.executor_spin_ns = config.get_int(keys::topology_executor_spin_micros, 50) * 1'000;
  s.executor_spin_light_load = config.get_bool(keys::topology_executor_spin_light_load, false);
  s.debug = config.get_bool(keys::topology_debug, false);
  const Value* stuck = config.find(keys::topology_executor_stuck_secs);
  if (stuck != nullptr)
    s.executor_stuck_ns = stuck->is_null() ? 0 : stuck->as_int() * 1'000'000'000;
  s.restart_stuck = config.get_string(keys::topology_executor_stuck_policy, "restart") == "restart";
  return s;
}

namespace {

Config validated(const Config& config) {
  config.validate();
  return config;
}

Config merged(const Config& base, const Config& overrides) {
  Config c = base;
  c.merge(overrides);
  return c;
}

}  // namespace

Plan::Plan(const Topology& topology, const Config& config)
    : topology_(&topology),
      config_(validated(config)),
      layout_(topology, acker_task_count(config)) {
  const auto& defs = topology.components();
  components_.resize(defs.size());
  task_component_.assign(static_cast<std::size_t>(layout_.task_count()) + 1, -1);

  for (std::size_t i = 0; i < defs.size(); ++i) {
    const ComponentDef& def = defs[i];
    ComponentPlan& cp = components_[i];
    cp.def = &def;
    cp.index = static_cast<std::int32_t>(i);
    cp.is_spout = def.kind == ComponentKind::spout;
    cp.config = merged(config_, def.config);
    cp.tasks = &layout_.tasks_of(def.id);
    cp.executors = std::min(def.parallelism, def.num_tasks);
    for (std::int32_t t : *cp.tasks) task_component_[t] = cp.index;
    int s = 0;
    for (const auto& [name, stream] : def.streams) {
      StreamPlan sp;
      sp.meta.component = def.id;
      sp.meta.stream = name;
      sp.meta.fields = stream.fields;
      sp.meta.component_index = cp.index;
      sp.meta.stream_index = s++;
      sp.direct = stream.direct;
      cp.streams.push_back(std::move(sp));
    }
  }

  // Subscriptions: attach each bolt input to the stream it reads.
  for (std::size_t i = 0; i < defs.size(); ++i) {
    for (const Subscription& sub : defs[i].inputs) {
      const ComponentDef* source = topology.find(sub.component);
      if (source == nullptr) {
        throw TopologyError("bolt '" + defs[i].id + "' subscribes to unknown component '" +
                            sub.component + "'");
      }
      ComponentPlan& sp = components_[source - defs.data()];
      int si = sp.stream_index(sub.stream);
      if (si < 0) {
        throw TopologyError("bolt '" + defs[i].id + "' subscribes to undeclared stream '" +
                            sub.stream + "' of '" + sub.component + "'");
      }
      StreamPlan& stream = sp.streams[si];
      SubscriberPlan subscriber;
      subscriber.component_index = static_cast<std::int32_t>(i);
      subscriber.grouping = &sub.grouping;
      subscriber.tasks = components_[i].tasks;
      for (const std::string& f : sub.grouping.fields) {
        subscriber.field_indexes.push_back(stream.meta.fields.index(f));
      }
      stream.subscribers.push_back(std::move(subscriber));
    }
  }

  // Executors: contiguous task ranges, the first ones one task larger when tasks do not divide.
  for (const ComponentPlan& cp : components_) {
    const auto& tasks = *cp.tasks;
    std::size_t n = tasks.size();
    std::size_t e = static_cast<std::size_t>(cp.executors);
    std::size_t next = 0;
    for (std::size_t k = 0; k < e; ++k) {
      std::size_t count = n / e + (k < n % e ? 1 : 0);
      ExecutorPlan ep;
      ep.component_index = cp.index;
      ep.tasks.assign(tasks.begin() + static_cast<std::ptrdiff_t>(next),
                      tasks.begin() + static_cast<std::ptrdiff_t>(next + count));
      next += count;
      executors_.push_back(std::move(ep));
    }
  }
  for (std::int32_t t : layout_.acker_tasks()) {
    ExecutorPlan ep;
    ep.tasks = {t};
    executors_.push_back(std::move(ep));
  }
  check_windows();
  plan_watermarks();
}

// The streams whose tuples carry the timestamps of an event-time windowed bolt, and the watermark
// stream their component sends the highest of them on (the builder added it).
void Plan::plan_watermarks() {
  for (ComponentPlan& cp : components_) {
    cp.watermark_stream = cp.stream_index(watermark_stream);
    if (cp.watermark_stream < 0) continue;
    for (StreamPlan& stream : cp.streams) {
      for (const SubscriberPlan& sub : stream.subscribers) {
        const ComponentPlan& bolt = components_[sub.component_index];
        const std::optional<WindowSpec> spec = WindowSpec::from(bolt.config);
        if (!spec || spec->timestamp_field.empty() || stream.meta.stream == watermark_stream) {
          continue;
        }
        if (!stream.meta.fields.contains(spec->timestamp_field)) continue;  // checked above
        stream.timestamp_index = static_cast<int>(stream.meta.fields.index(spec->timestamp_field));
        cp.watermark_interval_ms =
            cp.watermark_interval_ms == 0
                ? spec->watermark_interval_ms
                : std::min(cp.watermark_interval_ms, spec->watermark_interval_ms);
      }
    }
  }
}

// Every windowed bolt's window: the session key, aggregate key and timestamp fields its inputs
// declare, and, with acking on, where the
// tuples a window holds are pending trees, the spouts' pending limit and the message timeout
// (detail::check_window_limits).
void Plan::check_windows() const {
  std::int64_t pending_limit = 0;  // all spout tasks together; 0: unbounded
  std::string pending_source;
  for (const ComponentPlan& cp : components_) {
    if (!cp.is_spout) continue;
    const Value* v = cp.config.find(keys::topology_max_spout_pending);
    if (v != nullptr && v->is_null()) {  // a spout without a limit: none to check against
      pending_limit = 0;
      break;
    }
    const std::int64_t per_task = v == nullptr ? default_max_spout_pending : v->as_int();
    const auto tasks = static_cast<std::int64_t>(cp.tasks->size());
    pending_limit += per_task * tasks;
    pending_source += (pending_source.empty() ? "" : ", ") + std::string("spout '") + cp.def->id +
                      "': " + std::to_string(tasks) + " x topology.max.spout.pending " +
                      std::to_string(per_task);
  }
  for (const ComponentPlan& cp : components_) {
    if (cp.is_spout) continue;
    const std::optional<WindowSpec> spec = WindowSpec::from(cp.config);
    if (!spec) continue;
    for (const Subscription& sub : cp.def->inputs) {
      if (sub.stream == watermark_stream) continue;  // the runtime's, not the user's data
      const ComponentDef* source = topology_->find(sub.component);
      const auto stream = source->streams.find(sub.stream);
      std::vector<std::string> needed = spec->session_key;
      needed.insert(needed.end(), spec->aggregate_key.begin(), spec->aggregate_key.end());
      if (!spec->timestamp_field.empty()) needed.push_back(spec->timestamp_field);
      for (const std::string& field : needed) {
        if (stream != source->streams.end() && !stream->second.fields.contains(field)) {
          throw ConfigError("bolt '" + cp.def->id + "': " + spec->describe() + ", but its input '" +
                            sub.component + ":" + sub.stream + "' has no field '" + field +
                            "' (its fields: " + stream->second.fields.to_string() + ")");
        }
      }
    }
    if (!acking()) continue;
    const bool timeouts = cp.config.get_bool(keys::topology_enable_message_timeouts, true);
    const std::int64_t timeout_ms =
        timeouts ? cp.config.get_int(keys::topology_message_timeout_secs, 30) * 1000 : 0;
    check_window_limits(*spec, cp.def->id, pending_limit, pending_source, timeout_ms);
  }
}

const detail::StreamMeta* Plan::resolve(std::int32_t component_index,
                                        std::int32_t stream_index) const {
  if (component_index < 0 || static_cast<std::size_t>(component_index) >= components_.size()) {
    return nullptr;
  }
  const auto& streams = components_[component_index].streams;
  if (stream_index < 0 || static_cast<std::size_t>(stream_index) >= streams.size()) return nullptr;
  return &streams[stream_index].meta;
}

}  // namespace gale::detail
