// WindowedBolt, TupleWindow and the adapter that runs a WindowedBolt as a Bolt.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <gale/errors.hpp>
#include <gale/streams.hpp>
#include <gale/topology.hpp>
#include <gale/window.hpp>

#include "topology/src/tuple_data.hpp"
#include "topology/src/window/merging_sessions.hpp"
#include "topology/src/window/session_windows.hpp"
#include "topology/src/window/time_windows.hpp"
#include "topology/src/window/watermark_tracker.hpp"
#include "topology/src/window/window_manager.hpp"
#include "topology/src/window/window_spec.hpp"

namespace gale {

TupleWindow::TupleWindow(std::vector<Tuple> tuples, std::vector<Tuple> new_tuples,
                         std::vector<Tuple> expired, std::int64_t start_ms, std::int64_t end_ms)
    : tuples_(std::move(tuples)),
      new_(std::move(new_tuples)),
      expired_(std::move(expired)),
      start_(start_ms),
      end_(end_ms) {}

TupleWindow::TupleWindow(Values key, Value result, std::int64_t start_ms, std::int64_t end_ms)
    : start_(start_ms),
      end_(end_ms),
      aggregated_(true),
      key_(std::move(key)),
      result_(std::move(result)) {}

WindowAggregate::~WindowAggregate() = default;
Value WindowAggregate::result(const Value& accumulator) { return accumulator; }

Value CountAggregate::create() { return std::int64_t{0}; }
void CountAggregate::add(Value& accumulator, const Tuple&) {
  accumulator = accumulator.as_int() + 1;
}
void CountAggregate::merge(Value& into, const Value& other) {
  into = into.as_int() + other.as_int();
}

SumAggregate::SumAggregate(std::string field) : field_(std::move(field)) {}
Value SumAggregate::create() { return std::int64_t{0}; }
void SumAggregate::add(Value& accumulator, const Tuple& input) {
  const Value& v = input.get(field_);
  if (v.is_int() && accumulator.is_int()) {
    accumulator = accumulator.as_int() + v.as_int();
  } else {
    accumulator =
        accumulator.as_double() + input.get_double(field_);  // names the field if not a number
  }
}
void SumAggregate::merge(Value& into, const Value& other) {
  if (into.is_int() && other.is_int()) {
    into = into.as_int() + other.as_int();
  } else {
    into = into.as_double() + other.as_double();
  }
}

WindowedBolt::~WindowedBolt() = default;
void WindowedBolt::prepare(const Context&, BoltCollector&) {}
void WindowedBolt::cleanup() {}
Config WindowedBolt::component_config() const { return {}; }

namespace {

// The keys that give a window its shape; a with_window call replaces all of them.
void erase_shape(Config& c) {
  for (const char* key :
       {keys::window_length_count, keys::window_length_duration_ms,
        keys::window_sliding_interval_count, keys::window_sliding_interval_duration_ms,
        keys::window_session_gap_ms, keys::window_session_key_fields}) {
    c.erase(key);
  }
}

}  // namespace

WindowedBolt& WindowedBolt::set_window(Value length_count, Value length_ms, Value slide_count,
                                       Value slide_ms) {
  erase_shape(window_config_);
  auto put = [&](const char* key, Value& v) {
    if (!v.is_null()) window_config_.set(key, std::move(v));
  };
  put(keys::window_length_count, length_count);
  put(keys::window_length_duration_ms, length_ms);
  put(keys::window_sliding_interval_count, slide_count);
  put(keys::window_sliding_interval_duration_ms, slide_ms);
  return *this;
}

WindowedBolt& WindowedBolt::with_window(Count length, Count sliding_interval) {
  return set_window(length.value, Value(), sliding_interval.value, Value());
}
WindowedBolt& WindowedBolt::with_window(Count length, Duration sliding_interval) {
  return set_window(length.value, Value(), Value(), sliding_interval.count());
}
WindowedBolt& WindowedBolt::with_window(Duration length, Count sliding_interval) {
  return set_window(Value(), length.count(), sliding_interval.value, Value());
}
WindowedBolt& WindowedBolt::with_window(Duration length, Duration sliding_interval) {
  return set_window(Value(), length.count(), Value(), sliding_interval.count());
}
WindowedBolt& WindowedBolt::with_window(Count length) { return with_window(length, Count(1)); }
WindowedBolt& WindowedBolt::with_window(Duration length) { return with_window(length, Count(1)); }
WindowedBolt& WindowedBolt::with_tumbling_window(Count length) {
  return with_window(length, length);
}
WindowedBolt& WindowedBolt::with_tumbling_window(Duration length) {
  return with_window(length, length);
}
WindowedBolt& WindowedBolt::with_session_window(Fields key, Duration gap) {
  erase_shape(window_config_);
  List names;
  for (const std::string& name : key) names.emplace_back(name);
  window_config_.set(keys::window_session_key_fields, Value(std::move(names)));
  window_config_.set(keys::window_session_gap_ms, gap.count());
  return *this;
}

WindowedBolt& WindowedBolt::with_timestamp_field(std::string field) {
  extractor_ = nullptr;
  window_config_.erase(keys::window_timestamp_extractor);
  window_config_.set(keys::window_timestamp_field, std::move(field));
  return *this;
}

WindowedBolt& WindowedBolt::with_timestamp_extractor(
    std::function<std::int64_t(const Tuple&)> extractor) {
  if (!extractor) throw ConfigError("with_timestamp_extractor: the extractor is empty");
  extractor_ = std::move(extractor);
  window_config_.erase(keys::window_timestamp_field);
  window_config_.set(keys::window_timestamp_extractor, true);
  return *this;
}

WindowedBolt& WindowedBolt::with_lag(Duration lag) {
  window_config_.set(keys::window_timestamp_max_lag_ms, lag.count());
  return *this;
}

WindowedBolt& WindowedBolt::with_watermark_interval(Duration interval) {
  window_config_.set(keys::window_watermark_interval_ms, interval.count());
  return *this;
}

WindowedBolt& WindowedBolt::with_allowed_lateness(Duration lateness) {
  window_config_.set(keys::window_allowed_lateness_ms, lateness.count());
  return *this;
}

WindowedBolt& WindowedBolt::with_late_tuple_stream(std::string stream) {
  window_config_.set(keys::window_late_tuple_stream, std::move(stream));
  return *this;
}

WindowedBolt& WindowedBolt::with_idle_timeout(Duration timeout) {
  window_config_.set(keys::window_watermark_idle_timeout_ms, timeout.count());
  return *this;
}

WindowedBolt& WindowedBolt::with_aggregate(std::unique_ptr<WindowAggregate> aggregate, Fields key) {
  if (!aggregate) throw ConfigError("with_aggregate: the aggregate is null");
  aggregate_ = std::move(aggregate);
  window_config_.set(keys::window_aggregate, true);
  if (key.empty()) {
    window_config_.erase(keys::window_aggregate_key_fields);
  } else {
    List names;
    for (const std::string& name : key) names.emplace_back(name);
    window_config_.set(keys::window_aggregate_key_fields, Value(std::move(names)));
  }
  return *this;
}

namespace {

// The collector execute() is given: anchors every emit without anchors of its own to the window's
// tuples; acks are the window's business.
// Thread: the bolt task's.
class WindowCollector final : public BoltCollector {
 public:
  explicit WindowCollector(BoltCollector& out) noexcept : out_(out) {}

