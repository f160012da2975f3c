#include <algorithm>
#include <exception>
#include <gale/builder.hpp>
#include <gale/errors.hpp>
#include <gale/streams.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "topology/src/topology_access.hpp"
#include "topology/src/window/window_spec.hpp"

namespace gale {

namespace {

const char* kind_name(ComponentKind kind) noexcept {
  return kind == ComponentKind::spout ? "spout" : "bolt";
}

// "spout 'sentences'" / "bolt 'count'": how every message names its culprit.
std::string describe(const ComponentDef& def) {
  return std::string(kind_name(def.kind)) + " '" + def.id + "'";
}

// "[default, errors]" for messages that list what a component does declare.
std::string stream_names(const ComponentDef& def) {
  std::string out = "[";
  for (const auto& [name, stream] : def.streams) {
    if (out.size() > 1) out += ", ";
    out += name;
  }
  return out + "]";
}

// Rejects what set_spout and set_bolt must never accept, before anything is added, so a failed
// call leaves the builder unchanged.
void check_new_component(const std::map<std::string, ComponentDef, std::less<>>& components,
                         const std::string& id, ComponentKind kind, bool has_factory,
                         int parallelism) {
  const std::string what = kind_name(kind);
  if (id.empty()) throw TopologyError("cannot add a " + what + " with an empty id");
  // "__acker" and "__system" are Gale's own components; "__" ids could collide with future ones.
  if (id.starts_with("__")) {
    throw TopologyError("cannot add " + what + " '" + id +
                        "': ids starting with \"__\" are reserved for Gale");
  }
  if (auto it = components.find(id); it != components.end()) {
    throw TopologyError("cannot add " + what + " '" + id + "': a " + kind_name(it->second.kind) +
                        " with this id already exists");
  }
  if (!has_factory) throw TopologyError(what + " '" + id + "' has a null factory");
  if (parallelism < 1) {
    throw TopologyError(what + " '" + id + "': parallelism must be at least 1, got " +
                        std::to_string(parallelism));
  }
}

// Runs one call into user code at build time. Whatever it throws becomes a TopologyError that says
// which component and which call failed, so a plugin author is not left with a bare "bad_alloc" or
// "stream 'x' is declared twice" and no idea where it came from.
template <class Fn>
void call_user(const ComponentDef& def, const char* call, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    throw TopologyError(describe(def) + ": " + call + " failed: " + e.what());
  } catch (...) {
    throw TopologyError(describe(def) + ": " + call + " threw a non-standard exception");
  }
}

// Reads a component's declared outputs and component_config() from one throwaway instance.
template <class Instance, class Factory>
void read_instance(const ComponentDef& def, const Factory& factory, OutputDeclarer& declarer,
                   Config& component_config) {
  std::unique_ptr<Instance> instance;
  call_user(def, "factory", [&] { instance = factory(); });
  if (!instance) throw TopologyError(describe(def) + ": factory returned null");
  call_user(def, "declare_outputs", [&] { instance->declare_outputs(declarer); });
  call_user(def, "component_config", [&] { component_config = instance->component_config(); });
}

// The component as it goes into the Topology: streams filled in, config merged and validated.
ComponentDef instantiate(const ComponentDef& declared) {
  ComponentDef def = declared;
  OutputDeclarer declarer;
  Config config;
  if (def.kind == ComponentKind::spout) {
    read_instance<Spout>(def, def.spout, declarer, config);
  } else {
    read_instance<Bolt>(def, def.bolt, declarer, config);
  }
  def.streams = declarer.streams();
  // The component's own defaults first; what the topology author set with add_configuration wins,
  // as in Storm (the builder's settings override the component's getComponentConfiguration()).
  config.merge(declared.config);
  try {
    config.validate();
  } catch (const ConfigError& e) {
    throw TopologyError(describe(def) + " has an invalid config: " + e.what());
  }
  def.config = std::move(config);
  // Storm never runs more executors than tasks: an executor without a task would sit idle.
  def.parallelism = std::min(def.parallelism, def.num_tasks);
  return def;
}

// The component `id` of `components` (sorted by id), or end().
template <class Components>
auto find_component(Components& components, const std::string& id) {
  auto it = std::lower_bound(components.begin(), components.end(), id,
                             [](const ComponentDef& c, const std::string& i) { return c.id < i; });
  return it != components.end() && it->id == id ? it : components.end();
}

// Checks one subscription of `bolt` against the (already instantiated) components.
// `seen` collects the (component, stream) pairs of the bolt's earlier subscriptions.
void check_subscription(const ComponentDef& bolt, const Subscription& sub,
                        const std::vector<ComponentDef>& components,
                        std::set<std::pair<std::string_view, std::string_view>>& seen) {
  auto it = find_component(components, sub.component);
  if (it == components.end()) {
    throw TopologyError(describe(bolt) + " subscribes to unknown component '" + sub.component +
                        "'");
  }
  const ComponentDef& source = *it;
  const std::string where =
      "stream '" + sub.stream + "' of " + kind_name(source.kind) + " '" + source.id + "'";
  const StreamDef* stream = source.find_stream(sub.stream);
  if (stream == nullptr) {
    throw TopologyError(describe(bolt) + " subscribes to undeclared " + where +
                        (source.streams.empty() ? std::string(", which declares no streams")
                                                : ", which declares only " + stream_names(source)));
  }

  // Two subscriptions to one stream would deliver every tuple twice, and the runtime could not
  // tell which grouping applies; Storm rejects it too.
  if (!seen.emplace(sub.component, sub.stream).second) {
    throw TopologyError(describe(bolt) + " subscribes to " + where + " twice");
  }

  const Grouping& grouping = sub.grouping;
  const std::string grouping_text = std::string(grouping_name(grouping.type)) + " grouping";
  if (grouping.type == GroupingType::direct) {
    if (!stream->direct) {
      throw TopologyError(describe(bolt) + " uses direct grouping on " + where +
                          ", which is not a direct stream (declare it with declare_direct or "
                          "declare_direct_stream)");
    }
  } else if (stream->direct) {
    // Tuples on a direct stream carry their target task; no other grouping could route them.
    throw TopologyError(describe(bolt) + " uses " + grouping_text + " on direct " + where +
                        "; a direct stream must be subscribed with direct grouping");
  }

  if (grouping.type == GroupingType::fields || grouping.type == GroupingType::partial_key) {
    if (grouping.fields.empty()) {
      throw TopologyError(describe(bolt) + " uses " + grouping_text + " on " + where +
                          " without any field (declared fields: " + stream->fields.to_string() +
                          ")");
    }
    for (const std::string& field : grouping.fields) {
      if (!stream->fields.contains(field)) {
        throw TopologyError(
            describe(bolt) + " uses " + grouping_text + " on field '" + field + "', which " +
            where + " does not declare (declared fields: " + stream->fields.to_string() + ")");
      }
    }
  }

  if (grouping.type == GroupingType::custom && !grouping.custom) {
    throw TopologyError(describe(bolt) + " uses custom grouping on " + where +
                        " without a grouping factory");
  }
}

void check_inputs(const ComponentDef& bolt, const std::vector<ComponentDef>& components) {
  std::set<std::pair<std::string_view, std::string_view>> seen;  // views into bolt.inputs
  for (const Subscription& sub : bolt.inputs) check_subscription(bolt, sub, components, seen);
}

// Event time: every component an event-time windowed bolt with a timestamp field reads gets the
// stream "__watermark", and the bolt an all grouping on it, so that each of the component's tasks
// tells every task of the bolt how far its output has come in event time, whichever tasks its
// tuples were routed to (docs/windows.md, "Watermarks"). A bolt whose timestamps come from an
// extractor goes by the tuples it receives alone: the runtime cannot read their time upstream.
void add_watermark_streams(std::vector<ComponentDef>& components) {
  for (ComponentDef& bolt : components) {
    if (bolt.kind != ComponentKind::bolt) continue;
    const std::optional<detail::WindowSpec> spec = detail::WindowSpec::from(bolt.config);
    if (!spec || spec->timestamp_field.empty()) continue;
    std::set<std::string> sources;
    for (const Subscription& sub : bolt.inputs) sources.insert(sub.component);
    for (const std::string& source : sources) {
      auto it = find_component(components, source);  // a known input: checked before
      it->streams.try_emplace(watermark_stream, StreamDef{Fields{"watermark"}, false});
      bolt.inputs.push_back(
          Subscription{source, watermark_stream, Grouping{GroupingType::all, {}, {}}});
    }
  }
}

}  // namespace