  void set_window(const std::vector<Tuple>* tuples) noexcept { window_ = tuples; }
  void ack(const Tuple&) override {}  // acked when it leaves its last window
  void fail(const Tuple& input) override { out_.fail(input); }
  void report_error(std::string_view message) override { out_.report_error(message); }

 protected:
  void do_emit(std::string_view stream, std::span<const Tuple> anchors, Values&& values,
               std::int32_t direct_task) override {
    if (anchors.empty() && window_ != nullptr) anchors = *window_;
    const std::string_view to = stream.empty() ? std::string_view(default_stream) : stream;
    if (direct_task >= 0) {
      out_.emit_direct(direct_task, to, anchors, std::move(values));
    } else {
      out_.emit_to(to, anchors, std::move(values));
    }
  }

 private:
  BoltCollector& out_;
  const std::vector<Tuple>* window_ = nullptr;
};

// Hashes a key: the values of the key fields.
struct KeyHash {
  std::size_t operator()(const Values& key) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const Value& v : key) h = (h ^ v.hash()) * 0x100000001b3ULL;
    return static_cast<std::size_t>(h);
  }
};

// A WindowAggregate as the window engines call it.
// Thread: the bolt task's.
class TupleAggregateOps final : public detail::AggregateOps<Tuple> {
 public:
  explicit TupleAggregateOps(WindowAggregate& aggregate) noexcept : aggregate_(aggregate) {}
  Value create() override { return aggregate_.create(); }
  void add(Value& accumulator, const Tuple& entry) override { aggregate_.add(accumulator, entry); }
  void merge(Value& into, const Value& other) override { aggregate_.merge(into, other); }

 private:
  WindowAggregate& aggregate_;
};

using Firing = detail::Firing<Tuple, Values>;

// "[\"the\"]": a key for error messages.
std::string key_text(const Values& key) { return Value(key.to_list()).to_string(); }

// Runs a WindowedBolt: keeps the tuples (or aggregates) of its windows, closes windows as tuples,
// ticks and the watermark arrive, calls execute() for each, and acks what left. Processing-time
// windows of tuples go through WindowManager and SessionWindows; event time and aggregation
// through TimeWindows and MergingSessions, fed with timestamps and a watermark (the clock, in
// processing time).
// Thread: the bolt task's.
class WindowedBoltAdapter final : public Bolt {
 public:
  explicit WindowedBoltAdapter(std::unique_ptr<WindowedBolt> bolt) : bolt_(std::move(bolt)) {}

  // The bolt's outputs, and the late tuple stream when it has one.
  void declare_outputs(OutputDeclarer& declarer) override {
    bolt_->declare_outputs(declarer);
    const Value* late = bolt_->window_config().find(keys::window_late_tuple_stream);
    if (late != nullptr && late->is_string() && !late->as_string().empty()) {
      declarer.declare_stream(late->as_string(), late_tuple_fields());
    }
  }

  // The bolt's config with the window's keys, and ticks that close the windows: every sliding
  // interval for a processing-time window by duration, every quarter gap for processing-time
  // sessions, and every watermark interval in event time.
  Config component_config() const override {
    Config c = bolt_->component_config();
    c.merge(bolt_->window_config());
    const std::optional<detail::WindowSpec> spec = detail::WindowSpec::from(c);
    if (!spec) {
      throw ConfigError(
          "a WindowedBolt needs a window: call with_window, with_tumbling_window or "
          "with_session_window in its constructor");
    }
    if (spec->timestamp_extractor && !bolt_->timestamp_extractor()) {
      throw ConfigError(std::string("config key '") + keys::window_timestamp_extractor +
                        "' is set, but the bolt has no extractor: use with_timestamp_extractor");
    }
    if (spec->aggregate && bolt_->aggregate() == nullptr) {
      throw ConfigError(std::string("config key '") + keys::window_aggregate +
                        "' is set, but the bolt has no aggregate: use with_aggregate");
    }
    if (spec->event_time()) {
      c.set(keys::topology_tick_tuple_freq_secs,
            static_cast<double>(spec->watermark_interval_ms) / 1000.0);
    } else if (spec->slide_ms) {
      c.set(keys::topology_tick_tuple_freq_secs, static_cast<double>(*spec->slide_ms) / 1000.0);
    } else if (spec->sessions()) {
      // A session closes at most a quarter of its gap late.
      const double every_ms = std::max(1.0, static_cast<double>(*spec->session_gap_ms) / 4.0);
      c.set(keys::topology_tick_tuple_freq_secs, every_ms / 1000.0);
    }
    return c;
  }

  void prepare(const Context& context, BoltCollector& out) override {
    context_ = &context;
    std::optional<detail::WindowSpec> spec = detail::WindowSpec::from(context.config());
    if (!spec) throw ConfigError("the task's config has no window");
    spec_ = *spec;
    if (spec_.sessions()) key_fields_ = spec_.session_key;
    if (spec_.aggregate) {
      if (bolt_->aggregate() == nullptr) throw ConfigError("the bolt has no aggregate");
      ops_.emplace(*bolt_->aggregate());
      if (!spec_.sessions()) key_fields_ = spec_.aggregate_key;
    }
    if (spec_.timestamp_extractor) {
      extractor_ = bolt_->timestamp_extractor();
      if (!extractor_) throw ConfigError("the bolt has no timestamp extractor");
    }
    detail::AggregateOps<Tuple>* ops = ops_ ? &*ops_ : nullptr;
    const bool engines = spec_.event_time() || spec_.aggregate;
    if (engines && spec_.sessions()) {
      merging_.emplace(*spec_.session_gap_ms, spec_.lateness_ms, ops);
    } else if (engines) {
      timed_.emplace(*spec_.length_ms, *spec_.slide_ms, spec_.lateness_ms, ops);
    } else if (spec_.sessions()) {
      sessions_.emplace(*spec_.session_gap_ms);
    } else {
      manager_.emplace(spec_);
    }
    if (spec_.event_time()) {
      // Every task of every component the bolt subscribes to may send it tuples.
      std::set<std::int32_t> inputs;
      for (const Subscription& sub : context.topology().component(context.component_id()).inputs) {
        for (std::int32_t task : context.component_tasks(sub.component)) inputs.insert(task);
      }
      tracker_.emplace(std::vector<std::int32_t>(inputs.begin(), inputs.end()), spec_.lag_ms,
                       spec_.idle_timeout_ms, context.now_ms());
    }
    collector_.emplace(out);
    bolt_->prepare(context, *collector_);
  }