// ---- ComponentDeclarer

ComponentDeclarer::~ComponentDeclarer() = default;

ComponentDeclarer& ComponentDeclarer::set_num_tasks(int tasks) {
  if (tasks < 1) {
    throw TopologyError(describe(*def_) + ": the number of tasks must be at least 1, got " +
                        std::to_string(tasks));
  }
  def_->num_tasks = tasks;
  return *this;
}

ComponentDeclarer& ComponentDeclarer::add_configuration(std::string key, Value value) {
  // Kept apart from component_config() until build(), which merges these entries over it.
  def_->config.set(std::move(key), std::move(value));
  return *this;
}

ComponentDeclarer& ComponentDeclarer::set_max_spout_pending(int pending) {
  // Range-checked by Config::validate() at build(), with the component named.
  return add_configuration(keys::topology_max_spout_pending, pending);
}

// ---- BoltDeclarer

BoltDeclarer& BoltDeclarer::subscribe(std::string component, std::string stream,
                                      Grouping grouping) {
  // Only recorded here: the source may be declared after this bolt, so build() checks it.
  def_->inputs.push_back(
      Subscription{std::move(component), std::move(stream), std::move(grouping)});
  return *this;
}

BoltDeclarer& BoltDeclarer::shuffle_grouping(std::string component, std::string stream) {
  return subscribe(std::move(component), std::move(stream),
                   Grouping{GroupingType::shuffle, {}, {}});
}