  void execute(const Tuple& input, BoltCollector& out) override {
    closed_.clear();
    fired_.clear();
    leave_.clear();
    const std::int64_t now = context_->now_ms();
    if (sessions_) {
      if (input.is_tick()) {
        sessions_->advance(now, closed_);
      } else {
        Values key;
        if (!key_of(input, key, out)) return;
        sessions_->add(std::move(key), input, now, closed_);
      }
      run(out);
      return;
    }
    if (manager_) {
      if (input.is_tick()) {
        manager_->advance(now, closed_);
      } else {
        manager_->add(input, now, closed_);
      }
      run(out);
      return;
    }
    if (tracker_ && input.source_stream() == watermark_stream) {
      // An upstream task's highest timestamp so far, sent to every task of this bolt.
      tracker_->observe(input.source_task(), input.get_int(0), now);
      out.ack(input);
      return;
    }
    if (input.is_tick()) {
      advance(tracker_ ? tracker_->update(now) : now);
    } else if (!tracker_) {
      advance(now);  // processing time: first close what ended before this tuple arrived
      add(input, now, out);
    } else {
      std::int64_t ts = 0;
      if (!timestamp_of(input, ts, out)) return;
      tracker_->observe(input.source_task(), ts, now);
      add(input, ts, out);
    }
    run_firings(out);
  }

  void cleanup() override { bolt_->cleanup(); }

 private:
  // The values of the key fields of `input`; on a missing field, reports, fails the tuple and
  // returns false.
  bool key_of(const Tuple& input, Values& key, BoltCollector& out) {
    key.reserve(key_fields_.size());
    try {
      for (const std::string& field : key_fields_) key.push_back(input.get(field));
    } catch (const std::exception& e) {
      out.report_error("tuple " + input.to_string() + " has no window key: " + e.what());
      out.fail(input);
      return false;
    }
    return true;
  }

  // The event time of `input`; on a missing or non-integer timestamp, or an extractor that
  // throws, reports, fails the tuple and returns false.
  bool timestamp_of(const Tuple& input, std::int64_t& ts, BoltCollector& out) {
    try {
      ts = extractor_ ? extractor_(input) : input.get_int(spec_.timestamp_field);
      return true;
    } catch (const std::exception& e) {
      out.report_error("tuple " + input.to_string() + " has no timestamp: " + e.what());
    } catch (...) {
      out.report_error("tuple " + input.to_string() +
                       " has no timestamp: the extractor threw a non-standard exception");
    }
    out.fail(input);
    return false;
  }

  // Adds a tuple at `ts` to the engine. A late tuple goes to the late tuple stream (when there is
  // one) and is acked; an aggregated tuple that needs no ack later is acked at once, and one that
  // does is kept without its values.
  void add(const Tuple& input, std::int64_t ts, BoltCollector& out) {
    Values key;
    if (!key_of(input, key, out)) return;
    const detail::TupleData* data = detail::TupleAccess::data(input);
    const bool tracked = data != nullptr && !data->anchors.empty();
    const bool keep = !ops_ || tracked;
    bool accepted = false;
    try {
      accepted = timed_ ? timed_->add(input, key, ts, keep, fired_)
                        : merging_->add(input, key, ts, keep, fired_);
    } catch (const std::exception& e) {
      out.report_error("tuple " + input.to_string() +
                       ": the window's aggregate threw: " + e.what());
      out.fail(input);
      return;
    } catch (...) {
      out.report_error("tuple " + input.to_string() +
                       ": the window's aggregate threw a non-standard exception");
      out.fail(input);
      return;
    }
    if (!accepted) {
      if (!spec_.late_stream.empty()) {
        out.emit_to(
            spec_.late_stream, input,
            {Value(input.values().to_list()), ts, input.source_component(), input.source_stream()});
      }
      out.ack(input);
      return;
    }
    if (!ops_) return;
    if (!keep) {
      out.ack(input);
    } else {
      // Only the acking handle is needed from here on: the values go.
      detail::TupleAccess::data(input)->values.clear();
    }
  }

  void advance(std::int64_t watermark) {
    if (timed_) {
      timed_->advance(watermark, fired_, leave_);
    } else {
      merging_->advance(watermark, fired_, leave_);
    }
  }

  // Calls execute() for each window the engines fired, then acks what left.
  void run_firings(BoltCollector& out) {
    for (Firing& f : fired_) {
      if (!f.error.empty()) {
        out.report_error("window [" + std::to_string(f.start) + ", " + std::to_string(f.end) +
                         ") of key " + key_text(f.key) + ": " + f.error);
        continue;
      }
      if (f.aggregated) {
        Value result;
        try {
          result = bolt_->aggregate()->result(f.accumulator);
        } catch (const std::exception& e) {
          out.report_error("window [" + std::to_string(f.start) + ", " + std::to_string(f.end) +
                           "): the aggregate's result() threw: " + e.what());
          continue;
        }
        TupleWindow window(std::move(f.key), std::move(result), f.start, f.end);
        call_execute(window, f.tuples, out);
      } else {
        TupleWindow window(std::move(f.tuples), std::move(f.fresh), std::move(f.expired), f.start,
                           f.end);
        call_execute(window, window.get(), out);
        for (const Tuple& t : window.get_expired()) out.ack(t);
      }
    }
    for (const Tuple& t : leave_) out.ack(t);
    fired_.clear();
    leave_.clear();
  }

  // Calls execute() for each window the processing-time managers closed, then acks what left.
  void run(BoltCollector& out) {
    for (auto& w : closed_) {
      TupleWindow window(std::move(w.tuples), std::move(w.fresh), std::move(w.expired), w.start,
                         w.end);
      call_execute(window, window.get(), out);
      for (const Tuple& t : window.get_expired()) out.ack(t);
    }
    closed_.clear();
  }

  // An exception from the user's execute() is reported (counted and logged like any error of the
  // task) and keeps neither the other windows from running nor the tuples from being acked; the
  // tuple whose arrival closed the window is not failed for it (it is in later windows).
  void call_execute(const TupleWindow& window, const std::vector<Tuple>& anchors,
                    BoltCollector& out) {
    collector_->set_window(&anchors);
    try {
      bolt_->execute(window, *collector_);
    } catch (const std::exception& e) {
      out.report_error(describe(window) + ": execute() threw: " + e.what());
    } catch (...) {
      out.report_error(describe(window) + ": execute() threw a non-standard exception");
    }
    collector_->set_window(nullptr);
  }

  static std::string describe(const TupleWindow& w) {
    std::string what =
        "window [" + std::to_string(w.start()) + ", " + std::to_string(w.end()) + ")";
    if (w.aggregated()) return what + " of key " + key_text(w.key());
    return what + " of " + std::to_string(w.get().size()) + " tuples";
  }

  std::unique_ptr<WindowedBolt> bolt_;
  const Context* context_ = nullptr;
  detail::WindowSpec spec_;
  std::vector<std::string> key_fields_;  // sessions: the session key; aggregates: their key
  std::function<std::int64_t(const Tuple&)> extractor_;
  std::optional<TupleAggregateOps> ops_;
  // Exactly one engine: processing-time tuple windows (manager_, sessions_), or event time and
  // aggregates (timed_, merging_).
  std::optional<detail::WindowManager<Tuple>> manager_;
  std::optional<detail::SessionWindows<Tuple, Values, KeyHash>> sessions_;
  std::optional<detail::TimeWindows<Tuple, Values, KeyHash>> timed_;
  std::optional<detail::MergingSessions<Tuple, Values, KeyHash>> merging_;
  std::optional<detail::WatermarkTracker> tracker_;  // event time only
  std::optional<WindowCollector> collector_;
  std::vector<detail::WindowManager<Tuple>::Window> closed_;
  std::vector<Firing> fired_;
  std::vector<Tuple> leave_;
};

}  // namespace

std::unique_ptr<Bolt> windowed_bolt_adapter(std::unique_ptr<WindowedBolt> bolt) {
  if (!bolt) throw TopologyError("windowed_bolt_adapter: null bolt");
  return std::make_unique<WindowedBoltAdapter>(std::move(bolt));
}

}  // namespace gale