BoltDeclarer& BoltDeclarer::fields_grouping(std::string component, Fields fields) {
  return fields_grouping(std::move(component), default_stream, std::move(fields));
}

BoltDeclarer& BoltDeclarer::fields_grouping(std::string component, std::string stream,
                                            Fields fields) {
  return subscribe(std::move(component), std::move(stream),
                   Grouping{GroupingType::fields, std::move(fields), {}});
}

BoltDeclarer& BoltDeclarer::all_grouping(std::string component, std::string stream) {
  return subscribe(std::move(component), std::move(stream), Grouping{GroupingType::all, {}, {}});
}

BoltDeclarer& BoltDeclarer::global_grouping(std::string component, std::string stream) {
  return subscribe(std::move(component), std::move(stream), Grouping{GroupingType::global, {}, {}});
}

BoltDeclarer& BoltDeclarer::none_grouping(std::string component, std::string stream) {
  return subscribe(std::move(component), std::move(stream), Grouping{GroupingType::none, {}, {}});
}

BoltDeclarer& BoltDeclarer::direct_grouping(std::string component, std::string stream) {
  return subscribe(std::move(component), std::move(stream), Grouping{GroupingType::direct, {}, {}});
}

BoltDeclarer& BoltDeclarer::local_or_shuffle_grouping(std::string component, std::string stream) {
  return subscribe(std::move(component), std::move(stream),
                   Grouping{GroupingType::local_or_shuffle, {}, {}});
}

BoltDeclarer& BoltDeclarer::partial_key_grouping(std::string component, Fields fields) {
  return partial_key_grouping(std::move(component), default_stream, std::move(fields));
}

BoltDeclarer& BoltDeclarer::partial_key_grouping(std::string component, std::string stream,
                                                 Fields fields) {
  return subscribe(std::move(component), std::move(stream),
                   Grouping{GroupingType::partial_key, std::move(fields), {}});
}

BoltDeclarer& BoltDeclarer::custom_grouping(std::string component, CustomGroupingFactory grouping) {
  return custom_grouping(std::move(component), default_stream, std::move(grouping));
}

BoltDeclarer& BoltDeclarer::custom_grouping(std::string component, std::string stream,
                                            CustomGroupingFactory grouping) {
  return subscribe(std::move(component), std::move(stream),
                   Grouping{GroupingType::custom, {}, std::move(grouping)});
}

// ---- TopologyBuilder

TopologyBuilder::TopologyBuilder() = default;
TopologyBuilder::~TopologyBuilder() = default;

SpoutDeclarer& TopologyBuilder::set_spout(std::string id, SpoutFactory factory, int parallelism) {
  check_new_component(components_, id, ComponentKind::spout, static_cast<bool>(factory),
                      parallelism);
  ComponentDef def;
  def.id = id;
  def.kind = ComponentKind::spout;
  def.spout = std::move(factory);
  def.parallelism = parallelism;
  // Parallelism is fixed here, so defaulting the task count now is the same as defaulting it at
  // build() unless set_num_tasks() says otherwise.
  def.num_tasks = parallelism;
  // std::map nodes never move: the declarer's pointer stays valid for the builder's lifetime.
  auto& stored = components_.emplace(std::move(id), std::move(def)).first->second;
  declarers_.push_back(std::unique_ptr<ComponentDeclarer>(new ComponentDeclarer(stored)));
  return *declarers_.back();
}

BoltDeclarer& TopologyBuilder::set_bolt(std::string id, BoltFactory factory, int parallelism) {
  check_new_component(components_, id, ComponentKind::bolt, static_cast<bool>(factory),
                      parallelism);
  ComponentDef def;
  def.id = id;
  def.kind = ComponentKind::bolt;
  def.bolt = std::move(factory);
  def.parallelism = parallelism;
  def.num_tasks = parallelism;
  auto& stored = components_.emplace(std::move(id), std::move(def)).first->second;
  auto declarer = std::unique_ptr<BoltDeclarer>(new BoltDeclarer(stored));
  BoltDeclarer& result = *declarer;
  declarers_.push_back(std::move(declarer));
  return result;
}

Topology TopologyBuilder::build() const {
  const bool has_spout = std::any_of(components_.begin(), components_.end(), [](const auto& entry) {
    return entry.second.kind == ComponentKind::spout;
  });
  if (!has_spout) throw TopologyError("topology has no spout");

  // components_ is ordered by id, so `components` is sorted as Topology requires and
  // check_subscription can binary-search it.
  std::vector<ComponentDef> components;
  components.reserve(components_.size());
  for (const auto& [id, def] : components_) components.push_back(instantiate(def));

  // Cycles are allowed, as in Storm: a bolt may feed an upstream bolt (e.g. iterative refinement),
  // and the acking trees do not care about the graph's shape.
  for (const ComponentDef& def : components) {
    if (def.kind == ComponentKind::bolt) check_inputs(def, components);
  }
  add_watermark_streams(components);
  return detail::TopologyAccess::make(std::move(components));
}

}  // namespace gale
